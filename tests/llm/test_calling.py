"""Tests for the LLM stage on a real store (``calling``, ``call_log``, ``repair``).

Why these cases matter:

* The cache is where the money is saved: a change that does not touch what is sent (an SLA, a
  check-only rule) must cost nothing, and a change that does (a redaction, an instruction)
  must re-call exactly the rows whose request changed, each once.
* The budget is a hard cap: a run never spends more than it, and the rows it could not afford
  end `over_budget`, not lost.
* An answer with no usable content is paid for but is not an answer: cached, it would be served
  to every rerun as if it were one. It fails its row, its tokens counted, and the next run asks
  again.
* The base URL may carry credentials (`http://user:password@host/v1`): none may reach the store
  or the figures that go to Dagster's event log.
* Repair spends money to save rows: it must ask only for answers that break the contract, say
  what broke, send no personal data back, stay inside the budget, and leave exactly one
  outcome per row in `llm_call` (the ledger counts on it) while recording both calls.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from governance_pipeline import llm, store
from governance_pipeline.errors import StoreError
from governance_pipeline.inputs.redaction import Entity, find_pii
from governance_pipeline.llm.budget import TokenBound
from governance_pipeline.llm.endpoint import Endpoint
from governance_pipeline.llm.prompts import RequestBuilder
from governance_pipeline.outputs import outcomes
from governance_pipeline.spec import Budget, ResolvedSpec, Sla
from tests.conftest import triage
from tests.fake_openai import FakeOpenAI
from tests.stage_helpers import (
    endpoint_for,
    prepare,
    run_stage,
    triage_spec,
    with_job,
)

ROWS = 36  # the 40 demo tickets less the 4 that input validation quarantines


def first_user_message(body: dict) -> dict:
    return {"messages": [next(m for m in body["messages"] if m["role"] == "user")]}


def billing_as_refunds(body: dict) -> str:
    """Triages well, except that billing tickets get `refunds` (not a category) until a repair
    asks again."""
    answer = json.loads(triage(first_user_message(body)))
    if answer["category"] == "billing" and len(body["messages"]) == 2:
        answer["category"] = "refunds"
        answer["summary"] = "Refund to jane.doe@example.com."  # PII, for the repair to redact
    return json.dumps(answer)


def hashes(db: Path, spec: ResolvedSpec) -> dict[int, str]:
    with store.connect(db) as con:
        rows = con.execute(f"SELECT ticket_id, request_hash FROM {spec.name}.model_input")
        return dict(rows.fetchall())


def test_a_change_recalls_exactly_the_rows_whose_request_changed(demo_db: Path) -> None:
    spec = triage_spec()
    with FakeOpenAI(triage) as server:
        endpoint = endpoint_for(server.base_url)
        prepare(demo_db, spec, endpoint)
        assert run_stage(demo_db, spec, endpoint)["calls_made"] == ROWS
        before = hashes(demo_db, spec)

        # not sent to the model: nothing changes, nothing is paid
        sla = Sla(id="extra", level="developer", metric="error_rate", max=0.5)
        unchanged = spec.model_copy(update={"slas": []}).model_copy(
            update={"job": spec.job.model_copy(update={"slas": [sla]})}
        )
        prepare(demo_db, unchanged, endpoint, validate=False)
        assert hashes(demo_db, spec) == before
        figures = run_stage(demo_db, unchanged, endpoint)
        assert (figures["calls_made"], figures["by_status"]) == (0, {"cached": ROWS})
        assert server.calls == ROWS

        # card numbers no longer redacted: only the rows that hold one change
        entities = [Entity.EMAIL, Entity.PHONE]
        redaction = spec.job.redaction.model_copy(update={"entities": entities})
        fewer = with_job(spec, redaction=redaction)
        prepare(demo_db, fewer, endpoint, validate=False)
        changed = {k for k, h in hashes(demo_db, spec).items() if before[k] != h}
        assert 0 < len(changed) < ROWS
        figures = run_stage(demo_db, fewer, endpoint)
        assert figures["calls_made"] == len(changed)
        assert figures["by_status"] == {"ok": len(changed), "cached": ROWS - len(changed)}
        assert server.calls == ROWS + len(changed)

        # a new instruction is in every prompt: every row is called again, once
        task = spec.job.model.task + " Be brief."
        reworded = with_job(spec, model={"task": task})
        prepare(demo_db, reworded, endpoint, validate=False)
        assert run_stage(demo_db, reworded, endpoint)["by_status"] == {"ok": ROWS}
        assert server.calls == 2 * ROWS + len(changed)
        sent = [json.dumps(r, sort_keys=True) for r in server.requests]
        assert len(set(sent)) == len(sent)  # no request was paid for twice


def test_the_budget_caps_the_run(demo_db: Path) -> None:
    cap = 0.15
    prices = {"gpt-4o-mini": {"input": 0.01, "output": 0.05}}  # $0.016 a row at worst
    spec = with_job(triage_spec(concurrency=8), budget=Budget(max_cost_usd=cap))
    with FakeOpenAI(triage) as server:
        endpoint = endpoint_for(server.base_url, prices=prices)
        prepare(demo_db, spec, endpoint)
        figures = run_stage(demo_db, spec, endpoint)
        calls = server.calls
    statuses = figures["by_status"]
    assert statuses["ok"] == calls > 0
    assert statuses["over_budget"] == ROWS - calls > 0
    assert 0 < figures["cost_usd"] <= cap
    with store.connect(demo_db) as con:
        attempts = con.execute(
            "SELECT DISTINCT attempt FROM support_triage.llm_call WHERE status = 'over_budget'"
        ).fetchall()
    assert attempts == [(0,)]  # never sent


def test_repair_replaces_answers_that_break_the_contract(demo_db: Path) -> None:
    spec = triage_spec(repair=True)
    with FakeOpenAI(billing_as_refunds) as server:
        endpoint = endpoint_for(server.base_url)
        prepare(demo_db, spec, endpoint)
        figures = run_stage(demo_db, spec, endpoint)
        repairs = [r for r in server.requests if len(r["messages"]) == 4]
        calls = server.calls
        # a rerun is served from the cache, repairs included
        rerun = run_stage(demo_db, spec, endpoint)
        assert server.calls == calls
    broken = len(repairs)
    assert 0 < broken < ROWS
    assert figures["repairs_asked"] == broken and calls == ROWS + broken
    assert figures["by_status"] == {"ok": ROWS, "superseded": broken}
    assert rerun["by_status"] == {"cached": ROWS, "superseded": broken}
    for request in repairs:
        assistant, ask = request["messages"][2:]
        assert assistant["role"] == "assistant" and "refunds" in assistant["content"]
        assert "output.category.enum" in ask["content"]
        assert "no-pii-in-output" in ask["content"]
        for message in request["messages"]:
            assert not find_pii(message["content"])  # the leaked email went back redacted
    with store.connect(demo_db) as con:
        outcomes.stage(con, spec, "run-1")
        ledger = outcomes.write_ledger(con, spec, "run-1")
        per_key = con.execute(
            "SELECT ticket_id, list(status ORDER BY status) FROM support_triage.llm_call "
            "WHERE run_id = 'run-1' GROUP BY 1 HAVING count(*) > 1"
        ).fetchall()
    assert ledger["by_disposition"]["enriched"] == ROWS  # every broken answer was repaired
    assert ledger["rows"] == 40
    assert len(per_key) == broken
    assert all(statuses == ["cached", "superseded"] for _, statuses in per_key)


def test_a_failed_repair_leaves_the_first_answer(demo_db: Path) -> None:
    def no_repairs(body: dict) -> str:
        if len(body["messages"]) > 2:
            raise RuntimeError("the model server fails on repairs")  # a 500, not retried
        return billing_as_refunds(body)

    spec = triage_spec(repair=True, max_retries=0)
    with FakeOpenAI(no_repairs) as server:
        endpoint = endpoint_for(server.base_url)
        prepare(demo_db, spec, endpoint)
        figures = run_stage(demo_db, spec, endpoint)
    broken = figures["repairs_asked"]
    assert broken > 0
    assert figures["by_status"] == {"ok": ROWS, "repair_failed": broken}
    with store.connect(demo_db) as con:
        outcomes.stage(con, spec, "run-1")
        ledger = outcomes.write_ledger(con, spec, "run-1")
    assert ledger["rows"] == 40
    assert ledger["by_disposition"]["output_quarantined"] == broken


def room_for_first_answers(db: Path, spec: ResolvedSpec, endpoint: Endpoint) -> int:
    """The least token cap under which every first answer of the run on `db` is sent, one at a
    time: each call reserves its worst case (the bound calibrated by the calls before it) on
    top of what those calls used."""
    with store.connect(db) as con:
        calls = con.execute(
            f"SELECT any_value(m.data), sum(c.tokens_in), sum(c.tokens_out) "
            f"FROM {spec.name}.llm_call c JOIN {spec.name}.model_input m USING (ticket_id) "
            "GROUP BY c.request_hash ORDER BY min(ticket_id)"
        ).fetchall()
    builder, bound = RequestBuilder(spec, endpoint), TokenBound()
    used = need = 0
    for data, tokens_in, tokens_out in calls:
        body = builder.body(json.loads(data))
        need = max(need, used + llm.reservation(body, endpoint, bound)[0])
        used += tokens_in + tokens_out
        bound.observe(llm.prompt_bytes(body), tokens_in)
    return need


def test_repairs_stay_within_the_budget(tmp_path: Path, demo_db: Path) -> None:
    spec = triage_spec(repair=True, concurrency=1)
    with FakeOpenAI(billing_as_refunds) as server:
        endpoint = endpoint_for(server.base_url)
        # what the first answers use, learnt from a run without repair on a copy of the store
        copy = tmp_path / "copy.duckdb"
        copy.write_bytes(demo_db.read_bytes())
        prepare(copy, spec, endpoint)
        run_stage(copy, with_job(spec, model={"repair": False}), endpoint)
        first_calls = server.calls
        # room for every first answer (reserved at worst case, one at a time), none for a repair
        cap = room_for_first_answers(copy, spec, endpoint)
        capped = with_job(spec, budget=Budget(max_tokens=cap))
        prepare(demo_db, capped, endpoint)
        figures = run_stage(demo_db, capped, endpoint)
        assert server.calls == 2 * first_calls  # the repairs were never sent
    assert figures["repairs_asked"] > 0
    assert figures["by_status"] == {"ok": ROWS, "repair_failed": figures["repairs_asked"]}
    assert figures["tokens_in"] + figures["tokens_out"] <= cap
    with store.connect(demo_db) as con:
        why = con.execute(
            "SELECT DISTINCT error_class, attempt FROM support_triage.llm_call "
            "WHERE status = 'repair_failed'"
        ).fetchall()
    assert why == [("OverBudget", 0)]


def test_the_api_key_is_never_stored(demo_db: Path) -> None:
    key = "sk-proj-NEVER-STORE-THIS-7f3a9c"
    spec = triage_spec(repair=True, max_retries=0)
    with FakeOpenAI(billing_as_refunds, schedule=["500", "429"]) as server:
        endpoint = endpoint_for(server.base_url, openai_api_key=key)
        prepare(demo_db, spec, endpoint)
        figures = run_stage(demo_db, spec, endpoint)
    assert figures["by_status"]["failed"] == 2  # error rows too
    assert key not in json.dumps(figures)
    with store.connect(demo_db) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = 'store'"
        ).fetchall()
        assert len(tables) > 5
        for schema, table in tables:
            text = con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
            assert key not in repr(text), f"{schema}.{table} holds the API key"


def test_model_input_built_for_another_model_is_refused_not_mislabelled(demo_db: Path) -> None:
    """The cache is keyed by the hash model_input recorded: a body rebuilt for another model
    must not be sent under that key (its answer would be cached for the wrong request)."""
    spec = triage_spec()
    with FakeOpenAI(triage) as server:
        endpoint = endpoint_for(server.base_url)
        prepare(demo_db, spec, endpoint)
        other = dataclasses.replace(endpoint, model="another-model")
        with pytest.raises(StoreError, match="materialise model_input again"):
            run_stage(demo_db, spec, other)
        assert server.calls == 0


def test_an_unusable_answer_is_not_cached_and_is_asked_again(demo_db: Path) -> None:
    spec = triage_spec(max_retries=0, concurrency=1)
    with FakeOpenAI(triage, schedule=["empty", "length"]) as server:
        endpoint = endpoint_for(server.base_url)
        prepare(demo_db, spec, endpoint)
        figures = run_stage(demo_db, spec, endpoint)
        with store.connect(demo_db) as con:
            failed = con.execute(
                "SELECT request_hash, error_class, tokens_in, tokens_out, cost_usd "
                "FROM support_triage.llm_call WHERE status = 'failed' ORDER BY error_class"
            ).fetchall()
            cached = con.execute(
                "SELECT count(*), count(*) FILTER (WHERE coalesce(content, '') = '') "
                "FROM governance.llm_cache"
            ).fetchone()
        rerun = run_stage(demo_db, spec, endpoint)
        assert server.calls == ROWS + 2  # the two were asked again, and only they
    assert figures["by_status"] == {"ok": ROWS - 2, "failed": 2}
    assert [(c, tin > 0, cost > 0) for _, c, tin, _, cost in failed] == [
        ("EmptyAnswer", True, True),
        ("TruncatedAnswer", True, True),
    ]
    assert failed[1][3] == spec.job.model.max_tokens  # a truncated answer bills its max_tokens
    assert cached == (ROWS - 2, 0)  # neither was cached
    assert rerun["by_status"] == {"cached": ROWS - 2, "ok": 2}


def test_credentials_in_the_base_url_never_reach_the_store_or_the_figures(
    demo_db: Path,
) -> None:
    password = "pw-NEVER-STORE-THIS-51c2"
    spec = triage_spec(max_retries=0)
    with FakeOpenAI(triage, schedule=["500"]) as server:
        url = server.base_url.replace("http://", f"http://svc-user:{password}@")
        endpoint = endpoint_for(url)
        prepare(demo_db, spec, endpoint)
        figures = run_stage(demo_db, spec, endpoint)
        assert server.calls == ROWS  # the URL with its credentials is what the client used
    assert figures["by_status"] == {"ok": ROWS - 1, "failed": 1}  # an error row too
    assert figures["endpoint"] == endpoint.describe()
    assert "svc-user" not in json.dumps(figures) and password not in json.dumps(figures)
    with store.connect(demo_db) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = 'store'"
        ).fetchall()
        assert ("governance", "run") in tables
        for schema, table in tables:
            text = repr(con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall())
            assert password not in text, f"{schema}.{table} holds the password"
        [(shown,)] = con.execute("SELECT endpoint FROM governance.run").fetchall()
    assert shown.startswith("configured endpoint http://***@127.0.0.1:")
