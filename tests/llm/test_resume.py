"""A kill -9 in the middle of the LLM stage, then a rerun: nothing paid for twice, nothing
written twice.

Why it matters: a run of thousands of rows dies (an OOM kill, a preempted pod) after paying for
half of them. The answers it received are in `governance.llm_cache` as they arrive, so the
rerun pays only for the rows without one. The calls in flight at the moment of the kill (at
most the concurrency) are the only ones that can be paid for again: their answers never came.
"""

from __future__ import annotations

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


def test_a_killed_llm_stage_resumes_paying_only_for_what_is_missing(demo_db: Path) -> None:
    answered: list[str] = []
    lock = threading.Lock()

    def recording(body: dict) -> str:
        with lock:
            answered.append(llm.request_hash(body))
        return triage(body)

    spec = triage_spec(concurrency=CONCURRENCY)
    with FakeOpenAI(recording, latency=0.1) as server:
        endpoint = endpoint_for(server.base_url)
        prepare(demo_db, spec, endpoint)
        stage = subprocess.Popen(
            [sys.executable, "-m", "tests.stage_helpers", str(demo_db), server.base_url],
            cwd=PROJECT_ROOT,
        )
        deadline = time.monotonic() + 60
        while server.calls < 12 and stage.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(stage.pid, signal.SIGKILL)
        assert stage.wait() == -signal.SIGKILL, "the stage ended before it could be killed"
        with store.connect(demo_db) as con:
            paid = {
                h
                for (h,) in con.execute("SELECT request_hash FROM governance.llm_cache").fetchall()
            }
        sent_before = len(server.requests)
        assert 0 < len(paid) < ROWS  # killed mid-stage, with answers on disk
        assert sent_before - len(paid) <= CONCURRENCY + 10  # in flight, or not yet committed

        # concurrency is not part of a request: the same hashes, sent faster
        figures = run_stage(demo_db, triage_spec(concurrency=8), endpoint)
        resent = [llm.request_hash(b) for b in server.requests[sent_before:]]

    assert not set(resent) & paid  # nothing with a cached answer was paid for again
    assert len(resent) == len(set(resent)) == ROWS - len(paid)
    assert figures["by_status"] == {"cached": len(paid), "ok": ROWS - len(paid)}
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
    assert ledger["by_disposition"] == {"enriched": ROWS, "input_quarantined": 4}
