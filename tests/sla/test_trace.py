"""`govern trace`: one row's story, for the three ways a row ends (enriched, its answer
quarantined, its input quarantined), in text and JSON. The trace must rebuild the exact request
(its hash is checked against the stored one), and must never show a raw PII value: it is the
command an operator runs on a row that holds one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from governance_pipeline import store
from governance_pipeline.cli import app
from governance_pipeline.inputs.redaction.detectors import Entity, detect
from tests.conftest import triage
from tests.fake_openai import FakeOpenAI, parse_data_block

JOB = "support_triage"
runner = CliRunner()


def _sometimes_wrong(body: dict) -> str:
    """A triage that answers a category outside the enum for some rows (about 1 in 13)."""
    row = parse_data_block(body["messages"][-1]["content"])
    answer = json.loads(triage(body))
    if len(row.get("body") or "") % 13 == 0:
        answer["category"] = "astrology"
    return json.dumps(answer)


@pytest.fixture
def traced(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """A run of the demo job; the key of one row of each disposition."""
    with FakeOpenAI(_sometimes_wrong) as server:
        server.served_model, server.system_fingerprint = "gpt-4o-mini-2024-07-18", "fp_trace1"
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
        runner.invoke(app, ["run", JOB])
        with store.connect(demo_db, read_only=True) as con:
            keys = dict(
                con.execute(
                    f"SELECT disposition, min(ticket_id) FROM {JOB}.row_ledger GROUP BY 1"
                ).fetchall()
            )
        assert {"enriched", "output_quarantined", "input_quarantined"} <= set(keys), keys
        yield keys


def _trace(*args: str) -> str:
    result = runner.invoke(app, ["trace", JOB, *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def _raw_pii(db: Path) -> list[str]:
    """Every email and phone number of the demo's raw tickets."""
    with store.connect(db, read_only=True) as con:
        bodies = [b for (b,) in con.execute("SELECT body FROM raw.support_tickets").fetchall()]
    return [
        f.value for b in bodies if b for f in detect(b, [Entity.EMAIL, Entity.PHONE]) if f.value
    ]


def test_trace_of_an_enriched_row(traced: dict[str, int], demo_db: Path) -> None:
    out = _trace(str(traced["enriched"]))
    assert "input validation\n  passed" in out
    assert "verified: the rebuilt request hashes to the stored" in out
    assert "<<<UNTRUSTED_DATA" in out and "attempt 1: ok" in out
    assert "answered by gpt-4o-mini-2024-07-18 (fp_trace1)" in out
    assert "output.category.enum: passed" in out
    assert "disposition\n  enriched" in out and "published by this run" in out
    doc = json.loads(_trace(str(traced["enriched"]), "--json"))
    assert doc["disposition"] == "enriched" and doc["hash_check"].startswith("verified")
    assert [m["role"] for m in doc["messages"]] == ["system", "user"]
    assert doc["attempts"][0]["tokens_in"] > 0 and doc["answer"]


def test_trace_of_an_output_quarantined_row(traced: dict[str, int]) -> None:
    out = _trace(str(traced["output_quarantined"]))
    assert "astrology" in out  # the answer as stored
    assert "output.category.enum: ERROR: category='astrology'" in out
    assert "recorded in output_quarantine: output.category.enum" in out
    assert "not published" in out
    doc = json.loads(_trace(str(traced["output_quarantined"]), "--json"))
    assert doc["disposition"] == "output_quarantined"
    broken = [r for r in doc["rules"] if r["verdict"] != "passed" and r["rule"] != "schema"]
    assert [r["rule"] for r in broken] == ["output.category.enum"]


def test_trace_of_an_input_quarantined_row(traced: dict[str, int]) -> None:
    doc = json.loads(_trace(str(traced["input_quarantined"]), "--json"))
    assert doc["input_verdict"].startswith("quarantined: input.")
    assert doc["messages"] == [] and doc["attempts"] == [] and doc["answer"] is None
    assert doc["disposition"] == "input_quarantined" and doc["published"].startswith("not")
    assert "no request: the row never reached the model" in _trace(str(traced["input_quarantined"]))


def test_no_pii_value_in_any_trace(traced: dict[str, int], demo_db: Path) -> None:
    values = _raw_pii(demo_db)
    assert len(values) > 5
    with store.connect(demo_db, read_only=True) as con:
        keys = [k for (k,) in con.execute(f"SELECT ticket_id FROM {JOB}.row_ledger").fetchall()]
    shown = {"EMAIL x", "PHONE x"}
    seen_types = set()
    for key in keys:
        for out in (_trace(str(key)), _trace(str(key), "--json")):
            leaked = [v for v in values if v in out]
            assert not leaked, (key, leaked)
            seen_types |= {t for t in shown if t in out}
    assert seen_types == shown  # the raw row names the entities it holds, by type


def test_row_audit_is_a_view_the_duckdb_shell_can_read(
    traced: dict[str, int], demo_db: Path
) -> None:
    con = duckdb.connect()  # as `duckdb -readonly data/store.duckdb` opens it: catalog `store`
    try:
        con.execute(f"ATTACH '{demo_db}' AS shell (READ_ONLY)")
        con.execute("USE shell")
        rows = con.execute(
            f"SELECT disposition, attempts, answer IS NOT NULL, published_here "
            f"FROM {JOB}.row_audit WHERE ticket_id = ?",
            [traced["enriched"]],
        ).fetchall()
        total = con.execute(f"SELECT count(*) FROM {JOB}.row_audit").fetchone()
        ledger = con.execute(f"SELECT count(*) FROM {JOB}.row_ledger").fetchone()
    finally:
        con.close()
    assert rows == [("enriched", 1, True, True)]
    assert total == ledger  # one audit row per ledger row: the joins fan nothing out


def test_trace_of_an_unknown_key_is_one_line(traced: dict[str, int]) -> None:
    result = runner.invoke(app, ["trace", JOB, "999999"])
    assert result.exit_code == 1
    assert "no run of 'support_triage' recorded key '999999'" in result.output
