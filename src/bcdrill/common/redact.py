"""Mask secret values in text and in JSON-like objects before they are written anywhere.

Every occurrence of a secret value becomes `***` — and so does every form the value takes on its
way out, because the tools that show it escape it first. A secret is not matched as one literal
but as a pattern built character by character: a letter or digit must appear as itself, every
other character may appear in any of the ways tools write it, at any depth of nesting:

- as itself, behind any number of backslashes (`\\"`, `\\\\\\"`: shell double quotes, `printf %q`,
  JSON, Python repr, a JSON string inside a JSON string);
- JSON/Python/C escapes: `\\n`, `\\r`, `\\t`, `\\uXXXX` (JSON with `ensure_ascii`, surrogate
  pairs too), `\\UXXXXXXXX`, `\\xXX` (`ascii()`), the UTF-8 bytes as `\\xXX` (bytes repr) or as
  octal `\\ooo` (bash `$'...'`), hex digits in either case;
- HTML entities: named (`&quot;`, `&ouml;`), decimal (`&#34;`, Jinja2/MarkupSafe) and hex
  (`&#x27;`, `html.escape`), escaped again any number of times (`&amp;quot;`);
- URL-encoded UTF-8 bytes (`%22`, `%c3%b6`, encoded again as `%2522`), `+` for a blank;
- a single quote as a shell writes it inside single quotes: `'"'"'` (`shlex.quote`) or `'\\''`
  (`bash -x`, `${x@Q}`), their quotes escaped in turn;
- a line break as `\\n` or `\\r\\n`.

Each line of a multi-line value (a key file) is also a secret on its own, and so are the pieces of a
value between its quotes, backslashes and backticks (a shell or a parser that splits it there shows
the pieces). Longer secrets are tried first, so a value that contains another is masked whole.
Values, lines and pieces shorter than `MIN_SECRET_LENGTH` characters are *not* masked: masking "a"
or "12" would shred every line of output and make the journal useless as evidence. Such values are
listed in `Redactor.too_short` so the caller can warn the operator that they are unprotected. A
value the far side transforms in another way (hashes, base64-encodes, reverses) cannot be recognised.

Masked text contains no secret character sequence, so escaping it again (JSON, HTML, URL, a shell)
cannot bring a secret back. `Redactor(scenario.secrets)` is the redactor of a drill: the journal,
the step logs, Ansible artifacts and validation messages go through it; anything new that writes
or sends run data (web console, notifiers) must too.
"""

from __future__ import annotations

import html
import html.entities
import json
import re
import shlex
import urllib.parse
from collections.abc import Iterable
from typing import Any

MASK = "***"
MIN_SECRET_LENGTH = 3

_SPLITS = re.compile(r"[\"'\\`]+")
_BACKSLASHES = r"\\*+"  # possessive: a run of backslashes is taken whole, never re-split
_ESCAPE = r"\\++"  # the backslash(es) of an escape sequence
_CONTROL = {"\n": "n", "\r": "r", "\t": "t", "\f": "f", "\b": "b", "\v": "v"}


def _hex(value: int, width: int) -> str:
    """A regex for `value` in hex with `width` digits, each letter in either case."""
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in f"{value:0{width}x}")


def _escapes(char: str) -> list[str]:
    """Backslash escapes of `char` (JSON, Python, C, bash $'...'), behind any number of backslashes."""
    code = ord(char)
    forms = []
    if char in _CONTROL:
        forms.append(_CONTROL[char])
    if code < 0x10000:
        forms.append("u" + _hex(code, 4))
    else:  # JSON writes a surrogate pair
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        forms.append("u" + _hex(high, 4) + r"\\+u" + _hex(low, 4))
    forms.append("U" + _hex(code, 8))
    if code < 0x100:
        forms.append("x" + _hex(code, 2))
    data = char.encode("utf-8")
    if len(data) > 1:
        forms.append(r"\\+".join("x" + _hex(b, 2) for b in data))
    forms.append(r"\\+".join(f"{b:03o}" for b in data))
    return [_ESCAPE + form for form in forms]


def _entities(char: str) -> list[str]:
    """HTML entities of `char`, escaped again any number of times (`&amp;quot;`)."""
    code = ord(char)
    names = [name for name, point in html.entities.name2codepoint.items() if point == code]
    if char == "'":
        names.append("apos")
    refs = [f"#0*{code}", "#[xX]" + f"0*{_hex(code, 1 if code < 16 else 2 if code < 256 else 4)}"]
    return [f"&(?:amp;)*(?:{'|'.join(refs + names)});"]


def _url(char: str) -> list[str]:
    """The UTF-8 bytes of `char` URL-encoded, the `%` itself encoded again any number of times."""
    forms = ["".join("%(?:25)*" + _hex(b, 2) for b in char.encode("utf-8"))]
    if char == " ":
        forms.append(r"\+")
    return forms


def _char(char: str) -> str:
    """A regex for every way `char` may be written (see the module doc)."""
    if char.isascii() and char.isalnum():
        return re.escape(char)
    itself = _ESCAPE if char == "\\" else _BACKSLASHES + re.escape(char)
    forms = [itself, *_escapes(char), *(_BACKSLASHES + form for form in [*_entities(char), *_url(char)])]
    if char == "\n":
        forms.insert(0, rf"\r?\n|{_ESCAPE}r{_ESCAPE}n")
    if char == "'":
        quote = "(?:" + "|".join([_BACKSLASHES + "'", *_entities("'"), *_url("'")]) + ")"
        double = "(?:" + "|".join([_BACKSLASHES + '"', *_entities('"'), *_url('"')]) + ")"
        forms.insert(0, f"{quote}{double}{quote}{double}{quote}")  # '"'"'
        forms.insert(0, f"{quote}{_ESCAPE}{quote}{quote}")  # '\''
    return "(?:" + "|".join(forms) + ")"


def secret_pattern(secret: str) -> str:
    """The regex (source) matching `secret` in every form of the module doc. A match never starts
    inside a run of backslashes (it starts at the run's first one): a long run costs linear time."""
    first = secret[:1]
    if first.isascii() and first.isalnum():
        return "".join(_char(c) for c in secret)
    # every form of a character starts with it, a backslash, `&`, `%`, `+` (a blank) or a quote, CR
    # (a line break): this class lets most positions fail at once instead of trying every form
    starts = "".join(sorted({first, "\\", "&", "%", "+", "'", '"', "\r"}))
    return f"(?=[{re.escape(starts)}])" + r"(?<!\\)" + "".join(_char(c) for c in secret)


def secret_parts(secret: str) -> set[str]:
    """The values masked for `secret`: itself, each line of it, its pieces between quotes and
    backslashes — whatever their length (`Redactor` drops the short ones). A piece without a letter
    and shorter than 8 characters (`2026` of `Winter'2026!`) is left out: masking it would mask every
    year, time and number like it, timestamps an RPO is measured from included."""
    parts = {secret, secret.replace("\r\n", "\n"), *(line.strip() for line in secret.splitlines())}
    if _SPLITS.search(secret):
        parts |= {p for p in _SPLITS.split(secret) if len(p) >= 8 or any(c.isalpha() for c in p)}
    return {p for p in parts if p}


def _anchor(secret: str) -> str:
    """The longest run of ASCII letters and digits in `secret` ("" if it has none): every form of
    the secret contains it as it is."""
    return max(re.findall(r"[A-Za-z0-9]+", secret), key=len, default="")


def derived_forms(secret: str) -> set[str]:
    """Common texts `secret` appears as in output (for tests and docs): as written, JSON-escaped both
    ways, repr and ascii, shell-quoted, HTML-escaped, URL-encoded, each line. The Redactor matches
    these and many more (the module doc)."""
    forms = {secret, secret.replace("\r\n", "\n"), secret.replace("\n", "\r\n")}
    for value in (secret, *(line.strip() for line in secret.splitlines())):
        forms |= {
            value,
            json.dumps(value)[1:-1],
            json.dumps(value, ensure_ascii=False)[1:-1],
            repr(value)[1:-1],
            ascii(value)[1:-1],
            shlex.quote(value),
            html.escape(value),
            html.escape(value, quote=False),
            urllib.parse.quote(value, safe=""),
            urllib.parse.quote(value),
            urllib.parse.quote_plus(value),
        }
    return {f for f in forms if f}


class Redactor:
    """Replace every secret value (in all its forms) with `***`; no secrets: a cheap no-op.

    Letters and digits appear as themselves in every form, so a text without a secret's longest
    run of them cannot hold the secret: only the secrets whose run is in the text are searched for
    (one compiled pattern per such combination, kept)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        values = {s for s in secrets if isinstance(s, str) and s}
        self.too_short: tuple[str, ...] = tuple(sorted(s for s in values if len(s) < MIN_SECRET_LENGTH))
        parts = {p for s in values if len(s) >= MIN_SECRET_LENGTH for p in secret_parts(s)}
        kept = sorted((p for p in parts if len(p) >= MIN_SECRET_LENGTH), key=lambda s: (-len(s), s))
        self._parts = [(_anchor(p), secret_pattern(p)) for p in kept]
        self._compiled: dict[tuple[int, ...], re.Pattern[str]] = {}
        self._pattern = self._combined(tuple(range(len(kept)))) if kept else None

    def _combined(self, which: tuple[int, ...]) -> re.Pattern[str]:
        pattern = self._compiled.get(which)
        if pattern is None:
            if len(self._compiled) > 256:
                self._compiled.clear()
            pattern = re.compile("|".join(self._parts[i][1] for i in which))
            self._compiled[which] = pattern
        return pattern

    @property
    def active(self) -> bool:
        """True when there is at least one secret to mask."""
        return self._pattern is not None

    def mask(self, text: str) -> str:
        """`text` with every secret value replaced by `***`."""
        if self._pattern is None or not text:
            return text
        which = tuple(i for i, (anchor, _) in enumerate(self._parts) if anchor in text)
        return self._combined(which).sub(MASK, text) if which else text

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
