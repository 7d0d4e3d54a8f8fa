"""An output field means one thing everywhere (``governance_pipeline.spec.fields``).

The prompt's JSON schema, the system message's field list, the contract, the store's columns
and the contract document each read a field's `type`, `enum`, `max_length`, `minimum` and
`maximum`. When each read them on its own they drifted: the document showed `implied_rating`
as "any" while the contract rejected 0. So for every output field of every spec in specs/,
each limit is held to all of them at once: the schema carries it, the prompt and the document
state it, the contract accepts a value on the limit and rejects one past it, and the column has
the field's type. The input side gets the same treatment: the document states every rule the
compiled suite enforces (min, max and freshness included, which it once left out).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pydantic import ValidationError

from governance_pipeline import spec
from governance_pipeline.inputs import expectations
from governance_pipeline.llm import prompts
from governance_pipeline.outputs.contracts import Contract
from governance_pipeline.spec import OutputField, ResolvedSpec
from governance_pipeline.spec.contract_doc import render_markdown
from governance_pipeline.store import job_ddl
from tests.conftest import SPEC_DIR

SPECS = {path.stem: spec.load(path) for path in spec.discover(SPEC_DIR)}
FIELDS = [(job, name) for job, s in SPECS.items() for name in s.job.output]
DUCKDB_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN"}


def _row(doc: str, name: str) -> str:
    """The table row of `name` in a section of the document (its first match)."""
    return next(line for line in doc.splitlines() if line.startswith(f"| `{name}` |"))


def _plain(text: str) -> str:
    """Text without the backslashes that keep a regex's `|` or `[` out of Markdown."""
    return text.replace("\\", "")


def _some_value(f: OutputField) -> Any:
    """A value of the field's type within its limits."""
    if f.enum:
        return f.enum[0]
    if f.type in ("integer", "number"):
        value = f.minimum if f.minimum is not None else (f.maximum or 0)
        return int(value) if f.type == "integer" else float(value)
    return True if f.type == "boolean" else "ok"


def _problems(s: ResolvedSpec, name: str, value: Any) -> list[str]:
    """What the contract finds wrong with `value` in field `name`, the other fields valid."""
    output = {n: _some_value(f) for n, f in s.job.output.items()} | {name: value}
    verdict = Contract(s).check(json.dumps(output))
    return [
        str(v)
        for v in verdict.errors
        if v.rule_id.startswith(f"output.{name}.")
        or (v.rule_id == "output.schema" and name in v.reason)
    ]


@pytest.mark.parametrize(("job", "name"), FIELDS)
def test_every_part_reads_an_output_field_alike(job: str, name: str) -> None:
    s = SPECS[job]
    f = s.job.output[name]
    schema = prompts.output_schema(s)["properties"][name]
    assert schema["type"] == f.type
    assert (schema.get("enum"), schema.get("maxLength")) == (f.enum, f.max_length)
    assert (schema.get("minimum"), schema.get("maximum")) == (f.minimum, f.maximum)

    field_line = next(
        line for line in prompts.system_message(s).splitlines() if line.startswith(f"- {name} (")
    )
    allowed = _row(render_markdown(s), name).split(" | ")[-1]
    stated = [*(f.enum or [])]
    stated += [f"at most {f.max_length} characters"] if f.max_length else []
    if f.minimum is not None:
        stated += [f"{f.minimum:g} and" if f.maximum is not None else f"at least {f.minimum:g}"]
    if f.maximum is not None:
        stated += [f"and {f.maximum:g}" if f.minimum is not None else f"at most {f.maximum:g}"]
    for words in stated:
        assert words in field_line, field_line
        assert words in allowed, allowed
    if not stated:
        assert allowed == "any |"

    assert _problems(s, name, _some_value(f)) == []
    wrong_type = "text" if f.type != "string" else 1
    assert _problems(s, name, wrong_type), f"{name}={wrong_type!r} is accepted"
    if f.enum:
        assert _problems(s, name, f.enum[0] + "-not-listed")
    if f.max_length:
        assert _problems(s, name, "x" * f.max_length) == []
        assert _problems(s, name, "x" * (f.max_length + 1))
    cast = int if f.type == "integer" else float
    for bound, step in ((f.minimum, -1), (f.maximum, 1)):
        if bound is not None:
            assert _problems(s, name, cast(bound)) == [], f"{name}={bound:g} is on the bound"
            assert _problems(s, name, cast(bound + step)), f"{name}={bound + step:g} passes"

    with duckdb.connect() as con:
        con.execute(job_ddl(s.job, "BIGINT"))
        for table in ("staged_output", "enriched"):
            columns = con.execute(f"DESCRIBE {s.job.job}.{table}").fetchall()
            assert {c[0]: c[1] for c in columns}[name] == DUCKDB_TYPES[f.type]


@pytest.mark.parametrize("job", list(SPECS))
def test_the_document_states_every_input_rule_the_suite_enforces(job: str) -> None:
    s = SPECS[job]
    doc = _plain(render_markdown(s))
    described = {  # where two expectations share an id, the later says more (not blank...)
        e["meta"]["id"]: e["meta"]["description"]
        for e in expectations.compile_suite(s.job)["expectations"]
    }
    for rule_id, description in described.items():
        column = rule_id.split(".")[1]
        if column in s.job.source.columns:
            assert _plain(description) in _row(doc, column), rule_id


def test_the_document_states_input_bounds_and_freshness(tmp_path: Path) -> None:
    shutil.copy(SPEC_DIR / "platform.yaml", tmp_path)
    text = (SPEC_DIR / "support_triage.yaml").read_text()
    edited = text.replace("unique: true, min: 1,", "unique: true, min: 1, max: 99999,").replace(
        "created_at: {type: timestamp, required: true,",
        "created_at: {type: timestamp, required: true, max_age_hours: 36,",
    )
    assert edited.count("max: 99999") == edited.count("max_age_hours: 36") == 1
    (tmp_path / "support_triage.yaml").write_text(edited)
    doc = render_markdown(spec.load(tmp_path / "support_triage.yaml"))
    assert "ticket_id is between 1 and 99999" in _row(doc, "ticket_id")
    assert "the newest created_at is at most 36 hours old" in _row(doc, "created_at")


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ({"type": "integer", "enum": ["1", "2"]}, "enum needs type string, not type='integer'"),
        ({"type": "boolean", "max_length": 5}, "max_length needs type string"),
        ({"minimum": 0}, "minimum and maximum need type integer or number, not type='string'"),
        ({"type": "boolean", "maximum": 1}, "need type integer or number"),
        ({"type": "number", "minimum": 5, "maximum": 1}, "minimum=5 is greater than maximum=1"),
    ],
)
def test_a_limit_that_cannot_hold_is_a_spec_error(field: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        OutputField.model_validate({"description": "d", **field})


@pytest.mark.parametrize(
    ("field", "words"),
    [
        ({}, "any"),
        ({"enum": ["a", "b"], "max_length": 3}, "one of a, b; at most 3 characters"),
        ({"type": "integer", "minimum": 1, "maximum": 5}, "between 1 and 5"),
        ({"type": "number", "minimum": 0.5}, "at least 0.5"),
        ({"type": "number", "maximum": 100}, "at most 100"),
    ],
)
def test_limits_in_words(field: dict[str, Any], words: str) -> None:
    assert OutputField.model_validate({"description": "d", **field}).describe() == words
