"""YAML loading that remembers where every key and value was written.

`load_yaml(data, file)` builds plain Python values straight from the events of PyYAML's
(C)SafeLoader (no node graph: a scenario of 50,000 steps would hold ~150 MB of it), except
that mappings are `YMap` and sequences `YList`, which carry the 1-based position of the
collection itself, of every key and of every value. Scalars are ordinary Python values (str,
int, float, bool, None, datetime); their position is the one their parent records. It never
raises for bad input: every problem (invalid UTF-8, a YAML syntax error, duplicate keys,
recursive aliases) comes back as a `Problem`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import yaml

from bcdrill.common.errors import Problem
from bcdrill.scenario.model import Pos

try:
    _Base: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Base = yaml.SafeLoader

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"


class _Loader(_Base):  # type: ignore[misc,valid-type]
    """The safe loader with a memo of implicit scalar tags (keys and values repeat a lot)."""

    _tags: ClassVar[dict[tuple[str, tuple[bool, bool]], str]] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not yaml.ScalarNode or not implicit:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = self._tags.get(key)
        if tag is None:
            tag = super().resolve(kind, value, implicit)
            if len(self._tags) < 100_000:
                self._tags[key] = tag
        return tag


class PosMap(dict[str, Any]):
    """key -> Pos, built on access from the YAML marks' line and column (creating 100k Pos objects
    up front is slow)."""

    __slots__ = ("file",)

    def __init__(self, file: str) -> None:
        super().__init__()
        self.file = file

    def __getitem__(self, key: str) -> Pos:
        mark = dict.__getitem__(self, key)
        if isinstance(mark, Pos):
            return mark
        line, column = divmod(mark, _COLUMNS)
        return Pos(self.file, line + 1, column + 1)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default  # noqa: SIM401 - must convert via __getitem__


_COLUMNS = 1 << 32


def _at(mark: Any) -> int:
    """A YAML mark as the line and column it points at (0-based) in one int: all that is kept of it
    (the mark objects would cost more memory than the scenario itself)."""
    return int(mark.line) * _COLUMNS + min(int(mark.column), _COLUMNS - 1)


class YMap(dict[str, Any]):
    """A mapping with the position of itself, of each key and of each value."""

    __slots__ = ("key_pos", "pos", "val_pos")

    def __init__(self, pos: Pos) -> None:
        super().__init__()
        self.pos = pos
        self.key_pos = PosMap(pos.file)
        self.val_pos = PosMap(pos.file)


class YList(list[Any]):
    """A sequence with the position of itself and of each item."""

    __slots__ = ("_marks", "_pos_list", "pos")

    def __init__(self, pos: Pos) -> None:
        super().__init__()
        self.pos = pos
        self._marks: list[int] = []
        self._pos_list: list[Pos] | None = None

    @property
    def item_pos(self) -> list[Pos]:
        if self._pos_list is None or len(self._pos_list) != len(self._marks):
            f = self.pos.file
            places = (divmod(mark, _COLUMNS) for mark in self._marks)
            self._pos_list = [Pos(f, line + 1, column + 1) for line, column in places]
        return self._pos_list


def type_name(value: object) -> str:
    """How a YAML value is called in messages: 'a mapping', 'a list', 'a string', ..."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


MAX_DEPTH = 64  # nested mappings/lists; a scenario needs a handful
MAX_VALUES = 2_000_000  # values of the document with every alias expanded ("billion laughs" guard)


@dataclass(slots=True)
class _Built:
    """A value as built, with the mark of what it was written as (an alias: its anchor's), the number
    of values it stands for with every alias expanded, and its tag (None for a collection)."""

    value: Any
    mark: Any
    size: int
    tag: str | None = None


_TOO_MANY = (
    f"the document stands for more than {MAX_VALUES:,} values once its aliases (*name) are expanded — use "
    "fewer aliases of aliases"
)


class _Builder:
    """Builds YMap/YList/scalars straight from the parser's events, collecting problems. No node graph
    is made: for a scenario of 50,000 steps it would hold ~150 MB of nodes and marks at once."""

    def __init__(self, file: str, loader: yaml.SafeLoader) -> None:
        self.file = file
        self.loader: Any = loader  # PyYAML's parser API is untyped: events and marks are Any here
        self.problems: list[Problem] = []
        self.anchors: dict[str, _Built] = {}
        self.open: set[str] = set()  # anchors of the collections being built
        self.depth = 0

    def build_stream(self) -> Any:
        """The single document's value (None for an empty stream); ComposerError as PyYAML's."""
        loader = self.loader
        loader.get_event()  # the stream's start
        if loader.check_event(yaml.StreamEndEvent):
            return None
        loader.get_event()  # the document's start
        root = self.node()
        loader.get_event()  # the document's end
        if not loader.check_event(yaml.StreamEndEvent):
            event = loader.get_event()
            raise yaml.composer.ComposerError(
                "expected a single document in the stream",
                root.mark,
                "but found another document",
                event.start_mark,
            )
        if root.size > MAX_VALUES:
            self.problems = [self.problem_at(root.mark, _TOO_MANY)]
            return None
        return root.value

    def problem_at(self, mark: Any, message: str) -> Problem:
        return Problem(self.file, mark.line + 1, mark.column + 1, message)

    def problem(self, mark: Any, message: str) -> None:
        self.problems.append(self.problem_at(mark, message))

    def node(self, *, key: bool = False) -> _Built:
        """The next value; a `key` may be the merge key `<<`, which is no value of its own."""
        event = self.loader.get_event()
        if isinstance(event, yaml.AliasEvent):
            return self.alias(event)
        anchor = event.anchor
        if anchor is not None and anchor in self.anchors:
            first = self.anchors[anchor].mark
            raise yaml.composer.ComposerError(
                "found duplicate anchor; first occurrence", first, "second occurrence", event.start_mark
            )
        if isinstance(event, yaml.ScalarEvent):
            built = self.scalar(event, key)
        elif anchor is None:
            built = self.collection(event)
        else:
            self.anchors[anchor] = _Built(None, event.start_mark, 1)  # an alias of it inside: recursive
            self.open.add(anchor)
            built = self.collection(event)
            self.open.discard(anchor)
        if anchor is not None:
            self.anchors[anchor] = built
        return built

    def alias(self, event: Any) -> _Built:
        built = self.anchors.get(event.anchor)
        if built is None:
            raise yaml.composer.ComposerError(None, None, "found undefined alias", event.start_mark)
        if event.anchor in self.open:
            self.problem(built.mark, "recursive alias — an anchor cannot contain an alias of itself")
            return _Built(None, built.mark, 1)
        return built

    def collection(self, event: Any) -> _Built:
        mark = event.start_mark
        if self.depth >= MAX_DEPTH:
            self.problem(mark, f"nested more than {MAX_DEPTH} levels deep — a scenario needs far fewer")
            self.skip()
            return _Built(None, mark, 1)
        self.depth += 1
        try:
            if isinstance(event, yaml.MappingStartEvent):
                return self.mapping(mark)
            return self.sequence(mark)
        finally:
            self.depth -= 1

    def skip(self) -> None:
        """Consume the events of a collection whose start was read, to its end."""
        open_ = 1
        while open_:
            event = self.loader.get_event()
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                open_ += 1
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                open_ -= 1

    def scalar(self, event: Any, key: bool) -> _Built:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _STR_TAG or (key and tag == _MERGE_TAG):
            return _Built(event.value, event.start_mark, 1, tag)
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError:
            self.problem(node.start_mark, f"unsupported YAML tag {tag!r} on {node.value!r} — remove the tag")
            value = node.value
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            why = exc.problem if isinstance(exc, yaml.MarkedYAMLError) else str(exc).splitlines()[0]
            self.problem(node.start_mark, f"invalid value {node.value!r}: {why}")
            value = node.value
        finally:
            self.loader.constructed_objects.pop(node, None)
        return _Built(value, event.start_mark, 1, tag)

    def sequence(self, mark: Any) -> _Built:
        out = YList(self.pos(mark))
        size = 1
        while not self.loader.check_event(yaml.SequenceEndEvent):
            item = self.node()
            out.append(item.value)
            out._marks.append(_at(item.mark))
            size = min(size + item.size, MAX_VALUES + 1)
        self.loader.get_event()
        return _Built(out, mark, size)

    def mapping(self, mark: Any) -> _Built:
        out = YMap(self.pos(mark))
        merged: list[YMap] = []
        size = 1
        while not self.loader.check_event(yaml.MappingEndEvent):
            key = self.node(key=True)
            if key.tag == _MERGE_TAG:
                value = self.node()
                merged.extend(self.merge_sources(value))
            elif key.tag is None:
                self.problem(key.mark, "a mapping key must be a plain string, not a mapping or a list")
                value = self.unused()
            else:
                name = key.value if key.tag == _STR_TAG else str(key.value)
                if name in out.key_pos:
                    first = out.key_pos[name]
                    self.problem(
                        key.mark, f"duplicate key '{name}' (first defined at line {first.line}) — remove one"
                    )
                    value = self.unused()
                else:
                    value = self.node()
                    out[name] = value.value
                    dict.__setitem__(out.key_pos, name, _at(key.mark))
                    dict.__setitem__(out.val_pos, name, _at(value.mark))
            size = min(size + key.size + value.size, MAX_VALUES + 1)
        self.loader.get_event()
        for src in merged:  # `<<: *anchor` — explicit keys win
            for name, item in src.items():
                if name not in out.key_pos:
                    out[name] = item
                    dict.__setitem__(out.key_pos, name, dict.__getitem__(src.key_pos, name))
                    dict.__setitem__(out.val_pos, name, dict.__getitem__(src.val_pos, name))
        return _Built(out, mark, size)

    def unused(self) -> _Built:
        """A value that is read but not kept (its key is refused): its problems are not reported."""
        kept = len(self.problems)
        value = self.node()
        del self.problems[kept:]
        return value

    def merge_sources(self, built: _Built) -> list[YMap]:
        items = built.value if isinstance(built.value, list) else [built.value]
        if not all(isinstance(v, YMap) for v in items):
            self.problem(built.mark, "'<<' must merge a mapping or a list of mappings")
            return []
        return list(items)

    def pos(self, mark: Any) -> Pos:
        return Pos(self.file, mark.line + 1, mark.column + 1)


def decode(data: bytes, file: str) -> tuple[str | None, list[Problem]]:
    """UTF-8 text of `data` (a BOM is dropped), or a problem at the first invalid byte."""
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        head = data[: exc.start]
        line = head.count(b"\n") + 1
        col = len(head) - (head.rfind(b"\n") + 1) + 1
        bad = data[exc.start]
        msg = f"not valid UTF-8 text (byte 0x{bad:02x}) — save the file as UTF-8"
        return None, [Problem(file, line, col, msg)]


def load_yaml(data: bytes, file: str) -> tuple[Any, list[Problem]]:
    """Parse one YAML document. Returns (value or None, problems); never raises for bad input."""
    text, problems = decode(data, file)
    if text is None:
        return None, problems
    loader = _Loader(text)
    builder = _Builder(file, loader)
    try:
        value = builder.build_stream()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or "invalid YAML"
        ctx = f" ({exc.context})" if exc.context else ""
        return None, [Problem(file, line, col, f"YAML syntax error: {what}{ctx}")]
    except yaml.YAMLError as exc:
        return None, [Problem(file, 1, 1, f"YAML error: {exc}")]
    finally:
        loader.dispose()
    return value, builder.problems
