"""`govern` as a person meets it: each command's output and exit code, and bad input reported
in one line that names the file and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

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


@pytest.mark.parametrize("command", [["docs", "support_triage"], ["eval", "support_triage"]])
def test_commands_not_built_say_so(command: list[str]) -> None:
    code, out = invoke(*command)
    assert code == 2 and "not built yet" in out


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
