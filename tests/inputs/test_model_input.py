"""Tests for the model-input stage at scale (``governance_pipeline.inputs.model_input``).

Large tables are redacted in chunks across worker processes. That must change nothing a run
can see: the same rows, the same redacted data and the same request hashes as one process,
and every hash equal to the one the LLM stage recomputes from the stored data (or the cache
would never hit). The no_pii scan must find what the redactor missed, or it proves nothing.

It must find it with a detector of its own: given a redactor that misses phone numbers, the
independent check holds those rows back before any call (quarantined with the reason, or
re-redacted), while the ledger still gives every row of the batch one disposition.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from governance_pipeline import llm, spec, store
from governance_pipeline.demo.tickets import generate_support_tickets
from governance_pipeline.inputs import model_input, stages
from governance_pipeline.inputs.redaction import RedactionKeys, detectors, reidentify
from governance_pipeline.inputs.redaction.operators import Operator
from governance_pipeline.inputs.redaction.phones import DEFAULT_PHONE_REGIONS, find_phones
from governance_pipeline.llm import prompts
from governance_pipeline.llm.endpoint import resolve_endpoint
from governance_pipeline.outputs import outcomes
from governance_pipeline.settings import Settings
from governance_pipeline.spec import ResolvedSpec
from tests.conftest import SPEC_DIR, triage
from tests.fake_openai import FakeOpenAI
from tests.stage_helpers import endpoint_for, run_stage, triage_spec, with_job

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
        out["scan"] = model_input.scan(con, SPEC, "run-1")
        con.execute(
            "INSERT INTO support_triage.model_input (run_id, ticket_id, data) "
            "VALUES ('run-1', -1, '{\"body\": \"mail ann@example.com\"}')"
        )
        out["scan_leak"] = model_input.scan(con, SPEC, "run-1")
    mp.undo()
    return out


def test_parallel_chunks_equal_one_process(built: dict) -> None:
    serial, parallel = built["serial"], built["parallel"]
    assert len(serial[1]) == built["validated"] > 0
    assert parallel == serial
    assert serial[0]["redactions"]["EMAIL"] > 0 and serial[0]["redactions"]["NAME"] > 0


def test_hashes_match_what_the_llm_stage_recomputes(built: dict) -> None:
    for _, data, _, request_hash in built["parallel"][1]:
        body = prompts.RequestBuilder(SPEC, built["endpoint"]).body(json.loads(data))
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


# --- the independent check: a miss of the redactor is caught before any call -------------------


def _missing_phones(text: str, regions: tuple[str, ...], taken: list) -> Iterator:
    """A detector set that misses every phone number."""
    return iter(())


def _run_with(demo_db: Path, spec: ResolvedSpec, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Validate, build model inputs (in this process, where the patches hold), scan, call a
    fake model and write the ledger; what each step saw."""
    monkeypatch.setattr(model_input, "PARALLEL_MIN_ROWS", 10**9)
    with FakeOpenAI(triage) as server:
        endpoint = endpoint_for(server.base_url)
        with store.connect(demo_db) as con:
            stages.validate_input(con, spec, "run-1", endpoint)
            built = stages.build_model_input(con, spec, endpoint, "run-1")
            scanned = model_input.scan(con, spec, "run-1")
        called = run_stage(demo_db, spec, endpoint, "run-1")
        sent = json.dumps(server.requests)
    with store.connect(demo_db) as con:
        outcomes.stage(con, spec, "run-1")
        ledger = outcomes.write_ledger(con, spec, "run-1")
        held = con.execute(
            "SELECT l.ticket_id, l.reason, r.body FROM support_triage.row_ledger l "
            "JOIN raw.support_tickets r USING (ticket_id) WHERE l.disposition = "
            "'input_quarantined' AND l.reason LIKE 'pii.independent_check:%' ORDER BY 1"
        ).fetchall()
        data = [d for (d,) in con.execute("SELECT data FROM support_triage.model_input").fetchall()]
        calls = con.execute("SELECT ticket_id FROM support_triage.llm_call").fetchall()
    calls = {k for (k,) in calls}
    return {"built": built, "scanned": scanned, "called": called, "sent": sent,
            "ledger": ledger, "held": held, "data": data, "calls": calls}  # fmt: skip


def test_a_phone_the_redactor_misses_is_quarantined_before_any_call(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(detectors, "_phone", _missing_phones)
    seen = _run_with(demo_db, triage_spec(), monkeypatch)
    held = seen["held"]
    assert held and seen["built"]["independent_check_quarantined"] == len(held)
    assert seen["built"]["independent_check_by_entity"] == {"PHONE": len(held)}
    for key, reason, body in held:
        assert reason == "pii.independent_check: phone-shaped digits in body"
        phones = [body[a:b] for a, b in find_phones(body, DEFAULT_PHONE_REGIONS)]
        assert phones and not any(p in seen["sent"] for p in phones)  # never sent
        assert key not in seen["calls"]  # never called
    assert seen["scanned"]["rows_with_pii"] == 0  # what model_input holds is clean
    # every row of the batch still has exactly one disposition
    assert seen["ledger"]["rows"] == 40 and "unprocessed" not in seen["ledger"]["by_disposition"]
    assert seen["ledger"]["by_disposition"]["input_quarantined"] == 4 + len(held)


def test_in_redact_mode_what_the_check_finds_becomes_pii_placeholders(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(detectors, "_phone", _missing_phones)
    redaction = SPEC.job.redaction.model_copy(update={"independent_check": "redact"})
    seen = _run_with(demo_db, with_job(triage_spec(), redaction=redaction), monkeypatch)
    assert seen["held"] == [] and seen["built"]["independent_check_quarantined"] == 0
    flagged = seen["built"]["independent_check_by_entity"]["PHONE"]
    assert sum("<PII_1>" in d for d in seen["data"]) == flagged > 0
    assert seen["built"]["redactions"]["PII"] >= flagged
    assert seen["scanned"]["rows_with_pii"] == 0
    assert seen["ledger"]["by_disposition"]["input_quarantined"] == 4


@pytest.mark.parametrize(("regions", "held"), [(["DE"], 0), (["US"], 1)])
def test_the_specs_phone_regions_reach_the_stage(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch, regions: list[str], held: int
) -> None:
    """A bare German number, without a phone word: the redactor reads it only when DE is
    expected; otherwise the independent check holds the row back."""
    with store.connect(demo_db) as con:
        key = con.execute(
            "SELECT min(ticket_id) FROM raw.support_tickets WHERE body NOT LIKE '%@%' "
            "AND length(body) < 300 AND channel = 'email' AND created_at LIKE '2026-%'"
        ).fetchone()[0]
        con.execute(
            "UPDATE raw.support_tickets SET body = body || ' Kundennr. 030901820.' "
            "WHERE ticket_id = ?",
            [key],
        )
    redaction = SPEC.job.redaction.model_copy(update={"phone_regions": regions})
    seen = _run_with(demo_db, with_job(triage_spec(), redaction=redaction), monkeypatch)
    assert [k for k, _, _ in seen["held"]] == ([key] if held else [])
    assert "030901820" not in seen["sent"]
