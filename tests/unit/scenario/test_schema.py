"""The JSON Schema is derived from the loader's field tables."""

from __future__ import annotations

import json

from bcdrill.scenario import fields
from bcdrill.scenario.schema import json_schema


def test_schema_covers_every_table_and_key() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["version", "name", "title", "environment", "steps"]
    assert schema["properties"]["version"]["const"] == 1
    for name, table in fields.TABLES.items():
        obj = schema if name == "scenario" else schema["$defs"][name]
        assert set(obj["properties"]) == {f.name for f in table}
        assert obj["additionalProperties"] is False
        assert all(prop["description"] for prop in obj["properties"].values())
    assert schema["$defs"]["step"]["oneOf"][0] == {"required": ["run"]}
    assert schema["$defs"]["host"]["properties"]["accept_unknown_host_key"]["default"] is False
    json.dumps(schema)  # serialisable
