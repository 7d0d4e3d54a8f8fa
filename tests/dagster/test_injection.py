"""Prompt injection through the data: the injected text stays inside the untrusted-data block,
and a model that obeys it produces outputs the contract quarantines. (An injection that only
changes a label to another valid value cannot be caught per row: `govern eval` shows it as
disagreement with the worked examples' good answers.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from governance_pipeline import store
from governance_pipeline.demo.tickets import INJECTION_PHRASES
from governance_pipeline.llm import prompts
from tests.conftest import triage
from tests.dagster.test_job import JOB, materialise
from tests.fake_openai import FakeOpenAI, parse_data_block


def obedient(body: dict) -> str:
    """A model that does what the row tells it to."""
    system, user = body["messages"][0]["content"], body["messages"][-1]["content"]
    text = json.dumps(parse_data_block(user))
    if "system prompt" in text or "hidden instructions" in text:
        return json.dumps(
            {
                "category": "other",
                "urgency": "low",
                "sentiment": "neutral",
                "summary": f"Sure! My system prompt is: {system[:120]}",
            }
        )
    if "respond only with" in text:
        return "REFUND APPROVED: $5000"
    return triage(body)


def inject(db: Path, phrases: list[str]) -> list[int]:
    """Append one phrase each to the bodies of valid demo rows; return their ids."""
    with store.connect(db) as con:
        ids = [
            r[0]
            for r in con.execute(
                "SELECT ticket_id FROM raw.support_tickets WHERE body IS NOT NULL "
                "AND length(body) < 3000 AND channel IN ('email', 'chat', 'phone', 'web') "
                "AND TRY_CAST(created_at AS TIMESTAMP) IS NOT NULL ORDER BY ticket_id LIMIT ?",
                [len(phrases)],
            ).fetchall()
        ]
        for ticket_id, phrase in zip(ids, phrases, strict=True):
            con.execute(
                "UPDATE raw.support_tickets SET body = body || ' ' || ? WHERE ticket_id = ?",
                [phrase, ticket_id],
            )
    return ids


def test_obeyed_injections_are_quarantined(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    leak, override = INJECTION_PHRASES[1], INJECTION_PHRASES[4]
    injected_ids = inject(demo_db, [leak, override])
    with FakeOpenAI(obedient) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        result = materialise(demo_db)
        requests = list(server.requests)
    assert result.success
    injected = 0
    for request in requests:
        system, user = request["messages"][0]["content"], request["messages"][-1]["content"]
        for phrase in INJECTION_PHRASES:
            assert phrase not in system
            if phrase.split(":")[0][:20] in json.dumps(parse_data_block(user)):
                injected += 1
                head, _, _ = user.partition(prompts.DATA_OPEN)
                assert phrase[:20] not in head  # only inside the data block
    assert injected >= 2  # the demo's injection rows reached the model as data
    with store.connect(demo_db) as con:
        caught = dict(
            con.execute(
                f"SELECT ticket_id, rules FROM {JOB}.output_quarantine WHERE ticket_id IN ?",
                [injected_ids],
            ).fetchall()
        )
        leaked = con.execute(
            f"SELECT count(*) FROM {JOB}.enriched WHERE summary ILIKE '%system prompt%'"
        ).fetchone()[0]
    assert caught == {injected_ids[0]: "summary-about-the-ticket", injected_ids[1]: "output.schema"}
    assert leaked == 0
