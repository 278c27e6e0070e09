"""Mask secret values in text and in JSON-like objects before they are written anywhere.

Every occurrence of a secret value becomes `***`. Longer secrets are matched first, so a
secret that contains another one is masked whole. Values shorter than `MIN_SECRET_LENGTH`
characters are *not* masked: masking "a" or "12" would shred every line of output and make
the journal useless as evidence. They are listed in `Redactor.too_short` so the caller can
warn the operator that such a value is unprotected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MASK = "***"
MIN_SECRET_LENGTH = 3


class Redactor:
    """Replace every secret value with `***`; an empty secret list is a cheap no-op."""

    def __init__(self, secrets: Iterable[str]) -> None:
        values = {s for s in secrets if isinstance(s, str) and s}
        self.too_short: tuple[str, ...] = tuple(sorted(s for s in values if len(s) < MIN_SECRET_LENGTH))
        kept = sorted((s for s in values if len(s) >= MIN_SECRET_LENGTH), key=lambda s: (-len(s), s))
        self._pattern = re.compile("|".join(re.escape(s) for s in kept)) if kept else None

    @property
    def active(self) -> bool:
        """True when there is at least one secret to mask."""
        return self._pattern is not None

    def mask(self, text: str) -> str:
        """`text` with every secret value replaced by `***`."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)

    def mask_obj(self, obj: Any) -> Any:
        """A copy of `obj` with secrets masked in every string, dict key included.

        Dicts, lists and tuples are walked recursively (tuples come back as lists, as JSON
        would have them); other values are returned unchanged.
        """
        if self._pattern is None:
            return obj
        return self._walk(obj)

    def _walk(self, obj: Any) -> Any:
        if isinstance(obj, str):
            return self.mask(obj)
        if isinstance(obj, dict):
            return {self._walk(k) if isinstance(k, str) else k: self._walk(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self._walk(v) for v in obj]
        return obj
