"""The Jinja2 sandbox scenario templates run in, with bounds on what one expression may cost.

Jinja2's sandbox already forbids reaching Python internals and ranges over 100,000 items. A scenario
comes from people, and `drill validate` must answer in bounded time and memory whatever it is given,
so this sandbox also refuses, with a message, before the work is done:
- `a ** b` with an exponent over 256 (`9 ** (9 ** 9)` would run for hours);
- `text * n` and `list * n` making more than MAX_LENGTH items, and padding filters (`center`,
  `indent`, `format`/`%` widths) wider than MAX_LENGTH;
- more than MAX_LOOP iterations of `range()` in one rendering (nested loops multiply).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_LENGTH = 1_000_000
MAX_EXPONENT = 256
MAX_LOOP = 1_000_000
_WIDE_FORMAT = re.compile(r"%[-+ #0]*(\d{7,}|\*)|\{[^{}]*:[^{}]*\d{7,}[^{}]*\}")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"**", "*", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.loop_budget = MAX_LOOP
        self.globals["range"] = self._range
        for name in ("center", "indent", "format", "wordwrap"):
            self.filters[name] = _bounded_filter(self.filters[name], name)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if (
            operator == "**"
            and _number(left)
            and _number(right)
            and abs(right) > MAX_EXPONENT
            and abs(left) > 1
        ):
            raise SecurityError(f"{left!r} ** {right!r} is too big a power (exponent at most {MAX_EXPONENT})")
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if (
                    isinstance(seq, (str, list, tuple))
                    and isinstance(count, int)
                    and len(seq) * count > MAX_LENGTH
                ):
                    raise SecurityError(
                        f"repeating a value {count:,} times makes it too long (at most {MAX_LENGTH:,})"
                    )
        if operator == "%" and isinstance(left, str) and _WIDE_FORMAT.search(left):
            raise SecurityError(f"a format width over {MAX_LENGTH:,} is refused")
        return super().call_binop(context, operator, left, right)

    def _range(self, *args: int) -> range:
        rng = range(*args)
        self.loop_budget -= len(rng)
        if len(rng) > 100_000 or self.loop_budget < 0:
            self.loop_budget = MAX_LOOP
            raise SecurityError(
                f"a template may loop at most {MAX_LOOP:,} times in all (ranges of at most 100,000)"
            )
        return rng

    def reset_budget(self) -> None:
        self.loop_budget = MAX_LOOP


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bounded_filter(original: Callable[..., Any], name: str) -> Callable[..., Any]:
    def bounded(*args: Any, **kwargs: Any) -> Any:
        for value in [*args[1:], *kwargs.values()]:
            if _number(value) and value > MAX_LENGTH:
                raise SecurityError(f"|{name}({value}) is too wide (at most {MAX_LENGTH:,})")
            if isinstance(value, str) and _WIDE_FORMAT.search(value):
                raise SecurityError(f"|{name}: a format width over {MAX_LENGTH:,} is refused")
        if name == "format" and args and isinstance(args[0], str) and _WIDE_FORMAT.search(args[0]):
            raise SecurityError(f"|format: a width over {MAX_LENGTH:,} is refused")
        return original(*args, **kwargs)

    for attr in ("jinja_pass_arg",):  # keep Jinja2's @pass_environment/@pass_context marks
        if hasattr(original, attr):
            setattr(bounded, attr, getattr(original, attr))
    return bounded
