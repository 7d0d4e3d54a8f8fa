"""Spec files that are hostile or wrong in ways a run would find too late (issue 10).

Every command reads the whole spec folder, so one file must never be able to stall it: a
YAML bomb (a few hundred bytes whose aliases expand to gigabytes), nesting deep enough to
exhaust Python's stack, a file too big to be a spec. Each is one `SpecError` naming the file,
found in well under a second.

A spec that would fail mid-run must fail when it loads instead, before a model call is paid
for: a regular expression that does not compile, a custom rule that does not import, SQL that
does not parse, a table name that is a query, a column name the stages' SQL cannot hold. So
must what YAML or the folder would otherwise pass over silently: a repeated key (YAML keeps the
last), an empty file, `extends` reaching out of the folder, two files declaring one job.

And one broken file must not stop the other jobs: Dagster's definitions and `govern run` skip
it with a warning, while `govern validate` reports every broken file, one line each.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from governance_pipeline import spec, store
from governance_pipeline.cli import app
from governance_pipeline.errors import SpecError
from governance_pipeline.spec.identifiers import PIPELINE_COLUMNS
from governance_pipeline.spec.yaml_lines import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    load_with_lines,
)
from tests.fake_openai import FakeOpenAI
from tests.spec.test_spec import JOB, PLATFORM, SPEC_DIR, Edit, line_containing, make_specs

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "300"})
    return result.exit_code, result.output


def spec_error(path: Path) -> SpecError:
    with pytest.raises(SpecError) as info:
        spec.load(path)
    return info.value


def yaml_error(path: Path) -> SpecError:
    with pytest.raises(SpecError) as info:
        load_with_lines(path)
    return info.value


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """The classic bomb: each anchor is `width` aliases of the previous one (9^9 leaves)."""
    lines = ['lol0: &lol0 "lol"']
    for i in range(1, levels + 1):
        lines.append(f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def nested(opening: str, closing: str, depth: int, inner: str = "1") -> str:
    return opening * depth + inner + closing * depth


# --- defect 7: a file cannot stall the loader -------------------------------------------------


def test_a_yaml_bomb_is_one_spec_error_found_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text("job: bomb\n" + billion_laughs())
    started = time.monotonic()
    err = spec_error(path)
    assert time.monotonic() - started < 5
    assert err.file == path
    assert "aliases" in err.detail and "expand" in err.detail
    anchors = range(line_containing(path, "lol1:"), line_containing(path, "lol9:") + 1)
    assert err.line in anchors  # the anchor whose expansion crosses the bound


def test_a_yaml_bomb_in_the_folder_is_read_without_expanding_it(tmp_path: Path) -> None:
    """`scan`/`discover` look at every file: they read top-level keys from parser events."""
    make_specs(tmp_path)
    (tmp_path / "bomb.yaml").write_text("job: bomb\n" + billion_laughs())
    started = time.monotonic()
    folder = spec.scan(tmp_path)
    assert time.monotonic() - started < 5
    assert folder.jobs == {tmp_path / "bomb.yaml": "bomb", tmp_path / JOB: "support_triage"}
    assert folder.bases == [tmp_path / PLATFORM] and folder.errors == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("x: " + nested("[", "]", 20_000), id="20,000 nested sequences"),
        pytest.param("x: " + nested("{a: ", "}", 3_000), id="3,000 nested mappings"),
        pytest.param("x: " + nested("[", "]", MAX_DEPTH, ""), id="one level too deep"),
    ],
)
def test_nesting_too_deep_is_a_spec_error_not_a_recursion_error(tmp_path: Path, body: str) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("job: deep\n" + body + "\n")
    err = spec_error(path)
    assert err.file == path and err.line == line_containing(path, "x:")
    assert f"deeper than {MAX_DEPTH} levels" in err.detail


def test_nesting_up_to_the_limit_loads(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("x: " + nested("[", "]", MAX_DEPTH - 1, "") + "\n")  # with the root mapping
    data, _ = load_with_lines(path)
    depth, value = 0, data["x"]
    while isinstance(value, list):
        depth, value = depth + 1, value[0] if value else None
    assert depth == MAX_DEPTH - 1


def test_depth_counts_aliases_expanded(tmp_path: Path) -> None:
    """Each anchor stays shallow; the alias puts one inside the other, too deep for a spec."""
    half = MAX_DEPTH // 2 + 1
    path = tmp_path / "aliases.yaml"
    path.write_text(f"a: &a {nested('[', ']', half, '[]')}\nb: {nested('[', ']', half, '*a')}\n")
    err = yaml_error(path)
    assert f"deeper than {MAX_DEPTH} levels" in err.detail
    assert err.line in (1, 2)


def test_aliases_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "aliases.yaml"
    path.write_text(f"a: &x 1\nb: [{', '.join(['*x'] * MAX_ALIASES)}]\n")
    data, _ = load_with_lines(path)
    assert len(data["b"]) == MAX_ALIASES
    path.write_text(f"a: &x 1\nb: [{', '.join(['*x'] * (MAX_ALIASES + 1))}]\n")
    err = yaml_error(path)
    assert f"more than {MAX_ALIASES:,} aliases" in err.detail and err.line == 2


def test_an_alias_inside_its_own_anchor_is_a_spec_error(tmp_path: Path) -> None:
    path = tmp_path / "cycle.yaml"
    path.write_text("name: x\nloop: &a [1, *a]\n")
    err = yaml_error(path)
    assert "contains it" in err.detail and err.line == 2


def test_a_file_over_the_size_limit_is_refused_naming_it(tmp_path: Path) -> None:
    job = make_specs(tmp_path)
    text = job.read_text()
    padding = MAX_FILE_BYTES - len(text.encode())
    job.write_text(text + "#" * (padding - 1) + "\n")  # exactly the limit: loads
    assert spec.load(job).name == "support_triage"
    job.write_text(text + "#" * padding + "\n")
    err = spec_error(job)
    assert err.file == job and err.line is None
    assert f"larger than {MAX_FILE_BYTES:,} bytes" in err.detail
    with pytest.raises(SpecError, match="larger than"):
        spec.discover(tmp_path)


# --- defect 8: what YAML would pass over silently ---------------------------------------------


def test_a_repeated_key_is_an_error_naming_both_lines(tmp_path: Path) -> None:
    job = make_specs(
        tmp_path, [(JOB, "  temperature: 0\n", "  temperature: 0\n  temperature: 1\n")]
    )
    err = spec_error(job)
    first = line_containing(job, "temperature: 0")
    assert (err.field, err.line) == ("model.temperature", first + 1)
    assert f"duplicate key 'temperature': already at line {first}" in str(err)


def test_a_repeated_key_in_a_flow_mapping_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text("name: x\ncheck: {type: enum, type: regex}\n")
    err = yaml_error(path)
    assert (err.field, err.line) == ("check.type", 2)


def test_merge_keys_are_not_repeated_keys(tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  x: 3\n")
    data, lines = load_with_lines(path)
    assert data["other"] == {"x": 3, "y": 2}
    assert lines[("other", "x")] == 4


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("", "the file is empty"),
        ("# only a comment\n", "the file is empty"),
        ("---\n", "its document is empty"),
        ("- a\n- list\n", "the file holds a sequence"),
        ("just text\n", "the file holds a single value"),
    ],
)
def test_an_empty_or_non_mapping_file_in_the_folder_is_an_error(
    tmp_path: Path, text: str, what: str
) -> None:
    make_specs(tmp_path)
    (tmp_path / "notes.yaml").write_text(text)
    with pytest.raises(SpecError) as info:
        spec.discover(tmp_path)
    assert info.value.file == tmp_path / "notes.yaml"
    assert what in info.value.detail and "must be a YAML mapping" in info.value.detail
    assert spec.scan(tmp_path).bases == [tmp_path / PLATFORM]  # a mapping without job: is a base


def test_two_files_declaring_one_job_is_an_error(tmp_path: Path) -> None:
    job = make_specs(tmp_path)
    copy = tmp_path / "triage_copy.yaml"
    copy.write_text(job.read_text())
    with pytest.raises(SpecError) as info:
        spec.discover(tmp_path)
    assert (info.value.file, info.value.field) == (copy, "job")
    assert info.value.line == line_containing(copy, "job: support_triage")
    assert JOB in info.value.detail


def test_extends_may_not_leave_the_spec_folder(tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    job = make_specs(folder, [(JOB, "extends: [platform.yaml]", "extends: [../platform.yaml]")])
    (tmp_path / PLATFORM).write_text((SPEC_DIR / PLATFORM).read_text())  # it exists, outside
    err = spec_error(job)
    assert (err.field, err.line) == ("extends", line_containing(job, "extends:"))
    assert "outside the spec folder" in err.detail
    job.write_text(job.read_text().replace("../platform.yaml", str(tmp_path / PLATFORM)))
    assert "outside the spec folder" in spec_error(job).detail


def test_extends_may_go_up_from_a_subfolder_within_the_folder(tmp_path: Path) -> None:
    job = make_specs(tmp_path, [(JOB, "extends: [platform.yaml]", "extends: [teams/t.yaml]")])
    (tmp_path / "teams").mkdir()
    (tmp_path / "teams" / "t.yaml").write_text("name: Team\nextends: [../platform.yaml]\n")
    assert spec.load(job).spec_hash == spec.load(SPEC_DIR / JOB).spec_hash


# --- defect 8: compiled at load time, not found by the run ------------------------------------


def policy(check: str) -> str:
    """The job's `policies:` line with a first policy of this check."""
    return (
        "policies:\n  - id: load-time\n    level: developer\n"
        f"    description: Found when the spec loads.\n    check: {check}\n"
    )


REGEX_POLICY = policy('{type: regex, field: summary, pattern: "(unclosed"}')

# id, edits, line anchor, field, message fragment
LOAD_TIME_CASES: list[tuple[str, list[Edit], str, str, str]] = [
    ("output regex", [(JOB, "policies:\n", REGEX_POLICY)], "(unclosed", "", "(unclosed"),
    (
        "input pattern",
        [(JOB, "subject: {max_length: 200,", 'subject: {pattern: "[A-Z", max_length: 200,')],
        'pattern: "[A-Z"',
        "source.columns.subject.pattern",
        "is not a valid regular expression",
    ),
    (
        "table with a statement",
        [(JOB, "table: raw.support_tickets", "table: raw.support_tickets; DROP TABLE x")],
        "table: raw",
        "source.table",
        "is not a plain SQL name",
    ),
    (
        "table as a subquery",
        [(JOB, "table: raw.support_tickets", 'table: "(SELECT * FROM raw.support_tickets)"')],
        "table: ",
        "source.table",
        "is not a plain SQL name",
    ),
    (
        "table without a schema",
        [(JOB, "table: raw.support_tickets", "table: support_tickets")],
        "table: ",
        "source.table",
        "must be schema.table",
    ),
    (
        "table named by a keyword",
        [(JOB, "table: raw.support_tickets", "table: raw.select")],
        "table: ",
        "source.table",
        "keyword",
    ),
    (
        "key named by a keyword",
        [(JOB, "key: ticket_id", "key: order"), (JOB, "    ticket_id: {", "    order: {")],
        "key: order",
        "source.key",
        "keyword",
    ),
    (
        "job named by a keyword",
        [(JOB, "job: support_triage", "job: select")],
        "job:",
        "job",
        "keyword",
    ),
    (
        "column name with a double quote",
        [(JOB, "    subject: {", "    'sub\"ject': {max_length: 9}\n    subject: {")],
        'sub"ject',
        'source.columns.sub"ject',
        "double quote",
    ),
    (
        "output field named like a pipeline column",
        [(JOB, "\noutput:\n", "\noutput:\n  run_id: {description: Clashes.}\n")],
        "run_id:",
        "output.run_id",
        "a column the pipeline adds",
    ),
    (
        "output field named like the key",
        [(JOB, "\noutput:\n", "\noutput:\n  Ticket_ID: {description: Clashes.}\n")],
        "Ticket_ID:",
        "output.Ticket_ID",
        "the source key",
    ),
    (
        "two output fields that differ in case",
        [(JOB, "\noutput:\n", "\noutput:\n  Summary: {description: Clashes.}\n")],
        "  summary:",
        "output.summary",
        "already an output field",
    ),
    (
        "SQL rule that does not parse",
        [(JOB, "policies:\n", policy('{type: sql, query: "SELEC row_key FROM output"}'))],
        "SELEC row_key",
        "",
        "not valid SQL",
    ),
    (
        "SQL rule with two statements",
        [
            (
                JOB,
                "policies:\n",
                policy('{type: sql, query: "SELECT row_key FROM output; DROP TABLE output"}'),
            )
        ],
        "DROP TABLE",
        "",
        "one SELECT",
    ),
    (
        "python rule with a relative import path",
        [(JOB, "policies:\n", policy('{type: python, function: ".custom_rules:team_exists"}'))],
        ".custom_rules",
        "",
        "cannot import module '.custom_rules'",
    ),
]


@pytest.mark.parametrize(
    ("edits", "anchor", "field", "fragment"),
    [pytest.param(*case[1:], id=case[0]) for case in LOAD_TIME_CASES],
)
def test_what_a_run_would_trip_on_fails_the_load(
    tmp_path: Path, edits: list[Edit], anchor: str, field: str, fragment: str
) -> None:
    job = make_specs(tmp_path, edits)
    err = spec_error(job)
    assert err.file == job
    assert err.line == line_containing(job, anchor)
    if field:
        assert err.field == field
    else:  # a rule's own field: the discriminated union's tag is not part of the path
        assert err.field is not None and err.field.startswith("policies.0.check.")
    assert fragment in str(err)


def test_a_custom_rule_whose_module_raises_on_import_is_a_spec_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "rules_that_break_on_import.py").write_text("raise RuntimeError('no config')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    check = policy('{type: pydantic, model: "rules_that_break_on_import:Model"}')
    job = make_specs(tmp_path / "specs", [(JOB, "policies:\n", check)])
    err = spec_error(job)
    assert err.field == "policies.0.check.model"
    assert err.line == line_containing(job, "rules_that_break_on_import")
    assert "RuntimeError: no config" in err.detail


def test_pipeline_columns_are_the_ones_the_store_adds() -> None:
    """The names an output field may not take are what `enriched` holds beside the outputs."""
    job = spec.load(SPEC_DIR / JOB).job
    con = duckdb.connect()
    try:
        con.execute(store.job_ddl(job, "BIGINT"))
        columns = {r[0] for r in con.execute(f"DESCRIBE {job.job}.enriched").fetchall()}
    finally:
        con.close()
    added = columns - set(job.output) - {job.source.key}
    assert added == set(PIPELINE_COLUMNS) - {"row_key"}  # row_key: the SQL rules' table


def test_run_refuses_a_spec_that_would_fail_before_any_model_call(
    demo_db: Path, endpoint_env: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = make_specs(tmp_path / "specs", [(JOB, "policies:\n", REGEX_POLICY)])
    monkeypatch.setenv("GOVERNANCE_SPEC_DIR", str(job.parent))
    code, out = invoke("run", "support_triage")
    assert code == 1
    assert f"{job}:{line_containing(job, '(unclosed')}" in out and "pattern" in out
    assert endpoint_env.calls == 0


# --- one broken file does not stop the others ---------------------------------------------------


def _folder_with_broken_files(folder: Path) -> dict[str, str]:
    """The real job and platform, and four broken files; returns file -> expected fragment."""
    make_specs(folder)
    broken = {
        "bomb.yaml": ("job: bomb\n" + billion_laughs(), "aliases"),
        "deep.yaml": ("job: deep\nx: " + nested("[", "]", 20_000) + "\n", "deeper than"),
        "empty.yaml": ("", "the file is empty"),
        "vip_triage.yaml": (
            (SPEC_DIR / JOB)
            .read_text()
            .replace("job: support_triage", "job: vip_triage")
            .replace("  table: raw.support_tickets", "  tabel: raw.support_tickets"),
            "unknown field 'tabel'",
        ),
    }
    for name, (text, _) in broken.items():
        (folder / name).write_text(text)
    return {name: fragment for name, (_, fragment) in broken.items()}


def test_validate_reports_every_broken_file_in_one_line_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = _folder_with_broken_files(tmp_path)
    monkeypatch.setenv("GOVERNANCE_SPEC_DIR", str(tmp_path))
    started = time.monotonic()
    code, out = invoke("validate")
    assert time.monotonic() - started < 20
    assert code == 1
    assert "Traceback" not in out
    lines = [line for line in out.splitlines() if line.strip()]
    (ok,) = [line for line in lines if line.startswith("ok  ")]
    assert ok.startswith("ok  support_triage ")
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == len(broken) == len(lines) - 1
    for name, fragment in broken.items():
        (line,) = [e for e in errors if f"{tmp_path / name}" in e]
        assert fragment in line


def test_definitions_skip_a_broken_spec_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from governance_pipeline.dagster.definitions import definitions_for, load_specs

    broken = _folder_with_broken_files(tmp_path)
    with caplog.at_level(logging.WARNING, logger="governance_pipeline.dagster.definitions"):
        specs = load_specs(tmp_path)
    assert [s.name for s in specs] == ["support_triage"]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for name, fragment in broken.items():
        (message,) = [m for m in warned if f"spec {name} " in m]
        assert f"{tmp_path / name}" in message and fragment in message
    defs = definitions_for(specs, str(tmp_path / "db.duckdb"))
    assert defs.resolve_job_def("support_triage_job") is not None


def test_run_of_a_job_is_not_stopped_by_another_broken_spec(
    demo_db: Path, endpoint_env: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "specs"
    _folder_with_broken_files(folder)
    monkeypatch.setenv("GOVERNANCE_SPEC_DIR", str(folder))
    code, out = invoke("run", "support_triage")
    assert code == 0, out
    assert "rows in: 40" in out and endpoint_env.calls > 0
    code, out = invoke("run", "vip_triage")  # the broken job itself: its error, not "unknown"
    assert code == 1
    assert f"{folder / 'vip_triage.yaml'}:" in out and "unknown field 'tabel'" in out
