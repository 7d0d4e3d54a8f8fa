"""Tests for rate limits that hold across processes (``pacing``, ``ratelimit``).

Why these cases matter: Dagster runs each step in its own process under its multiprocess
executor, and a backfill runs several runs at once; a limit kept in one process's memory lets
four parallel runs send four times the endpoint's requests per minute. A lane in a file the
store's processes share must pace them together, from several processes at once, and a
Retry-After one of them receives must hold the others too.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from governance_pipeline.llm.pacing import LocalPacer, Pacer, SharedPacer, lane_name
from governance_pipeline.llm.ratelimit import RateLimiter
from tests.conftest import triage
from tests.fake_openai import FakeOpenAI
from tests.stage_helpers import endpoint_for, prepare, run_stage, triage_spec

PROJECT = Path(__file__).resolve().parents[2]


def most_in_a_window(times: list[float], window_s: float) -> int:
    """The most of `times` that fall within any `window_s` seconds."""
    times = sorted(times)
    return max(
        (sum(1 for u in times[i:] if u - t < window_s) for i, t in enumerate(times)), default=0
    )


@pytest.mark.parametrize("shared", [False, True], ids=["local", "shared"])
def test_a_lane_gives_each_claim_the_next_free_slot(shared: bool, tmp_path: Path) -> None:
    pacer: Pacer = SharedPacer(tmp_path / "pace.sqlite") if shared else LocalPacer()
    assert pacer.claim("lane", 0.5, now=100.0) == 100.0  # idle: starts now
    assert pacer.claim("lane", 0.5, now=100.0) == 100.5  # the next slot
    assert pacer.claim("other", 1.0, now=100.0) == 100.0  # lanes are apart
    assert pacer.claim("lane", 0.5, now=200.0) == 200.0  # idle again: no credit saved up
    pacer.hold("lane", until=300.0)  # a Retry-After
    assert pacer.claim("lane", 0.5, now=200.0) == 300.0


def test_lane_names_never_hold_the_endpoint() -> None:
    name = lane_name("https://user:secret@api.example.com/v1", "gpt-4o-mini", "requests")
    assert name.endswith(":requests") and "secret" not in name and "example" not in name
    assert name != lane_name("https://other.example.com/v1", "gpt-4o-mini", "requests")


WORKER = """
import asyncio, sys, time
from governance_pipeline.llm.pacing import SharedPacer
from governance_pipeline.llm.ratelimit import RateLimiter

async def main():
    limiter = RateLimiter(requests_per_minute=600, pacer=SharedPacer(sys.argv[1]), quota=("q",))
    await asyncio.sleep(float(sys.argv[2]) - time.time())  # all three start together
    for _ in range(10):
        await limiter.acquire(1)
        print(time.time(), flush=True)

asyncio.run(main())
"""


def test_processes_that_share_a_store_keep_to_one_limit_together(tmp_path: Path) -> None:
    """Three processes start at once, each 10 requests at 600/min (10 a second) through the
    same file: the 30 requests take three seconds, not the one they would take unshared."""
    pace = tmp_path / "store.pace.sqlite"
    start_at = str(time.time() + 8)  # after each process's imports, even on a loaded machine
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(pace), start_at],
            stdout=subprocess.PIPE,
            text=True,
            cwd=PROJECT,
        )
        for _ in range(3)
    ]
    outputs = [w.communicate(timeout=60)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers)
    times = [float(line) for out in outputs for line in out.split()]
    assert len(times) == 30
    assert max(times) - min(times) >= 2.8  # 29 slots of 0.1 s after the first
    # late wake-ups of a loaded machine can only bunch a few; unshared, a second holds 30
    assert most_in_a_window(times, 1.0) <= 10 + 4


def test_a_retry_after_one_process_got_holds_the_others(tmp_path: Path) -> None:
    pace = tmp_path / "store.pace.sqlite"
    got_429 = RateLimiter(requests_per_minute=6000, pacer=SharedPacer(pace), quota=("q",))
    other = RateLimiter(requests_per_minute=6000, pacer=SharedPacer(pace), quota=("q",))

    async def main() -> float:
        got_429.pause(0.5)
        start = time.time()
        await other.acquire(1)
        return time.time() - start

    assert asyncio.run(main()) >= 0.45


def test_parallel_stages_on_a_shared_pacer_keep_the_endpoints_limit(tmp_path: Path) -> None:
    """Two LLM stages at once (two stores, one pacer, as two runs of a backfill would), each
    limited to 1200 requests a minute: the endpoint sees 20 a second between them, not 40."""
    from governance_pipeline import store
    from governance_pipeline.demo.tickets import generate_support_tickets

    spec = triage_spec(concurrency=8, requests_per_minute=1200)
    pacer = SharedPacer(tmp_path / "shared.pace.sqlite")
    figures: list[dict[str, object]] = []
    with FakeOpenAI(triage) as server:
        endpoint = endpoint_for(server.base_url)
        dbs = []
        for i in range(2):
            db = tmp_path / f"store-{i}.duckdb"
            with store.connect(db) as con:
                generate_support_tickets(con, 40, seed=7 + i)
            prepare(db, spec, endpoint)
            dbs.append(db)
        threads = [
            threading.Thread(
                target=lambda db=db: figures.append(run_stage(db, spec, endpoint, pacer=pacer))
            )
            for db in dbs
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        arrivals = list(server.arrivals)
    assert len(figures) == 2 and all(f["calls_made"] for f in figures)
    assert len(arrivals) == sum(int(f["calls_made"]) for f in figures)  # type: ignore[call-overload]
    # sends are paced; arrivals jitter with connection set-up and the two event loops' turns
    # at the GIL, so judge the rate over the whole stage and over two-second windows
    assert max(arrivals) - min(arrivals) >= (len(arrivals) - 1) / 20 * 0.95
    assert most_in_a_window(arrivals, 2.0) <= 40 + 10  # unshared, it would be 80
