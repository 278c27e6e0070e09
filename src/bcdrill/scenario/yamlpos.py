"""YAML loading that remembers where every key and value was written.

`load_yaml(data, file)` parses with PyYAML's (C)SafeLoader into nodes and builds plain
Python values, except that mappings are `YMap` and sequences `YList`, which carry the
1-based position of the collection itself, of every key and of every value. Scalars are
ordinary Python values (str, int, float, bool, None, datetime); their position is the
one their parent records. It never raises for bad input: every problem (invalid UTF-8,
a YAML syntax error, duplicate keys, recursive aliases) comes back as a `Problem`.
"""

from __future__ import annotations

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


def _at(mark: yaml.Mark) -> int:
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


class _Builder:
    """Turns a composed node graph into YMap/YList/scalars, collecting problems."""

    def __init__(self, file: str, loader: yaml.SafeLoader) -> None:
        self.file = file
        self.loader = loader
        self.problems: list[Problem] = []
        self.done: dict[int, Any] = {}
        self.busy: set[int] = set()
        self.depth = 0
        self.sizes: dict[int, int] = {}

    def expanded_size(self, node: yaml.Node, depth: int = 0) -> int:
        """How many values `node` stands for once every alias in it is expanded (memoized per node,
        so a graph of aliases is counted in linear time); deeper than MAX_DEPTH counts as one."""
        if isinstance(node, yaml.ScalarNode) or depth > MAX_DEPTH:
            return 1
        key = id(node)
        if key not in self.sizes:
            self.sizes[key] = 1  # a recursive alias: counted once, reported by build()
            children = (
                (n for pair in node.value for n in pair) if isinstance(node, yaml.MappingNode) else node.value
            )
            total = 1
            for child in children:
                total += self.expanded_size(child, depth + 1)
                if total > MAX_VALUES:
                    break
            self.sizes[key] = total
        return self.sizes[key]

    def build_document(self, node: yaml.Node) -> Any:
        if self.expanded_size(node) > MAX_VALUES:
            self.problem(
                node,
                f"the document stands for more than {MAX_VALUES:,} values once its aliases (*name) are "
                "expanded — use fewer aliases of aliases",
            )
            return None
        return self.build(node)

    def pos(self, node: yaml.Node) -> Pos:
        return Pos(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def problem(self, node: yaml.Node, message: str) -> None:
        p = self.pos(node)
        self.problems.append(Problem(p.file, p.line, p.col, message))

    def build(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return node.value if node.tag == _STR_TAG else self.scalar(node)
        key = id(node)
        if key in self.done:  # an alias: the same value again
            return self.done[key]
        if key in self.busy:
            self.problem(node, "recursive alias — an anchor cannot contain an alias of itself")
            return None
        if self.depth >= MAX_DEPTH:
            self.problem(node, f"nested more than {MAX_DEPTH} levels deep — a scenario needs far fewer")
            return None
        self.busy.add(key)
        self.depth += 1
        try:
            value = self.mapping(node) if isinstance(node, yaml.MappingNode) else self.sequence(node)
        finally:
            self.depth -= 1
        self.busy.discard(key)
        self.done[key] = value
        node.value = []  # built (an alias of it gets `done[key]`): its nodes need not wait for the rest
        return value

    def scalar(self, node: yaml.ScalarNode) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError:
            self.problem(node, f"unsupported YAML tag {node.tag!r} on {node.value!r} — remove the tag")
            return node.value
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            why = exc.problem if isinstance(exc, yaml.MarkedYAMLError) else str(exc).splitlines()[0]
            self.problem(node, f"invalid value {node.value!r}: {why}")
            return node.value

    def sequence(self, node: yaml.Node) -> YList:
        out = YList(self.pos(node))
        for item in node.value:
            out.append(self.build(item))
            out._marks.append(_at(item.start_mark))
        return out

    def mapping(self, node: yaml.Node) -> YMap:
        out = YMap(self.pos(node))
        merged: list[YMap] = []
        for knode, vnode in node.value:
            if knode.tag == _MERGE_TAG:
                merged.extend(self.merge_sources(vnode))
                continue
            if not isinstance(knode, yaml.ScalarNode):
                self.problem(knode, "a mapping key must be a plain string, not a mapping or a list")
                continue
            key = knode.value if knode.tag == _STR_TAG else str(self.scalar(knode))
            if key in out.key_pos:
                first = out.key_pos[key]
                self.problem(
                    knode, f"duplicate key '{key}' (first defined at line {first.line}) — remove one"
                )
                continue
            out[key] = self.build(vnode)
            dict.__setitem__(out.key_pos, key, _at(knode.start_mark))
            dict.__setitem__(out.val_pos, key, _at(vnode.start_mark))
        for src in merged:  # `<<: *anchor` — explicit keys win
            for key, value in src.items():
                if key not in out.key_pos:
                    out[key] = value
                    dict.__setitem__(out.key_pos, key, src.key_pos[key])
                    dict.__setitem__(out.val_pos, key, src.val_pos[key])
        return out

    def merge_sources(self, vnode: yaml.Node) -> list[YMap]:
        value = self.build(vnode)
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, YMap) for v in items):
            self.problem(vnode, "'<<' must merge a mapping or a list of mappings")
            return []
        return list(items)


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
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or "invalid YAML"
        ctx = f" ({exc.context})" if exc.context else ""
        return None, [Problem(file, line, col, f"YAML syntax error: {what}{ctx}")]
    except yaml.YAMLError as exc:
        return None, [Problem(file, 1, 1, f"YAML error: {exc}")]
    except RecursionError:  # the pure-Python composer on absurd nesting
        return None, [
            Problem(file, 1, 1, f"nested more than {MAX_DEPTH} levels deep — a scenario needs far fewer")
        ]
    finally:
        loader.dispose()
    if node is None:
        return None, []
    builder = _Builder(file, loader)
    value = builder.build_document(node)
    return value, builder.problems
