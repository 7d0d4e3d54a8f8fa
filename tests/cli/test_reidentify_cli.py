"""`govern reidentify` as a person meets it: tokens in, values out, for a stated purpose, with
every use logged in the store; refusals are one line and a non-zero exit, and logged too."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from governance_pipeline import store
from governance_pipeline.cli import app
from governance_pipeline.inputs.redaction import RedactionKeys, Redactor
from governance_pipeline.inputs.redaction.operators import TokenizeOp
from governance_pipeline.inputs.redaction.vault import store_tokens

KEY = "k" * 32


@pytest.fixture
def tokenised(env: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("GOVERNANCE_TOKEN_KEY", KEY)
    r = Redactor(operators=[TokenizeOp()], keys=RedactionKeys(token_key=SecretStr(KEY)))
    text, _ = r.redact_text("Customer ann@example.com, SSN 123-45-6789")
    assert r.tokenizer is not None and text is not None
    with store.connect(env) as con:
        store_tokens(con, r.tokenizer.pending)
    return text


def _uses(db: Path) -> list[tuple]:
    with store.connect(db, read_only=True) as con:
        return con.execute(
            "SELECT actor, purpose, restored, outcome FROM governance.reidentification"
        ).fetchall()


def test_reidentify_prints_values_and_logs(env: Path, tokenised: str) -> None:
    result = CliRunner().invoke(
        app, ["reidentify", tokenised, "--purpose", "chargeback 7", "--actor", "ann"]
    )
    assert result.exit_code == 0, result.output
    assert result.output == "Customer ann@example.com, SSN 123-45-6789\n"
    assert _uses(env) == [("ann", "chargeback 7", 2, "restored")]


def test_reidentify_without_purpose_is_refused_and_logged(env: Path, tokenised: str) -> None:
    result = CliRunner().invoke(app, ["reidentify", tokenised, "--actor", "eve"])
    assert result.exit_code == 1
    assert "needs a purpose" in result.output
    assert "ann@example.com" not in result.output
    assert _uses(env) == [("eve", "", 0, "refused: no purpose")]
