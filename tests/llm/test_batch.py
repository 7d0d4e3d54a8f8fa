"""Tests for the Batch API path of the LLM stage (``batch``), against the fake server's
``/v1/files`` and ``/v1/batches``, through the real openai client.

Why these cases matter:

* A batch trades latency for half the price; it must still give every row exactly one result,
  mapped back by request hash, whatever lines the batch lost or failed.
* A batch keeps running at OpenAI after the process that created it dies: a killed run's batch
  must be collected by the next run, not paid for a second time.
* The budget is reserved before the batch is created, at the batch price, so a batch never
  takes the run over its cap, even from an endpoint that counts more tokens than the 4
  characters a token estimate; a Batch API that is down fails the rows, not the run.
* A line can be a 200 with no usable answer (no choice, no content, cut short): paid for, so
  counted, but never cached as an answer, or every rerun would serve it.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import nullcontext
from pathlib import Path

import openai
import pytest

from governance_pipeline import llm, store
from governance_pipeline.llm import batch
from governance_pipeline.llm.calls import CallRequest
from governance_pipeline.llm.prompts import RequestBuilder
from governance_pipeline.llm.retry import RetryPolicy
from governance_pipeline.spec import Budget
from tests.conftest import triage
from tests.fake_openai import FakeOpenAI
from tests.stage_helpers import endpoint_for, prepare, run_stage, triage_spec, with_job

ROWS = 36
PRICES = {"gpt-4o-mini": {"input": 0.01, "output": 0.05}}


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVERNANCE_BATCH_POLL_S", "0.01")


def test_a_batch_serves_every_row_at_half_price(demo_db: Path) -> None:
    spec = triage_spec(batch=True)
    with FakeOpenAI(triage, batch_polls=2) as server:
        endpoint = endpoint_for(server.base_url, prices=PRICES)
        prepare(demo_db, spec, endpoint)
        figures = run_stage(demo_db, spec, endpoint)
        assert server.calls == 0  # no chat completion: all went through the batch
        assert len(server.batch_requests) == ROWS
        [(batch_id, created)] = server.batches.items()
        rerun = run_stage(demo_db, spec, endpoint)
        assert len(server.batch_requests) == ROWS and len(server.batches) == 1
    assert created["status"] == "completed"
    assert figures["by_status"] == {"ok": ROWS} and rerun["by_status"] == {"cached": ROWS}
    full = endpoint.cost(figures["tokens_in"], figures["tokens_out"])
    assert figures["cost_usd"] == pytest.approx(full / 2, rel=1e-3)
    lines = [json.loads(x) for x in server.files[created["input_file_id"]]["content"].splitlines()]
    with store.connect(demo_db) as con:
        cached = {
            h for (h,) in con.execute("SELECT request_hash FROM governance.llm_cache").fetchall()
        }
        recorded = con.execute("SELECT batch_id, status FROM governance.llm_batch").fetchall()
    assert {line["custom_id"] for line in lines} == cached  # mapped back by request hash
    assert all(line["url"] == "/v1/chat/completions" for line in lines)
    assert recorded == [(batch_id, "completed")]


def test_failed_lines_fail_their_rows_only(demo_db: Path) -> None:
    spec = triage_spec(batch=True)
    with FakeOpenAI(triage, schedule=["429", "500", "drop"]) as server:
        endpoint = endpoint_for(server.base_url)
        prepare(demo_db, spec, endpoint)
        figures = run_stage(demo_db, spec, endpoint)
    assert figures["by_status"] == {"ok": ROWS - 3, "failed": 3}
    with store.connect(demo_db) as con:
        errors = con.execute(
            "SELECT error_class, count(*) FROM support_triage.llm_call WHERE status = 'failed' "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert errors == [("InternalServerError", 2), ("RateLimitError", 1)]


def test_a_killed_runs_batch_is_collected_not_paid_again(demo_db: Path) -> None:
    spec = triage_spec(batch=True)
    with FakeOpenAI(triage) as server:
        endpoint = endpoint_for(server.base_url)
        prepare(demo_db, spec, endpoint)
        # what a run killed while polling leaves: a batch at OpenAI, recorded as submitted
        with store.connect(demo_db) as con:
            rows = con.execute("SELECT data, request_hash FROM support_triage.model_input")
            requests = [
                CallRequest(h, RequestBuilder(spec, endpoint).body(json.loads(d)), ())
                for d, h in rows.fetchall()[:20]
            ]

            async def submit() -> str:
                async with openai.AsyncOpenAI(
                    base_url=server.base_url, api_key="sk-test", max_retries=0
                ) as client:
                    return await batch._submit(
                        client, lambda: nullcontext(con), requests, spec.name, RetryPolicy()
                    )

            asyncio.run(submit())
        figures = run_stage(demo_db, spec, endpoint)
        sent = [json.dumps(b, sort_keys=True) for b in server.batch_requests]
    assert figures["by_status"] == {"ok": ROWS}
    assert len(server.batches) == 2  # the killed run's, collected; one for the 16 left
    assert len(sent) == len(set(sent)) == ROWS  # no request was paid for twice


def test_the_budget_is_reserved_before_the_batch_is_created(demo_db: Path) -> None:
    cap = 0.1
    spec = with_job(triage_spec(batch=True), budget=Budget(max_cost_usd=cap))
    with FakeOpenAI(triage) as server:
        endpoint = endpoint_for(server.base_url, prices=PRICES)
        prepare(demo_db, spec, endpoint)
        figures = run_stage(demo_db, spec, endpoint)
        sent = len(server.batch_requests)
    assert 0 < sent < ROWS
    assert figures["by_status"] == {"ok": sent, "over_budget": ROWS - sent}
    assert figures["cost_usd"] <= cap


def test_a_batch_api_that_is_down_fails_the_rows_not_the_run(demo_db: Path) -> None:
    spec = triage_spec(batch=True, max_retries=0)
    with FakeOpenAI(triage) as server:
        endpoint = endpoint_for(server.base_url)
        prepare(demo_db, spec, endpoint)
        server.down = True
        figures = run_stage(demo_db, spec, endpoint)
    assert figures["by_status"] == {"failed": ROWS}
    assert figures["cost_usd"] == 0.0


@pytest.mark.parametrize("outcome", ["expired", "failed"])
def test_a_batch_that_ends_without_answers_fails_its_rows(demo_db: Path, outcome: str) -> None:
    spec = triage_spec(batch=True)
    with FakeOpenAI(triage, batch_outcome=outcome) as server:
        endpoint = endpoint_for(server.base_url)
        prepare(demo_db, spec, endpoint)
        figures = run_stage(demo_db, spec, endpoint)
    assert figures["by_status"] == {"failed": ROWS}
    with store.connect(demo_db) as con:
        why = con.execute("SELECT DISTINCT error_class FROM support_triage.llm_call").fetchall()
        recorded = con.execute("SELECT status FROM governance.llm_batch").fetchall()
    assert why == [(f"Batch{outcome.title()}",)]
    assert recorded == [(outcome,)]


def test_a_recorded_batch_the_endpoint_does_not_know_is_let_go(demo_db: Path) -> None:
    spec = triage_spec(batch=True)
    with FakeOpenAI(triage) as server:
        endpoint = endpoint_for(server.base_url)
        prepare(demo_db, spec, endpoint)
        with store.connect(demo_db) as con:
            con.execute(
                "INSERT INTO governance.llm_batch VALUES "
                "('batch_elsewhere', 'support_triage', 'file-x', 3, 'submitted', now(), NULL)"
            )
        figures = run_stage(demo_db, spec, endpoint)
        again = run_stage(demo_db, spec, endpoint)
    assert figures["by_status"] == {"ok": ROWS} and again["by_status"] == {"cached": ROWS}
    with store.connect(demo_db) as con:
        status = con.execute(
            "SELECT status FROM governance.llm_batch WHERE batch_id = 'batch_elsewhere'"
        ).fetchone()
    assert status == ("not_found",)


def test_unusable_lines_fail_their_rows_and_are_asked_again(demo_db: Path) -> None:
    spec = triage_spec(batch=True)
    kinds = ["empty", "no_content", "length", "content_filter"]
    with FakeOpenAI(triage, schedule=kinds) as server:
        endpoint = endpoint_for(server.base_url)
        prepare(demo_db, spec, endpoint)
        figures = run_stage(demo_db, spec, endpoint)
        with store.connect(demo_db) as con:
            failed = con.execute(
                "SELECT error_class, tokens_in > 0, cost_usd > 0 FROM support_triage.llm_call "
                "WHERE status = 'failed' ORDER BY 1"
            ).fetchall()
            cached = con.execute(
                "SELECT count(*), count(*) FILTER (WHERE coalesce(content, '') = '') "
                "FROM governance.llm_cache"
            ).fetchone()
        rerun = run_stage(demo_db, spec, endpoint)
        assert len(server.batch_requests) == ROWS + 4  # the next run asked for those four only
    assert figures["by_status"] == {"ok": ROWS - 4, "failed": 4}
    assert failed == [
        ("ContentFiltered", True, True),
        ("EmptyAnswer", True, True),
        ("EmptyAnswer", True, True),
        ("TruncatedAnswer", True, True),
    ]
    assert cached == (ROWS - 4, 0)
    assert rerun["by_status"] == {"cached": ROWS - 4, "ok": 4}


@pytest.mark.parametrize("factor", [1.5, 3.0])
def test_a_batch_holds_the_token_cap_when_the_endpoint_counts_more(
    demo_db: Path, factor: float
) -> None:
    spec = triage_spec(batch=True)
    with FakeOpenAI(triage, prompt_token_factor=factor) as server:
        endpoint = endpoint_for(server.base_url)
        prepare(demo_db, spec, endpoint)
        with store.connect(demo_db) as con:
            bodies = [
                RequestBuilder(spec, endpoint).body(json.loads(d))
                for (d,) in con.execute("SELECT data FROM support_triage.model_input").fetchall()
            ]
        # room for a third of the rows by the 4-characters-a-token estimate
        cap = sum(sorted(llm.estimate_tokens(b) for b in bodies)[: ROWS // 3])
        capped = with_job(spec, budget=Budget(max_tokens=cap))
        figures = run_stage(demo_db, capped, endpoint)
        sent = len(server.batch_requests)
    assert figures["by_status"] == {"ok": sent, "over_budget": ROWS - sent}
    assert sent > 0
    assert figures["tokens_in"] + figures["tokens_out"] <= cap
