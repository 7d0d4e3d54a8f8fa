"""A kill -9 in the middle of the LLM stage, then a rerun: no answer paid for twice, nothing
written twice.

Why it matters: a run of thousands of rows dies (an OOM kill, a preempted pod) after paying for
half of them. Every answer the client received is in the call journal before its call's slot
goes to the next request, and in `governance.llm_cache` at the next group commit; the rerun
folds the journal into the cache, so it pays only for the calls whose answers never came.

The kill lands at a fixed point: the fake server answers the first `ANSWERED` requests and then
holds every further one. With `CONCURRENCY` calls in flight at most, the server seeing
`ANSWERED + CONCURRENCY` requests means the client has finished with each of the answered ones
(a call's slot is freed only after its result is recorded), and the kill follows at once,
well inside the 0.1 s of a group commit.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from governance_pipeline import llm, store
from governance_pipeline.outputs import outcomes
from tests.conftest import PROJECT_ROOT, triage
from tests.fake_openai import FakeOpenAI
from tests.stage_helpers import endpoint_for, prepare, run_stage, triage_spec

ROWS = 36
CONCURRENCY = 2  # what tests/stage_helpers.py runs the stage with
ANSWERED = 12
CARD = "4000 0566 5566 5556"  # made up by the "model": in no input


def leaky(body: dict) -> str:
    """A triage whose summary holds a card number the model made up."""
    answer = json.loads(triage(body))
    return json.dumps({**answer, "summary": f"Charge on card {CARD}."})


def journal_records(db: Path) -> list[dict]:
    return [
        json.loads(line)
        for path in sorted(Path(f"{db}.journal").glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def test_a_killed_llm_stage_never_pays_again_for_an_answer_it_received(demo_db: Path) -> None:
    answered: list[str] = []
    lock = threading.Lock()
    release = threading.Event()

    def answers_then_holds(body: dict) -> str:
        with lock:
            first = len(answered) < ANSWERED
            if first:
                answered.append(llm.request_hash(body))
        if first:
            return leaky(body)
        release.wait(60)  # the killed client waits for these; the rerun finds them released
        return triage(body)

    spec = triage_spec(concurrency=CONCURRENCY)
    with FakeOpenAI(answers_then_holds) as server:
        endpoint = endpoint_for(server.base_url)
        prepare(demo_db, spec, endpoint)
        stage = subprocess.Popen(
            [sys.executable, "-m", "tests.stage_helpers", str(demo_db), server.base_url],
            cwd=PROJECT_ROOT,
        )
        deadline = time.monotonic() + 60
        while (
            server.calls < ANSWERED + CONCURRENCY
            and stage.poll() is None
            and time.monotonic() < deadline
        ):
            time.sleep(0.001)
        os.kill(stage.pid, signal.SIGKILL)
        assert stage.wait() == -signal.SIGKILL, "the stage ended before it could be killed"
        assert server.calls == ANSWERED + CONCURRENCY  # the rest waited for a free slot

        # every answer received is on disk, in the store or in the journal, and at rest
        journaled = {r["request_hash"]: r["content"] for r in journal_records(demo_db)}
        with store.connect(demo_db) as con:
            stored = dict(
                con.execute("SELECT request_hash, content FROM governance.llm_cache").fetchall()
            )
        kept = stored | journaled
        assert set(kept) == set(answered)
        for content in kept.values():
            assert CARD not in content and "<REDACTED_CREDIT_CARD_1>" in content

        release.set()
        sent_before = len(server.requests)
        # concurrency is not part of a request: the same hashes, sent faster
        figures = run_stage(demo_db, triage_spec(concurrency=8), endpoint)
        resent = [llm.request_hash(b) for b in server.requests[sent_before:]]

    assert not set(resent) & set(answered)  # no answer received before the kill is paid again
    assert len(resent) == len(set(resent)) == ROWS - ANSWERED
    assert figures["by_status"] == {"cached": ANSWERED, "ok": ROWS - ANSWERED}
    assert journal_records(demo_db) == []  # folded into the store, then deleted
    with store.connect(demo_db) as con:
        outcomes.stage(con, spec, "run-1")
        ledger = outcomes.write_ledger(con, spec, "run-1")
        per_key = con.execute(
            "SELECT count(*), count(DISTINCT ticket_id) FROM support_triage.llm_call "
            "WHERE run_id = 'run-1'"
        ).fetchone()
        cache = con.execute(
            "SELECT count(*), count(DISTINCT request_hash) FROM governance.llm_cache"
        ).fetchone()
        ledger_keys = con.execute(
            "SELECT count(*), count(DISTINCT ticket_id) FROM support_triage.row_ledger"
        ).fetchone()
    assert per_key == (ROWS, ROWS)  # one llm_call row per row: the killed run's were replaced
    assert cache == (ROWS, ROWS)
    assert ledger_keys == (40, 40)
    assert ledger["by_disposition"] == {
        "enriched": ROWS - ANSWERED,
        "output_quarantined": ANSWERED,  # the made-up card, judged from the cache: no_pii
        "input_quarantined": 4,
    }
