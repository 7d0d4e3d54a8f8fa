"""Benchmark: the governed LLM stage against a bare AsyncOpenAI loop, on a fake server.

Run by hand from the project root: `python bench/llm_stage.py [--rows 400] [--concurrency 16]`.

A fake OpenAI-compatible server (tests/fake_openai.py) runs in a process of its own with a fixed
latency (default 50 ms), so it is not competing with the measured process for the GIL. The
support_triage model inputs of `rows` demo tickets are built by the pipeline itself (validation,
redaction, prompt assembly); then the very same request bodies go:

1. BASELINE, through a bare loop: one `openai.AsyncOpenAI` client, a semaphore of `concurrency`,
   `chat.completions.create` per body, nothing recorded;
2. through the governed LLM stage at the same concurrency and no rate limit (hashing, cache
   look-up, budget, breaker, retries, rate limiter, and DuckDB writes of every call);
3. through the governed stage again, with everything cached;
4. through the governed stage with a request rate limit well below what the server can serve,
   then with a token rate limit, each measured against its configured rate.

It prints rows/s and the ratios: governed/bare (target >= 0.9), throughput/limit (target >=
0.95) and cached/first wall time. Each figure is the median of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import openai

from governance_pipeline import llm, store
from governance_pipeline import spec as spec_module
from governance_pipeline.demo.tickets import generate_support_tickets
from governance_pipeline.inputs import stages
from governance_pipeline.llm import calling, prompts
from governance_pipeline.llm.endpoint import Endpoint, resolve_endpoint
from governance_pipeline.settings import Settings
from governance_pipeline.spec import ResolvedSpec

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # this repository: a project

SPEC = PROJECT_ROOT / "specs" / "support_triage.yaml"
ANSWER = json.dumps(
    {"category": "billing", "urgency": "high", "sentiment": "negative", "summary": "A charge."}
)


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    """The fake server in its own process; its base URL."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_openai", "--latency", str(latency), "--content", ANSWER],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


async def bare_loop(base_url: str, bodies: list[dict[str, Any]], concurrency: int) -> float:
    """BASELINE: every body once through a bare AsyncOpenAI client; seconds taken, the client's
    creation included (the governed stage creates one per run too)."""
    start = time.perf_counter()
    gate = asyncio.Semaphore(concurrency)
    async with openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0) as client:

        async def one(body: dict[str, Any]) -> None:
            async with gate:
                await client.chat.completions.create(**body)

        await asyncio.gather(*(one(b) for b in bodies))
    return time.perf_counter() - start


def with_model(spec: ResolvedSpec, **params: Any) -> ResolvedSpec:
    """The spec with some `model` parameters replaced (for this benchmark only)."""
    model = spec.job.model.model_copy(update=params)
    return spec.model_copy(update={"job": spec.job.model_copy(update={"model": model})})


def governed(db: Path, spec: ResolvedSpec, endpoint: Endpoint, *, cold: bool) -> float:
    """Seconds the governed LLM stage takes; `cold` empties the cache first."""
    with store.connect(db) as con:
        if cold:
            con.execute("DELETE FROM governance.llm_cache")
        start = time.perf_counter()
        figures = calling.call_model(con, spec, endpoint, "bench")
        elapsed = time.perf_counter() - start
    expected = figures["rows"] if cold else 0
    assert figures["calls_made"] == expected, figures
    status = llm.CallStatus.OK if cold else llm.CallStatus.CACHED
    assert figures["by_status"].get(status) == figures["rows"], figures
    return elapsed


def main() -> None:
    """Build the model inputs, run every side on the same bodies, print figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400, help="demo tickets (about 90%% valid)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.05, help="server latency, seconds")
    parser.add_argument("--rpm", type=int, default=3000, help="request limit of step 4")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    args = parser.parse_args()

    server, base_url = start_server(args.latency)
    try:
        settings = Settings(openai_base_url=base_url, openai_api_key="bench", prices={})
        endpoint = resolve_endpoint(settings)
        spec = with_model(spec_module.load(SPEC), concurrency=args.concurrency)
        db = Path(tempfile.mkdtemp(prefix="bench-llm-stage-")) / "bench.duckdb"
        with store.connect(db) as con:
            generate_support_tickets(con, args.rows, seed=7)
            stages.validate_input(con, spec, "bench", endpoint)
            stages.build_model_input(con, spec, endpoint, "bench")
            rows = con.execute(f"SELECT data FROM {spec.name}.model_input").fetchall()
        bodies = [prompts.RequestBuilder(spec, endpoint).body(json.loads(d)) for (d,) in rows]
        n = len(bodies)
        asyncio.run(bare_loop(base_url, bodies[: args.concurrency], args.concurrency))  # warm-up

        bare, first, cached = [], [], []
        for _ in range(args.repeat):
            bare.append(asyncio.run(bare_loop(base_url, bodies, args.concurrency)))
            first.append(governed(db, spec, endpoint, cold=True))
            cached.append(governed(db, spec, endpoint, cold=False))
        bare_s, first_s, cached_s = map(statistics.median, (bare, first, cached))

        per_request = statistics.mean(llm.estimate_tokens(b) for b in bodies)
        rpm_spec = with_model(spec, requests_per_minute=args.rpm)
        tpm = int(args.rpm * per_request)  # as binding as the request limit, in tokens
        tpm_spec = with_model(spec, tokens_per_minute=tpm)
        rpm_s = statistics.median(governed(db, rpm_spec, endpoint, cold=True) for _ in range(2))
        tpm_s = statistics.median(governed(db, tpm_spec, endpoint, cold=True) for _ in range(2))
    finally:
        server.kill()
        server.wait()

    ceiling = args.concurrency / args.latency
    print(
        f"{n} redacted support_triage rows, concurrency {args.concurrency}, server latency "
        f"{args.latency * 1000:.0f} ms (ceiling {ceiling:.0f} rows/s), median of {args.repeat}"
    )
    print(f"  bare AsyncOpenAI loop:       {n / bare_s:7.1f} rows/s")
    print(f"  governed LLM stage, first:   {n / first_s:7.1f} rows/s")
    print(f"  governed LLM stage, cached:  {n / cached_s:7.1f} rows/s   ({cached_s:.3f} s)")
    print(f"  ratio governed/bare rows/s:       {bare_s / first_s:.2f}   (target >= 0.90)")
    print(f"  ratio cached/first wall time:     {cached_s / first_s:.3f}")
    rate = args.rpm / 60
    print(
        f"  request limit {args.rpm}/min ({rate:.0f}/s): {n / rpm_s:.1f} rows/s, "
        f"ratio {n / rpm_s / rate:.2f}   (target >= 0.95)"
    )
    print(
        f"  token limit {tpm}/min ({tpm / 60:.0f}/s, {per_request:.0f} a request): "
        f"{n * per_request / tpm_s:.0f} tokens/s, ratio {n * per_request / tpm_s / (tpm / 60):.2f}"
        "   (target >= 0.95)"
    )


if __name__ == "__main__":
    main()
