"""Find and load the report templates (Jinja2 is imported here, lazily, not by the CLI)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2


def templates_dir() -> Path:
    """`bcdrill/_reports` inside an installed wheel, else the repository's `reports/`."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_reports", package.parent.parent / "reports"):
        if (candidate / "report.md.j2").is_file():
            return candidate
    raise FileNotFoundError(
        f"report templates not found in {package / '_reports'} or the repository's reports/"
    )


@lru_cache(maxsize=2)
def environment(autoescape: bool) -> jinja2.Environment:
    """A cached Jinja2 environment over the templates directory (HTML: autoescape on).

    Compiled templates are kept in Jinja2's per-user bytecode cache (a private directory under the
    system's temp dir, created mode 0700 and refused if another user owns it), keyed by the template
    source's checksum: compiling the report templates costs more than a short drill's whole run.
    """
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        bytecode_cache=_bytecode_cache(),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    import jinja2

    try:
        return jinja2.FileSystemBytecodeCache()
    except RuntimeError:  # the per-user cache directory is unsafe or cannot be made: compile every time
        return None
