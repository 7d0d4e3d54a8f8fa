"""Benchmark: the governed LLM stage against a bare AsyncOpenAI loop, on a fake server.

Run by hand from the project root:
`python bench/llm_stage.py [--rows 10000] [--pairs 3] [--latency 0 0.05] [--concurrency 16]`.

A fake OpenAI-compatible server (`python -m tests.fake_openai`) runs in a process of its own
with a fixed latency, so it does not compete with the measured process for the GIL. The
support_triage model inputs of `--rows` demo tickets are built by the pipeline itself
(validation, redaction, prompt assembly). Then, at each latency (0 ms and 50 ms by default):

* BASELINE, a bare loop: one `openai.AsyncOpenAI` client, a semaphore of `concurrency`,
  `chat.completions.create` per body, nothing recorded. It is sent the stage's request bodies
  de-duplicated by request hash, as the governed stage sends them: the bare loop does not pay
  for requests the stage would not make.
* the governed LLM stage at the same concurrency, no rate limit, the cache emptied first
  (hashing, cache look-up, budget, breaker, retries, rate limiter, and DuckDB writes of every
  call).

Neither side is favoured by order or warm-up: both are warmed up alike on a small table of
their own first, then `--pairs` pairs run, governed first in odd pairs and bare first in even
ones, each over every row (at least 10,000 by default: seconds per side, not milliseconds).
Per pair it takes wall time and process CPU time (`time.process_time`: every thread of this
process, DuckDB's included; the server is another process) and prints min / median / max of:
the governed/bare wall-time ratio (1.0: governance costs no time; no target here), rows/s of
each side, and the governance overhead per row in microseconds of CPU, (governed CPU - bare
CPU) / rows. Then one governed run with everything cached. The load average is printed before
and after: on a loaded machine read the ratio, not the rows/s.

`--limits` also checks the rate limiter: the governed stage with a request limit, then a token
limit, well below what the server can serve, each measured against its configured rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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
WARMUP_ROWS = 200


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


@dataclass(frozen=True)
class Timing:
    """One side of a pair: wall seconds and CPU seconds of this process."""

    wall: float
    cpu: float


def timed(fn: Any, *args: Any, **kwargs: Any) -> Timing:
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args, **kwargs)
    return Timing(time.perf_counter() - wall, time.process_time() - cpu)


def bare_loop(base_url: str, bodies: list[dict[str, Any]], concurrency: int) -> None:
    """BASELINE: every body once through a bare AsyncOpenAI client, the client's creation
    included (the governed stage creates one per run too)."""

    async def run() -> None:
        gate = asyncio.Semaphore(concurrency)
        async with openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0) as client:

            async def one(body: dict[str, Any]) -> None:
                async with gate:
                    await client.chat.completions.create(**body)

            await asyncio.gather(*(one(b) for b in bodies))

    asyncio.run(run())


def with_model(spec: ResolvedSpec, **params: Any) -> ResolvedSpec:
    """The spec with some `model` parameters replaced (for this benchmark only)."""
    model = spec.job.model.model_copy(update=params)
    return spec.model_copy(update={"job": spec.job.model_copy(update={"model": model})})


def governed(db: Path, spec: ResolvedSpec, endpoint: Endpoint, *, cold: bool) -> Timing:
    """The governed LLM stage over the table's model inputs; `cold` empties the cache first
    (not timed)."""
    if cold:
        with store.connect(db) as con:
            con.execute("DELETE FROM governance.llm_cache")
    wall, cpu = time.perf_counter(), time.process_time()
    figures = calling.call_model(store.opener(db), spec, endpoint, "bench")  # opens per commit
    timing = Timing(time.perf_counter() - wall, time.process_time() - cpu)
    assert figures["calls_made"] == (figures["requests"] if cold else 0), figures
    status = llm.CallStatus.OK if cold else llm.CallStatus.CACHED
    assert figures["by_status"].get(status) == figures["rows"], figures
    return timing


def build_inputs(
    db: Path, spec: ResolvedSpec, endpoint: Endpoint, rows: int
) -> tuple[int, list[dict[str, Any]]]:
    """A store whose support_triage model_input holds `rows` rows; the rows and the request
    bodies the governed stage sends for them, de-duplicated by request hash."""
    tickets = rows * 10 // 8 + 20  # about 90% of demo tickets pass validation
    with store.connect(db) as con:
        generate_support_tickets(con, tickets, seed=7)
        stages.validate_input(con, spec, "bench", endpoint)
        stages.build_model_input(con, spec, endpoint, "bench")
        table = f"{spec.name}.model_input"
        key = spec.job.source.key
        have = store.scalar(con, f"SELECT count(*) FROM {table}")
        if have < rows:
            raise SystemExit(f"only {have} model inputs from {tickets} tickets; ask fewer --rows")
        con.execute(
            f"DELETE FROM {table} WHERE {key} NOT IN "
            f"(SELECT {key} FROM {table} ORDER BY {key} LIMIT {rows})"
        )
        unique = con.execute(
            f"SELECT any_value(data ORDER BY {key}) FROM {table} GROUP BY request_hash "
            f"ORDER BY min({key})"
        ).fetchall()
    requests = prompts.RequestBuilder(spec, endpoint)
    bodies = [requests.body(json.loads(d)) for (d,) in unique]
    assert len({llm.request_hash(b) for b in bodies}) == len(bodies)
    return rows, bodies


def spread(values: list[float], fmt: str = ".2f") -> str:
    """min / median / max of `values`."""
    return " / ".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def at_latency(args: argparse.Namespace, spec: ResolvedSpec, latency: float) -> None:
    """Build the inputs, warm both sides up, run the pairs, print the figures."""
    server, base_url = start_server(latency)
    try:
        settings = Settings(openai_base_url=base_url, openai_api_key="bench", prices={})
        endpoint = resolve_endpoint(settings)
        folder = Path(tempfile.mkdtemp(prefix="bench-llm-stage-"))
        db, warm_db = folder / "bench.duckdb", folder / "warmup.duckdb"
        rows, bodies = build_inputs(db, spec, endpoint, args.rows)
        _, warm_bodies = build_inputs(warm_db, spec, endpoint, min(WARMUP_ROWS, args.rows))
        governed(warm_db, spec, endpoint, cold=True)  # warm-up, both sides alike
        bare_loop(base_url, warm_bodies, args.concurrency)

        pairs: list[tuple[Timing, Timing]] = []
        for i in range(args.pairs):
            if i % 2 == 0:
                gov = governed(db, spec, endpoint, cold=True)
                bare = timed(bare_loop, base_url, bodies, args.concurrency)
            else:
                bare = timed(bare_loop, base_url, bodies, args.concurrency)
                gov = governed(db, spec, endpoint, cold=True)
            pairs.append((gov, bare))
        cached = governed(db, spec, endpoint, cold=False)
        limits = check_limits(args, db, spec, endpoint, rows, bodies) if args.limits else []
    finally:
        server.kill()
        server.wait()

    ceiling = args.concurrency / latency if latency else float("inf")
    print(
        f"{rows} redacted support_triage rows ({len(bodies)} distinct requests), concurrency "
        f"{args.concurrency}, server latency {latency * 1000:.0f} ms (ceiling {ceiling:.0f} "
        f"requests/s), {len(pairs)} pairs, governed first in pairs 1, 3, ...\n"
        "                                    min / median / max"
    )
    print(
        f"  ratio governed/bare wall time:    {spread([g.wall / b.wall for g, b in pairs], '.3f')}"
    )
    print(f"  bare AsyncOpenAI loop, rows/s:    {spread([rows / b.wall for _, b in pairs], '.0f')}")
    print(f"  governed LLM stage, rows/s:       {spread([rows / g.wall for g, _ in pairs], '.0f')}")
    print(f"  CPU s, bare loop:                 {spread([b.cpu for _, b in pairs])}")
    print(f"  CPU s, governed stage:            {spread([g.cpu for g, _ in pairs])}")
    overhead = [(g.cpu - b.cpu) / rows * 1e6 for g, b in pairs]
    print(f"  governance overhead, CPU us/row:  {spread(overhead, '.0f')}")
    print(f"  governed, all cached: {rows / cached.wall:.0f} rows/s ({cached.wall:.3f} s)")
    for line in limits:
        print(line)


def check_limits(
    args: argparse.Namespace,
    db: Path,
    spec: ResolvedSpec,
    endpoint: Endpoint,
    rows: int,
    bodies: list[dict[str, Any]],
) -> list[str]:
    """The governed stage under a request limit and a token limit: throughput/limit."""
    per_request = statistics.mean(llm.estimate_tokens(b) for b in bodies)
    rpm_spec = with_model(spec, requests_per_minute=args.rpm)
    tpm = int(args.rpm * per_request)  # as binding as the request limit, in tokens
    tpm_spec = with_model(spec, tokens_per_minute=tpm)
    rpm_s = governed(db, rpm_spec, endpoint, cold=True).wall
    tpm_s = governed(db, tpm_spec, endpoint, cold=True).wall
    rate, n = args.rpm / 60, len(bodies)
    return [
        f"  request limit {args.rpm}/min ({rate:.0f}/s): {n / rpm_s:.1f} requests/s, "
        f"ratio {n / rpm_s / rate:.2f}   (target >= 0.95)",
        f"  token limit {tpm}/min ({tpm / 60:.0f}/s, {per_request:.0f} a request): "
        f"{n * per_request / tpm_s:.0f} tokens/s, ratio {n * per_request / tpm_s / (tpm / 60):.2f}"
        "   (target >= 0.95)",
    ]


def main() -> None:
    """Run every latency asked for; print the load average before and after."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=10_000, help="model-input rows (fewer for a quick look)"
    )
    parser.add_argument("--pairs", type=int, default=3, help="governed/bare pairs (at least 3)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--latency", type=float, nargs="+", default=[0.0, 0.05], help="server latencies, seconds"
    )
    parser.add_argument("--limits", action="store_true", help="also check the rate limiter")
    parser.add_argument("--rpm", type=int, default=3000, help="request limit of --limits")
    args = parser.parse_args()
    if args.pairs < 3:
        parser.error("--pairs must be at least 3: a min / median / max of fewer says little")

    spec = with_model(spec_module.load(SPEC), concurrency=args.concurrency)
    print(f"load average before: {load_average()}")
    for latency in args.latency:
        at_latency(args, spec, latency)
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
