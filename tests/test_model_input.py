"""Tests for the model-input stage at scale (``governance_pipeline.model_input``).

Large tables are redacted in chunks across worker processes. That must change nothing a run
can see: the same rows, the same redacted data and the same request hashes as one process,
and every hash equal to the one the LLM stage recomputes from the stored data (or the cache
would never hit). The no_pii scan must find what the redactor missed, or it proves nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from governance_pipeline import llm, model_input, spec, stages, store
from governance_pipeline.demo_data import generate_support_tickets
from governance_pipeline.endpoint import resolve_endpoint
from governance_pipeline.redaction import RedactionKeys, reidentify
from governance_pipeline.redaction.operators import Operator
from governance_pipeline.settings import Settings
from tests.conftest import SPEC_DIR

SPEC = spec.load(SPEC_DIR / "support_triage.yaml")
OPS = TypeAdapter(list[Operator])
ROWS = 240


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The demo batch built serially and in two spawned workers with small chunks."""
    db = tmp_path_factory.mktemp("mi") / "g.duckdb"
    mp = pytest.MonkeyPatch()
    mp.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    mp.setenv("OPENAI_API_KEY", "sk-test")
    endpoint = resolve_endpoint(Settings())
    out: dict = {"endpoint": endpoint}
    with store.connect(db) as con:
        generate_support_tickets(con, ROWS, seed=3)
        stages.validate_input(con, SPEC, "run-1", endpoint)
        for mode, workers, threshold in (("serial", "1", 10**9), ("parallel", "2", 0)):
            mp.setenv("GOVERNANCE_WORKERS", workers)
            mp.setattr(model_input, "PARALLEL_MIN_ROWS", threshold)
            mp.setattr(model_input, "CHUNK_ROWS", 50)
            figures = model_input.build(con, SPEC, endpoint, "run-1")
            rows = con.execute(
                "SELECT ticket_id, data, redactions, request_hash FROM "
                "support_triage.model_input ORDER BY ticket_id"
            ).fetchall()
            out[mode] = (figures, rows)
        out["validated"] = con.execute(
            "SELECT count(*) FROM support_triage.validated_input"
        ).fetchone()[0]
        out["scan"] = model_input.scan(con, SPEC)
        con.execute(
            "INSERT INTO support_triage.model_input (run_id, ticket_id, data) "
            "VALUES ('run-1', -1, '{\"body\": \"mail ann@example.com\"}')"
        )
        out["scan_leak"] = model_input.scan(con, SPEC)
    mp.undo()
    return out


def test_parallel_chunks_equal_one_process(built: dict) -> None:
    serial, parallel = built["serial"], built["parallel"]
    assert len(serial[1]) == built["validated"] > 0
    assert parallel == serial
    assert serial[0]["redactions"]["EMAIL"] > 0 and serial[0]["redactions"]["NAME"] > 0


def test_hashes_match_what_the_llm_stage_recomputes(built: dict) -> None:
    for _, data, _, request_hash in built["parallel"][1]:
        body = stages.request_body(SPEC, built["endpoint"], json.loads(data))
        assert llm.request_hash(body) == request_hash


def test_scan_proves_clean_and_catches_a_leak(built: dict) -> None:
    assert built["scan"] == {
        "rows_scanned": built["validated"],
        "rows_with_pii": 0,
        "by_entity": {},
        "independent": {},
    }
    leak = built["scan_leak"]
    assert leak["rows_with_pii"] == 1 and leak["by_entity"] == {"EMAIL": 1}
    assert leak["independent"] == {"EMAIL": 1}


def test_redactions_hold_counts_not_values(built: dict) -> None:
    for _, data, redactions, _ in built["serial"][1]:
        counts = json.loads(redactions)
        assert all(isinstance(v, int) for v in counts.values())
        assert "@" not in redactions and "@" not in data.replace("<", "")


def test_operators_from_the_spec_reach_the_stage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tokenised emails and masked cards in model_input; the vault gives the emails back."""
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("GOVERNANCE_TOKEN_KEY", "t" * 32)
    redaction = SPEC.job.redaction.model_copy(
        update={
            "operators": OPS.validate_python(
                [
                    {"type": "tokenize", "entities": ["EMAIL"]},
                    {"type": "mask", "entities": ["CREDIT_CARD"], "keep_last": 4},
                ]
            )
        }
    )
    job = SPEC.job.model_copy(update={"redaction": redaction})
    run_spec = SPEC.model_copy(update={"job": job})
    endpoint = resolve_endpoint(Settings())
    with store.connect(tmp_path / "g.duckdb") as con:
        generate_support_tickets(con, 80, seed=5)
        stages.validate_input(con, run_spec, "run-ops", endpoint)
        model_input.build(con, run_spec, endpoint, "run-ops")
        data = [d for (d,) in con.execute("SELECT data FROM support_triage.model_input").fetchall()]
        tokens = con.execute("SELECT count(*) FROM governance.token_vault").fetchone()[0]
        tokenised = next(d for d in data if "<EMAIL_T_" in d)
        restored = reidentify(con, tokenised, purpose="test", actor="t", keys=RedactionKeys())
    assert tokens > 0
    assert any("**** **** **** " in d or "****-****-****-" in d for d in data)
    assert not any("@" in d or "<CREDIT_CARD_" in d or "<EMAIL_1>" in d for d in data)
    assert "@" in restored and "<EMAIL_T_" not in restored
