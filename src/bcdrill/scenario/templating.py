"""Jinja2 rendering of scenario strings, with undefined variables an error.

Two environments share the variables: `plain` for ordinary strings and `shell` for
command strings, where every `{{ ... }}` result passes through `shlex.quote`, so a
value (from `vars`, `--var` or the inventory) can never inject shell syntax. Only
strings containing `{{`, `{%` or `{#` are compiled; compiled templates are cached.
Both environments are sandboxed: a scenario cannot call arbitrary Python.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2 import meta

from bcdrill.scenario.sandbox import BoundedSandbox

_MARKERS = ("{{", "{%", "{#")
_UNDEFINED_NAME = re.compile(r"^'([^']+)' is undefined$")
_SIMPLE_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class TemplateProblem(Exception):
    """A template could not be rendered; the message is fit for a user (without position)."""


def has_template(text: str) -> bool:
    return any(m in text for m in _MARKERS)


def shell_quote(value: Any) -> str:
    """`finalize` of the shell environment: every substituted value becomes one shell word."""
    return shlex.quote("" if value is None else str(value))


def quoted_substitution(command: str) -> str | None:
    """The first `{{ ... }}` that a shell command puts inside quotes ('…' or "…"), else None.

    bcdrill quotes every substituted value itself (one shell word, whatever it holds); inside the
    author's quotes that quoting is undone — `echo '{{ x }}'` with x = `$(id)` runs `id` — so such a
    template is refused at validation instead of being half quoted. A `$( … )` opens a fresh context,
    inside double quotes too: `"$(cat {{ f }})"` is fine."""
    stack: list[str] = []  # "'", '"' or "(" (a command substitution)
    i = 0
    while i < len(command):
        top = stack[-1] if stack else None
        if command.startswith("{{", i):
            end = command.find("}}", i + 2)
            end = end + 2 if end >= 0 else len(command)
            if top in ("'", '"'):
                return command[i:end]
            i = end
            continue
        ch = command[i]
        if ch == "\\" and top != "'":
            i += 2  # an escaped character, outside single quotes
            continue
        if top != "'" and command.startswith("$(", i):
            stack.append("(")
            i += 2
            continue
        if top == "(" and ch == ")":
            stack.pop()
        elif top in (None, "(") and ch in "'\"":
            stack.append(ch)
        elif ch == top and top in ("'", '"'):
            stack.pop()
        i += 1
    return None


class Templater:
    """Renders strings and evaluates `when` expressions over one set of variables."""

    def __init__(self, variables: Mapping[str, Any]) -> None:
        self.vars = dict(variables)
        opts: dict[str, Any] = {"undefined": jinja2.StrictUndefined, "keep_trailing_newline": True}
        self.plain = BoundedSandbox(**opts)
        self.shell = BoundedSandbox(finalize=shell_quote, **opts)
        self._cache: dict[tuple[str, bool], jinja2.Template] = {}
        self.used: set[str] = set()  # every variable name a rendered string or expression refers to

    def render(self, text: str, *, shell: bool = False) -> str:
        """`text` rendered; raises TemplateProblem on a syntax error or an undefined variable."""
        if not has_template(text):
            return text
        fast = self._substitute(text, shell)
        if fast is not None:
            return fast
        try:
            template = self._cache.get((text, shell))
            if template is None:
                env = self.shell if shell else self.plain
                self.used |= meta.find_undeclared_variables(env.parse(text))
                template = self._cache[(text, shell)] = env.from_string(text)
            env = self.shell if shell else self.plain
            env.reset_budget()
            return template.render(self.vars)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateProblem(f"template syntax error: {exc.message}") from None
        except jinja2.UndefinedError as exc:
            raise TemplateProblem(self.undefined_message(str(exc))) from None
        except jinja2.TemplateError as exc:  # pragma: no cover - e.g. a sandbox violation
            raise TemplateProblem(f"template error: {exc}") from None
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise TemplateProblem(f"template error: {exc}") from None
        except (MemoryError, RecursionError) as exc:
            raise TemplateProblem(f"template error: too costly to render ({type(exc).__name__})") from None
        except Exception as exc:  # whatever else a template given by a person can raise
            raise TemplateProblem(f"template error: {type(exc).__name__}: {exc}") from None

    def _substitute(self, text: str, shell: bool) -> str | None:
        """Fast path for the common case, text with plain `{{ name }}` only (same result as Jinja2).

        Compiling a Jinja2 template costs about a millisecond; 10,000 steps each with their own
        command string would otherwise take seconds. None: not that simple, use Jinja2.
        """
        parts = _SIMPLE_VAR.split(text)
        if any(has_template(p) for p in parts[::2]):
            return None
        names = parts[1::2]
        self.used.update(names)
        if any(n not in self.vars for n in names):
            return None  # let Jinja2 report it (or find a global)
        quote = shell_quote if shell else str
        parts[1::2] = [quote(self.vars[n]) for n in names]
        return "".join(parts)

    def evaluate(self, expression: str) -> Any:
        """The value of a Jinja2 expression (for `when`)."""
        try:
            self.used |= meta.find_undeclared_variables(self.plain.parse(f"{{{{ ({expression}) }}}}"))
            compiled = self.plain.compile_expression(expression, undefined_to_none=False)
            self.plain.reset_budget()
            value = compiled(**self.vars)
            if isinstance(value, jinja2.Undefined):
                bool(value)  # StrictUndefined raises here
            return value
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateProblem(f"invalid expression: {exc.message}") from None
        except jinja2.UndefinedError as exc:
            raise TemplateProblem(self.undefined_message(str(exc))) from None
        except jinja2.TemplateError as exc:  # pragma: no cover
            raise TemplateProblem(f"expression error: {exc}") from None
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise TemplateProblem(f"expression error: {exc}") from None
        except (MemoryError, RecursionError) as exc:
            raise TemplateProblem(
                f"expression error: too costly to evaluate ({type(exc).__name__})"
            ) from None
        except Exception as exc:  # whatever else an expression given by a person can raise
            raise TemplateProblem(f"expression error: {type(exc).__name__}: {exc}") from None

    def undefined_message(self, text: str) -> str:
        m = _UNDEFINED_NAME.match(text)
        if not m:
            return f"undefined value: {text}"
        name = m.group(1)
        define = f"undefined variable '{name}' — define it under vars: or pass --var {name}=VALUE"
        close = difflib.get_close_matches(name, list(self.vars), n=1)
        # a close name may be a typo ('dr_sitee') or another variable ('dr_host' beside 'dr_port'): both ways
        return f"{define} (or did you mean '{close[0]}'?)" if close else define
