"""The package's layers (docs/architecture.md) hold: an AST check of every import in src/bcdrill.

Each rule says which packages one layer must not import. Every import counts, including those inside
functions (a lazy import is still a dependency) and those under `if TYPE_CHECKING:` (a type is a
dependency too). Import cycles between modules are refused as well, except through imports that exist
only for type checking, which never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "bcdrill"

# layer -> the layers it must not import
RULES: dict[str, tuple[str, ...]] = {
    "common": (
        "cli",
        "scenario",
        "plan",
        "run",
        "executors",
        "record",
        "verdicts",
        "render",
        "listeners",
        "lab",
    ),
    "scenario": ("cli", "plan", "run", "executors", "record", "verdicts", "render", "listeners", "lab"),
    "plan": ("cli", "run", "executors", "record", "verdicts", "render", "listeners", "lab"),
    "executors": ("cli", "run", "record", "verdicts", "render", "listeners", "lab"),
    "record": ("cli", "run", "executors", "verdicts", "render", "listeners", "lab"),
    "verdicts": ("cli", "run", "executors", "render", "listeners", "lab"),
    "render": ("cli", "run", "executors", "listeners", "lab"),
    "run": ("cli", "render", "listeners", "lab"),
    "listeners": ("cli", "lab"),
    "lab": ("cli", "run", "executors", "record", "verdicts", "render", "listeners"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imports(path: Path, module: str = "") -> Iterator[tuple[str, int, bool]]:
    """(imported bcdrill module, line, runs at import or call time: not TYPE_CHECKING-only), once
    per module and line. `module` (the importing module's name) resolves relative imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    seen: set[tuple[str, int, bool]] = set()
    for node in ast.walk(tree):
        runs = id(node) not in typing_only
        for target in _targets(node, module, package=path.name == "__init__.py"):
            if target.startswith("bcdrill") and (target, node.lineno, runs) not in seen:
                seen.add((target, node.lineno, runs))
                yield target, node.lineno, runs


def _targets(node: ast.AST, module: str, *, package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:  # `from . import x`, `from ..run import y`: relative to the importing module
            parts = module.split(".")[: len(module.split(".")) - node.level + (1 if package else 0)]
            base = ".".join([*parts, base] if base else parts)
        for alias in node.names:  # `from bcdrill.x import y`: y may be a module of its own
            sub = f"{base}.{alias.name}"
            yield sub if _is_module(sub) else base


def _is_module(dotted: str) -> bool:
    base = PACKAGE.parent.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def graph() -> dict[str, list[tuple[str, int, bool]]]:
    return {module_name(p): list(imports(p, module_name(p))) for p in sorted(PACKAGE.rglob("*.py"))}


def layer_violations(edges: dict[str, list[tuple[str, int, bool]]]) -> list[str]:
    found = []
    for module, targets in edges.items():
        banned = RULES.get(layer(module), ())
        for target, line, _ in targets:
            if layer(target) in banned:
                found.append(f"{module}:{line}: {layer(module)}/ must not import {layer(target)}/ ({target})")
    return found


def cycles(edges: dict[str, list[tuple[str, int, bool]]]) -> list[str]:
    """One `a -> b -> a` path per strongly connected group of modules (runtime imports only)."""
    runtime = {
        m: sorted({t for t, _, runs in ts if runs and t in edges and t != m}) for m, ts in edges.items()
    }
    found: list[str] = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in runtime[m]:
            if state.get(t) == 1:
                found.append(" -> ".join([*stack[stack.index(t) :], t]))
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(runtime):
        if m not in state:
            visit(m)
    return found


def test_layers_import_only_what_they_may() -> None:
    found = layer_violations(graph())
    assert not found, f"{len(found)} forbidden import(s):\n" + "\n".join(found)


def test_no_import_cycles() -> None:
    found = cycles(graph())
    assert not found, f"{len(found)} import cycle(s):\n" + "\n".join(found)


def test_every_package_states_its_rule() -> None:
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "must not import" in doc.lower() or "may import" in doc.lower(), (
            f"{init}: docstring states no layer rule"
        )


def test_the_top_level_shows_the_layers_and_little_else() -> None:
    """A newcomer meets the layer folders and the package's __init__, at most a dozen entries."""
    entries = sorted(p.name for p in PACKAGE.iterdir() if p.name != "__pycache__")
    assert len(entries) <= 12, entries
    assert all((PACKAGE / name / "__init__.py").is_file() for name in entries if name != "__init__.py"), (
        entries
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from bcdrill.run.session import Session\n", "executors/ must not import run/"),
        ("def f():\n    from bcdrill.record import journal\n", "executors/ must not import record/"),
        ("from ..run import session\n", "executors/ must not import run/"),
        ("from ..record.journal import utc_ts\n", "executors/ must not import record/"),
        ("if TYPE_CHECKING:\n    import bcdrill.run.session\n", "executors/ must not import run/"),
    ],
)
def test_the_check_catches_a_forbidden_import(tmp_path: Path, source: str, expected: str) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(source)
    edges = {"bcdrill.executors.bad": list(imports(bad, "bcdrill.executors.bad"))}
    assert any(expected in v for v in layer_violations(edges))


def test_the_check_catches_a_cycle() -> None:
    edges = {"bcdrill.a": [("bcdrill.b", 1, True)], "bcdrill.b": [("bcdrill.a", 3, True)]}
    assert cycles(edges) == ["bcdrill.a -> bcdrill.b -> bcdrill.a"]


def test_an_import_only_for_type_checking_makes_no_cycle() -> None:
    edges = {"bcdrill.a": [("bcdrill.b", 1, True)], "bcdrill.b": [("bcdrill.a", 3, False)]}
    assert cycles(edges) == []


def test_event_names_are_the_constants_of_record_events() -> None:
    """A journal event is named by its constant (`STEP_FINISHED`), never typed out: a string literal
    equal to a dotted event name outside record/events.py is refused."""
    from bcdrill.record import events

    names = {value for value in vars(events).values() if isinstance(value, str) and value in events.TYPES}
    dotted = {name for name in names if "." in name}  # `note` is an ordinary word too
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value!r}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != PACKAGE / "record" / "events.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and node.value in dotted
    ]
    assert dotted and not found, "event names typed out (use the constants):\n" + "\n".join(found)
