"""Mask secret values in text and in JSON-like objects before they are written anywhere.

Every occurrence of a secret value becomes `***` — and so does every form the value takes on its
way out, because the tools that show it escape it first: shell-quoted (`shlex.quote`), JSON-escaped
(with and without `\\uXXXX`), Python repr, HTML-escaped, URL-encoded (`%XX`, `+` for spaces),
each line of a multi-line value (a key file), and the pieces of a value between its quotes,
backslashes and backticks (a shell or a parser that splits it there shows the pieces). Longer forms
are matched first, so a form that contains another is masked whole. Pieces and values shorter than
`MIN_SECRET_LENGTH` characters are *not* masked: masking "a" or "12" would shred every line of
output and make the journal useless as evidence. Such values are listed in `Redactor.too_short`
so the caller can warn the operator that they are unprotected. A value the far side transforms in
another way (hashes, base64-encodes, reverses) cannot be recognised.
"""

from __future__ import annotations

import html
import json
import re
import shlex
import urllib.parse
from collections.abc import Iterable
from typing import Any

MASK = "***"
MIN_SECRET_LENGTH = 3


_SPLITS = re.compile(r"[\"'\\`]+")


def derived_forms(secret: str) -> set[str]:
    """The texts `secret` may appear as in output (see the module doc), itself included."""
    forms = {secret, secret.replace("\r\n", "\n")}
    for value in (secret, *(line.strip() for line in secret.splitlines())):
        forms |= {
            value,
            json.dumps(value)[1:-1],
            json.dumps(value, ensure_ascii=False)[1:-1],
            repr(value)[1:-1],
            shlex.quote(value),
            html.escape(value),
            html.escape(value, quote=False),
            urllib.parse.quote(value, safe=""),
            urllib.parse.quote(value),
            urllib.parse.quote_plus(value),
        }
    if _SPLITS.search(secret):
        forms |= set(_SPLITS.split(secret))
    return {f for f in forms if f}


class Redactor:
    """Replace every secret value (in all its derived forms) with `***`; no secrets: a cheap no-op."""

    def __init__(self, secrets: Iterable[str]) -> None:
        values = {s for s in secrets if isinstance(s, str) and s}
        self.too_short: tuple[str, ...] = tuple(sorted(s for s in values if len(s) < MIN_SECRET_LENGTH))
        forms = {f for s in values if len(s) >= MIN_SECRET_LENGTH for f in derived_forms(s)}
        kept = sorted((f for f in forms if len(f) >= MIN_SECRET_LENGTH), key=lambda s: (-len(s), s))
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
