"""The validation context: collects problems and checks mappings against field tables.

`Ctx.fields(mapping, table, where)` is the one generic validator: unknown keys (with a
"did you mean"), missing required keys, wrong types, bad enums, bad durations, missing
files, and Jinja2 rendering of every string (with the string's position on error). It
returns the converted values of the valid keys plus the defaults of the absent ones.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bcdrill.common.duration import parse_duration
from bcdrill.common.errors import Problem
from bcdrill.scenario.fields import Field
from bcdrill.scenario.model import Pos
from bcdrill.scenario.templating import TemplateProblem, Templater, quoted_substitution
from bcdrill.scenario.yamlpos import YList, YMap, type_name

INVALID: Any = object()  # a value that failed validation (a problem was recorded)

_EXPECTED = {
    "str": "a string",
    "int": "an integer",
    "bool": "true or false",
    "number": "a number",
    "duration": "a duration such as 90s, 15m, 4h or 1h30m",
    "str_list": "a list of strings",
    "any_map": "a mapping",
    "table": "a mapping",
    "map_of": "a mapping",
    "list_of": "a list",
    "command": "a string or a list of strings",
    "run": "a string, a list or a mapping",
    "wait": "a duration or a mapping {until: <time>}",
    "when": "an expression string or true/false",
}


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """' — did you mean 'x'?' when a close option exists, else ''."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" — did you mean '{close[0]}'?" if close else ""


def label(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def plain(value: Any) -> Any:
    """YMap/YList -> dict/list, recursively (for values handed out of the loader)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


_INDEX: dict[int, tuple[dict[str, Field], dict[str, Any]]] = {}


def _index(table: tuple[Field, ...]) -> tuple[dict[str, Field], dict[str, Any]]:
    """(name -> field, name -> default) of a table, computed once."""
    found = _INDEX.get(id(table))
    if found is None:
        found = _INDEX[id(table)] = ({f.name: f for f in table}, {f.name: f.default for f in table})
    return found


class Ctx:
    def __init__(self, file: str, base_dir: Path, templater: Templater) -> None:
        self.file = file
        self.base_dir = base_dir
        self.tmpl = templater
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []  # worth a line on stderr; errors with --strict

    def add(self, pos: Pos, message: str) -> None:
        self.problems.append(Problem(self.file, pos.line, pos.col, message))

    def warn(self, pos: Pos, message: str) -> None:
        self.warnings.append(Problem(self.file, pos.line, pos.col, message))

    def exactly_one(
        self, m: YMap, keys: Sequence[str], noun: str, where: str, advice: str, *, quiet_if_none: bool = False
    ) -> str | None:
        """The one key of `keys` that `m` gives (a step's action, a check's probe, a channel's platform);
        None, with a problem, when it gives none (unless `quiet_if_none`: already told) or several."""
        given = [k for k in keys if m.get(k) is not None]
        if len(given) == 1:
            return given[0]
        if not given:
            if not quiet_if_none:
                self.add(m.pos, f"{where} has no {noun} — add exactly one of: {', '.join(keys)}")
        else:
            self.add(
                m.key_pos[given[1]], f"{where} has more than one {noun} ({' and '.join(given)}) — {advice}"
            )
        return None

    def text(self, value: str, pos: Pos, *, shell: bool = False) -> Any:
        """`value` rendered, or INVALID (with a problem at `pos`)."""
        quoted = quoted_substitution(value) if shell else None
        if quoted is not None:
            self.add(
                pos,
                f"{quoted} is inside quotes in a shell command — remove the quotes around it: bcdrill "
                "quotes every substituted value itself (spaces, quotes and $ included)",
            )
            return INVALID
        try:
            return self.tmpl.render(value, shell=shell)
        except TemplateProblem as exc:
            self.add(pos, str(exc))
            return INVALID

    def deep(self, value: Any, pos: Pos) -> Any:
        """Render every string inside a free-form value; returns plain dicts/lists."""
        if isinstance(value, YMap):
            return {k: self.deep(v, value.val_pos[k]) for k, v in value.items()}
        if isinstance(value, YList):
            return [self.deep(v, p) for v, p in zip(value, value.item_pos, strict=False)]
        if isinstance(value, str):
            return self.text(value, pos)
        return value

    def file_path(self, text: str, pos: Pos, what: str) -> str:
        """Absolute path of `text` (relative to base_dir); a problem if no such file."""
        shown = text if len(text) <= 80 else f"{text[:77]}..."
        if "\0" in text:
            self.add(pos, f"{what}: a file name cannot contain a NUL character — fix '{shown}'")
            return text
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = Path(os.path.normpath(self.base_dir / path))
        try:
            found = path.is_file()
        except OSError as exc:  # e.g. a name longer than the file system allows
            self.add(pos, f"{what}: cannot use '{shown}': {exc.strerror} — check the path")
            return str(path)
        if not found:
            self.add(pos, f"{what}: no such file '{shown}' (looked for {path})")
        return str(path)

    def fields(self, m: YMap, table: tuple[Field, ...], where: str) -> dict[str, Any]:
        names, defaults = _index(table)
        out = dict(defaults)
        for key, value in m.items():
            f = names.get(key)
            if f is None:
                self.unknown_key(m, key, where, names)
            elif value is not None or f.required or f.nullable:
                out[key] = self.convert(f, value, m.val_pos[key], label(where, key))
        for f in table:
            if f.required and m.get(f.name) is None and f.name not in m:
                self.missing(m, f, where)
        return out

    def unknown_key(self, m: YMap, key: str, where: str, names: dict[str, Field]) -> None:
        hint = did_you_mean(key, names) or " — expected one of: " + ", ".join(names)
        place = f" in {where}" if where else ""
        self.add(m.key_pos[key], f"unknown key '{key}'{place}{hint}")

    def missing(self, m: YMap, f: Field, where: str) -> None:
        place = f" in {where}" if where else ""
        fix = f" — {f.fix}" if f.fix else ""
        self.add(m.pos, f"missing required key '{f.name}'{place}{fix}")

    def wrong_type(self, f: Field, value: Any, pos: Pos, lbl: str) -> Any:
        expected = _EXPECTED.get(f.kind, f.kind)
        fix = f" — write [{value}]" if f.kind == "str_list" and isinstance(value, str) else ""
        if f.kind == "str" and isinstance(value, bool):  # YAML 1.1 reads yes/no/on/off as booleans
            fix = " — YAML reads yes, no, on, off, true and false as booleans: put the text in quotes"
        self.add(pos, f"{lbl}: expected {expected}, got {type_name(value)}{fix}")
        return INVALID

    def convert(self, f: Field, value: Any, pos: Pos, lbl: str) -> Any:
        if value is None:
            return None if f.nullable else self.wrong_type(f, value, pos, lbl)
        method = getattr(self, "_" + f.kind, None)
        if method is None:  # container kinds: the caller checks the contents
            want = YList if f.kind == "list_of" else YMap
            return value if isinstance(value, want) else self.wrong_type(f, value, pos, lbl)
        result: Any = method(f, value, pos, lbl)
        return result

    def _str(self, f: Field, value: Any, pos: Pos, lbl: str) -> Any:
        if isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            return self.wrong_type(f, value, pos, lbl)
        if f.template:
            value = self.text(value, pos, shell=f.shell)
        if f.path and value is not INVALID:
            value = self.file_path(value, pos, lbl)
        return value

    def _int(self, f: Field, value: Any, pos: Pos, lbl: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            return self.wrong_type(f, value, pos, lbl)
        if value < (1 if f.positive else 0):
            self.add(
                pos, f"{lbl}: must be {'greater than zero' if f.positive else 'zero or more'}, got {value}"
            )
            return INVALID
        return value

    def _bool(self, f: Field, value: Any, pos: Pos, lbl: str) -> Any:
        return value if isinstance(value, bool) else self.wrong_type(f, value, pos, lbl)

    def _duration(self, f: Field, value: Any, pos: Pos, lbl: str) -> Any:
        if isinstance(value, str):
            value = self.text(value, pos)
            if value is INVALID:
                return INVALID
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            self.add(pos, f"{lbl}: {exc}")
            return INVALID
        if f.positive and seconds == 0:
            fix = " — use null for none" if f.nullable else ""
            self.add(pos, f"{lbl}: must be greater than zero{fix}")
            return INVALID
        return seconds

    def _str_list(self, f: Field, value: Any, pos: Pos, lbl: str) -> Any:
        if not isinstance(value, YList):
            return self.wrong_type(f, value, pos, lbl)
        item_field = Field(f.name, "str", "", template=f.template)
        items = []
        for i, (item, ipos) in enumerate(zip(value, value.item_pos, strict=False)):
            items.append(self._str(item_field, item, ipos, f"{lbl}[{i}]"))
        return INVALID if INVALID in items else tuple(items)

    def _enum(self, f: Field, value: Any, pos: Pos, lbl: str) -> Any:
        text = self._str(f, value, pos, lbl)
        if text is INVALID or text in f.choices:
            return text
        hint = did_you_mean(text, f.choices) or " — expected one of: " + ", ".join(f.choices)
        self.add(pos, f"{lbl}: '{text}' is not valid{hint}")
        return INVALID

    def _any_map(self, f: Field, value: Any, pos: Pos, lbl: str) -> Any:
        if not isinstance(value, YMap):
            return self.wrong_type(f, value, pos, lbl)
        return self.deep(value, pos) if f.template else plain(value)

    def _command(self, f: Field, value: Any, pos: Pos, lbl: str) -> Any:
        if isinstance(value, YList):
            argv = [
                self._str(Field(f.name, "str", ""), v, p, lbl)
                for v, p in zip(value, value.item_pos, strict=False)
            ]
            if not argv:
                self.add(pos, f"{lbl}: the command is empty")
            return INVALID if INVALID in argv or not argv else tuple(argv)
        if isinstance(value, str):
            return self._str(f, value, pos, lbl)
        return self.wrong_type(f, value, pos, lbl)

    def _run(self, f: Field, value: Any, pos: Pos, lbl: str) -> Any:
        if isinstance(value, YMap):
            return value
        if isinstance(value, (str, YList)):
            return self._command(Field(f.name, "command", "", shell=True), value, pos, lbl)
        return self.wrong_type(f, value, pos, lbl)

    def _wait(self, f: Field, value: Any, pos: Pos, lbl: str) -> Any:
        if isinstance(value, YMap):
            return value
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return self._duration(f, value, pos, lbl)
        return self.wrong_type(f, value, pos, lbl)

    def _when(self, f: Field, value: Any, pos: Pos, lbl: str) -> Any:
        return value if isinstance(value, (str, bool)) else self.wrong_type(f, value, pos, lbl)
