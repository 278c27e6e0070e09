"""JSON Schema (draft 2020-12) of scenario format v1, derived from the loader's field tables.

Some rules cannot be said in JSON Schema (references between steps, cycles, files that
must exist, undefined template variables); `drill validate` checks those.
"""

from __future__ import annotations

from typing import Any

from bcdrill.scenario import fields as F
from bcdrill.scenario.fields import Field
from bcdrill.scenario.model import ACTION_KINDS

_DURATION: dict[str, Any] = {
    "description": "A duration: 500ms, 90s, 15m, 4h, 1h30m, 1d, or a number of seconds.",
    "oneOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": r"^\s*(\d+(\.\d+)?|(\d+(\.\d+)?(ms|s|m|h|d))+|.*\{\{.*\}\}.*)\s*$"},
    ],
}
_COMMAND: dict[str, Any] = {
    "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
}


def _kind(f: Field) -> dict[str, Any]:
    simple: dict[str, dict[str, Any]] = {
        "str": {"type": "string"},
        "int": {"type": "integer", "minimum": 1 if f.positive else 0},
        "bool": {"type": "boolean"},
        "number": {"type": "number"},
        "duration": _DURATION,
        "str_list": {"type": "array", "items": {"type": "string"}},
        "enum": {"enum": list(f.choices)},
        "any_map": {"type": "object"},
        "command": _COMMAND,
        "when": {"type": ["string", "boolean"]},
    }
    if f.kind in simple:
        return dict(simple[f.kind])
    ref = {"$ref": f"#/$defs/{f.table}"}
    if f.kind == "table":
        return ref
    if f.kind == "map_of":
        return {"type": "object", "additionalProperties": {"anyOf": [ref, {"type": "null"}]}}
    if f.kind == "list_of":
        return {"type": "array", "items": ref}
    if f.kind == "run":
        return {"oneOf": [*_COMMAND["oneOf"], {"$ref": "#/$defs/run"}]}
    if f.kind == "wait":
        return {"oneOf": [*_DURATION["oneOf"], {"$ref": "#/$defs/wait"}]}
    raise ValueError(f"unknown field kind {f.kind!r}")  # pragma: no cover - a bug in the tables


def _property(f: Field) -> dict[str, Any]:
    prop = _kind(f)
    if f.nullable:
        prop = {"anyOf": [prop, {"type": "null"}]}
    prop["description"] = f.doc
    if f.secret:
        prop["writeOnly"] = True  # a secret: give it through a template ({{ var }}) and --var
    if f.default is not None:
        prop["default"] = f.default
    return prop


def _object(table: tuple[Field, ...]) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {f.name: _property(f) for f in table},
    }
    required = [f.name for f in table if f.required]
    if required:
        obj["required"] = required
    return obj


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the scenario format, version 1."""
    defs = {name: _object(table) for name, table in F.TABLES.items() if name != "scenario"}
    defs["step"]["oneOf"] = [{"required": [kind]} for kind in ACTION_KINDS]
    defs["check"]["oneOf"] = [{"required": [probe]} for probe in F.PROBES]
    defs["notify_channel"]["oneOf"] = [{"required": [platform]} for platform in F.NOTIFY_PLATFORMS]
    top = _object(F.SCENARIO)
    top["properties"]["version"]["const"] = 1
    top["properties"]["name"]["pattern"] = f"^{F.NAME_PATTERN}$"
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://bcdrill.invalid/schema/scenario-v1.json",
        "title": "bcdrill scenario, format version 1",
        "description": "A business-continuity drill: systems, targets and the steps of the failover.",
        **top,
        "$defs": defs,
    }
