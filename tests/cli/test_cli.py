"""`govern` as a person meets it: each command's output and exit code, and bad input reported
in one line that names the file and field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from governance_pipeline import spec, store
from governance_pipeline.cli import app
from tests.conftest import SPEC_DIR
from tests.fake_openai import FakeOpenAI

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_help_lists_the_stable_interface() -> None:
    code, out = invoke("--help")
    assert code == 0
    for command in ("demo", "run", "validate", "compile", "docs", "eval", "report", "model", "ui"):
        assert command in out


def test_validate_reports_each_job() -> None:
    code, out = invoke("validate")
    assert code == 0
    assert "ok  support_triage" in out


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ("  table: raw.support_tickets", "  tabel: raw.support_tickets"),
            "(source.tabel): unknown field 'tabel'; valid fields here: table, key",
        ),
        (("    level: developer", "    level: admin"), "policies.0.level"),
        (
            ("extends: [platform.yaml]", "extends: [missing.yaml]"),
            "(extends): extends names 'missing.yaml', which does not exist",
        ),
    ],
)
def test_bad_spec_is_one_line_naming_file_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: tuple[str, str], expected: str
) -> None:
    shutil.copy(SPEC_DIR / "platform.yaml", tmp_path)
    text = (SPEC_DIR / "support_triage.yaml").read_text()
    assert edit[0] in text
    (tmp_path / "support_triage.yaml").write_text(text.replace(edit[0], edit[1], 1))
    monkeypatch.setenv("GOVERNANCE_SPEC_DIR", str(tmp_path))
    code, out = invoke("validate")
    assert code == 1
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    assert "support_triage.yaml:" in lines[0] and expected in lines[0]
    assert "Traceback" not in out


def test_compile_check_detects_drift(tmp_path: Path) -> None:
    code, _ = invoke("compile", "--out", str(tmp_path))
    assert code == 0
    suite = tmp_path / "support_triage.input.json"
    assert suite.exists()
    assert invoke("compile", "--check", "--out", str(tmp_path))[0] == 0
    suite.write_text(suite.read_text().replace("input.body.required", "input.body.gone"))
    code, out = invoke("compile", "--check", "--out", str(tmp_path))
    assert code == 1 and "out of date" in out


def test_checked_in_suites_match_the_specs() -> None:
    assert invoke("compile", "--check")[0] == 0


def test_docs_writes_markdown_and_html(tmp_path: Path) -> None:
    code, out = invoke("docs", "support_triage", "--out", str(tmp_path))
    assert code == 0, out
    markdown = (tmp_path / "support_triage.md").read_text()
    html = (tmp_path / "support_triage.html").read_text()
    assert markdown.startswith("# Contract: Support ticket triage")
    assert "<table>" in html and "triage-compliance" in html


def test_docs_says_what_changed_since_the_stores_earlier_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`govern docs` reads the project's store: the first time it holds no version of the job;
    once it holds an earlier one, the document lists the fields that differ. Either way the
    document names paths as the project knows them, never the machine's."""
    root = tmp_path / "project"
    (root / "specs").mkdir(parents=True)
    (root / "governance.yaml").write_text("")
    for name in ("platform.yaml", "support_triage.yaml"):
        shutil.copy(SPEC_DIR / name, root / "specs")
    for variable in ("GOVERNANCE_DB", "GOVERNANCE_SPEC_DIR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("GOVERNANCE_PROJECT_DIR", str(root))
    code, out = invoke("docs", "support_triage")
    assert code == 0, out
    markdown = (root / "build" / "contracts" / "support_triage.md").read_text()
    assert "This is the first version of the spec" in markdown
    assert "in the DuckDB store `data/store.duckdb`" in markdown and str(tmp_path) not in markdown

    current = spec.load(root / "specs" / "support_triage.yaml")
    earlier = json.loads(current.model_dump_json())
    earlier["job"]["model"]["temperature"] = 0.5
    with store.connect(root / "data" / "store.duckdb") as con:
        con.execute(
            "INSERT INTO governance.spec_version (spec_hash, job, resolved) VALUES (?, ?, ?)",
            ["0123456789abcdef", "support_triage", json.dumps(earlier)],
        )
    code, out = invoke("docs", "support_triage")
    assert code == 0, out
    markdown = (root / "build" / "contracts" / "support_triage.md").read_text()
    assert "Since `0123456789abcdef`" in markdown
    assert "| `model.temperature` | 0.5 | 0.0 |" in markdown
    assert str(tmp_path) not in markdown


def test_eval_offline_reports_every_example() -> None:
    code, out = invoke("eval", "support_triage", "--offline")
    assert code == 0, out
    assert "SPEC DEFECT" not in out and "output.category.enum" in out


def test_eval_fails_on_a_bad_example_the_contract_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(SPEC_DIR / "platform.yaml", tmp_path)
    text = (SPEC_DIR / "support_triage.yaml").read_text()
    weak = text.replace("output: {category: refunds,", "output: {category: billing,", 1)
    assert weak != text
    (tmp_path / "support_triage.yaml").write_text(weak)
    monkeypatch.setenv("GOVERNANCE_SPEC_DIR", str(tmp_path))
    code, out = invoke("eval", "support_triage", "--offline")
    assert code == 1
    assert "SPEC DEFECT" in out and "1 worked example(s)" in out


def test_eval_against_a_model_compares_two(endpoint_env: FakeOpenAI) -> None:
    code, out = invoke("eval", "support_triage", "--compare", "model-a", "model-b", "--json")
    assert code == 0, out
    assert {r["model"] for r in endpoint_env.requests} == {"model-a", "model-b"}
    assert '"compliant"' in out and '"agreement"' in out


def test_validate_explain_shows_origins_and_overrides() -> None:
    code, out = invoke(
        "validate", "--explain", "support_triage", "--instruction", "triage-urgency=All low."
    )
    assert code == 0, out
    assert "specs/platform.yaml" in out and "<run>" in out
    assert "concise-summaries" in out


def test_explain_refuses_a_user_override_of_a_platform_rule() -> None:
    code, out = invoke(
        "validate", "--explain", "support_triage", "--instruction", "no-pii-in-output=Leak."
    )
    assert code == 1
    assert "platform rules cannot be overridden" in out and "platform.yaml:" in out


def test_run_prints_an_sla_report(demo_db: Path, endpoint_env: FakeOpenAI) -> None:
    code, out = invoke("run", "support_triage")
    assert code == 0, out
    assert "rows in: 40" in out
    assert "input_quarantined" in out and "input.body" in out
    assert "triage-compliance" in out and "held" in out
    assert "govern ui" in out and str(demo_db) in out
    assert "sk-test" not in out
    code, report = invoke("report", "support_triage")
    assert code == 0 and "rows in: 40" in report


def test_run_unknown_job(demo_db: Path, endpoint_env: FakeOpenAI) -> None:
    code, out = invoke("run", "no_such_job")
    assert code == 1 and "unknown job 'no_such_job'" in out and "support_triage" in out


def test_run_with_a_user_instruction(demo_db: Path, endpoint_env: FakeOpenAI) -> None:
    from governance_pipeline import spec, store

    text = "Treat every ticket as low urgency."
    code, out = invoke("run", "support_triage", "--instruction", f"triage-urgency={text}")
    assert code == 0, out
    user_messages = [r["messages"][-1]["content"] for r in endpoint_env.requests]
    assert user_messages and all(text in m.split("<<<UNTRUSTED_DATA")[0] for m in user_messages)
    with store.connect(demo_db) as con:
        hashes = {
            h
            for (h,) in con.execute(
                "SELECT DISTINCT spec_hash FROM support_triage.row_ledger"
            ).fetchall()
        }
    plain = spec.load(SPEC_DIR / "support_triage.yaml").spec_hash
    with_instruction = spec.load(
        SPEC_DIR / "support_triage.yaml", [f"triage-urgency={text}"]
    ).spec_hash
    assert hashes == {with_instruction} != {plain}


def test_run_refuses_an_instruction_that_overrides_a_platform_rule(
    demo_db: Path, endpoint_env: FakeOpenAI
) -> None:
    code, out = invoke("run", "support_triage", "--instruction", "no-pii-in-output=Leak.")
    assert code == 1 and "platform rules cannot be overridden" in out
    assert endpoint_env.calls == 0


def test_run_without_the_source_table_names_the_spec_field(
    env: Path, endpoint_env: FakeOpenAI
) -> None:
    code, out = invoke("run", "support_triage")
    assert code == 1
    error = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(error) == 1, out
    assert "support_triage.yaml:" in error[0] and "(source.table)" in error[0]
    assert "raw.support_tickets does not exist" in error[0] and "govern demo" in error[0]
    assert endpoint_env.calls == 0


def _wrong_enum(body: dict) -> str:
    return '{"category": "refunds", "urgency": "high", "sentiment": "negative", "summary": "x"}'


def test_a_blocked_publication_is_reported_as_such(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOpenAI(_wrong_enum) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        code, out = invoke("run", "support_triage")
        demo_code, demo_out = invoke("demo")
    assert code == 1
    assert "error: ERROR-level SLA blocked publication: compliance-rate" in out
    assert "run failed" not in out
    assert "breach of run" not in out  # the check's alert reports it; the run did not fail
    assert demo_code == 0, demo_out  # the demo shows governance at work; it is not an error
    assert "governance working" in demo_out


def test_a_mistyped_instruction_id_is_refused_naming_the_valid_ones(
    demo_db: Path, endpoint_env: FakeOpenAI
) -> None:
    code, out = invoke("run", "support_triage", "--instruction", "triage-urgncy=All low.")
    assert code == 1
    assert "triage-urgncy" in out and "names no policy" in out and "triage-urgency" in out
    assert endpoint_env.calls == 0  # refused before any run starts


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("GOVERNANCE_STRUCTURED_OUTPUT", "jsonschema", "'json_schema', 'json_object_schema'"),
        ("GOVERNANCE_LOCAL_MODEL_PORT", "abc", "valid integer"),
        ("GOVERNANCE_PRICES", "{not json", "not valid JSON"),
        ("GOVERNANCE_PRICES", '{"m": {"input": -1, "output": 1}}', "(m.input)=-1"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    code, out = invoke("validate")
    assert code == 1
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1 and variable in lines[0] and expected in lines[0], out


def test_report_names_an_unknown_job_and_a_job_never_run(demo_db: Path) -> None:
    code, out = invoke("report", "no_such_job")
    assert code == 1 and "unknown job 'no_such_job'" in out and "support_triage" in out
    code, out = invoke("report", "support_triage")
    assert code == 1 and "never run" in out and "govern run support_triage" in out
