"""Benchmark: the governed LLM stage against a bare openai-client loop, on the embedded model.

Run by hand from the project root: `python bench/local_model.py [--rows 10] [--port 8765]`.
It reuses a model already serving on the port or starts one, builds the support_triage model
inputs of `rows` demo tickets with the pipeline itself (validation, redaction, prompt assembly),
then sends the very same request bodies twice: once through a bare `openai.OpenAI` loop (the
baseline) and once through the pipeline's LLM stage (hashing, cache look-up, budget, breaker,
a DuckDB write per row). Both go one request at a time, as llama.cpp's server decodes one
request at a time. It prints rows/s and completion tokens/s of each, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import openai

from governance_pipeline import spec as spec_module
from governance_pipeline import store
from governance_pipeline.demo.tickets import generate_support_tickets
from governance_pipeline.inputs import stages
from governance_pipeline.llm import calling, prompts
from governance_pipeline.llm.endpoint import resolve_endpoint
from governance_pipeline.llm.local_model import ensure_local_model, is_serving
from governance_pipeline.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # this repository: a project

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SPEC = PROJECT_ROOT / "specs" / "support_triage.yaml"


def bare_loop(base_url: str, bodies: list[dict[str, Any]]) -> tuple[float, float, list[float]]:
    """BASELINE: send each request body once, in order, through a bare `openai.OpenAI` client.

    Returns:
        (rows per second, completion tokens per second, seconds per row).
    """
    client = openai.OpenAI(base_url=base_url, api_key="local", max_retries=0, timeout=120)
    tokens, latencies = 0, []
    start = time.perf_counter()
    for body in bodies:
        row_start = time.perf_counter()
        response = client.chat.completions.create(**body)
        tokens += response.usage.completion_tokens if response.usage else 0
        latencies.append(time.perf_counter() - row_start)
    elapsed = time.perf_counter() - start
    return len(bodies) / elapsed, tokens / elapsed, latencies


def main() -> None:
    """Build the model inputs, run both sides on the same bodies, print figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10, help="rows sent to the model")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    spec = spec_module.load(SPEC)
    settings = Settings(openai_api_key=None, openai_base_url=None, local_model_port=args.port)
    endpoint = resolve_endpoint(settings)
    db = Path(tempfile.mkdtemp(prefix="bench-local-model-")) / "bench.duckdb"
    with store.connect(db) as con:
        # every 40 demo rows hold 4 that input validation quarantines
        generate_support_tickets(con, args.rows + args.rows // 9 + 4, seed=7)
        stages.validate_input(con, spec, "bench", endpoint)
        stages.build_model_input(con, spec, endpoint, "bench")
        rows = con.execute(
            f"SELECT data FROM {spec.name}.model_input ORDER BY ticket_id LIMIT ?", [args.rows]
        ).fetchall()
        con.execute(
            f"DELETE FROM {spec.name}.model_input WHERE ticket_id NOT IN (SELECT "
            f"ticket_id FROM {spec.name}.model_input ORDER BY ticket_id LIMIT ?)",
            [args.rows],
        )
    bodies = [prompts.RequestBuilder(spec, endpoint).body(json.loads(data)) for (data,) in rows]

    reused = is_serving(endpoint.base_url)
    with ensure_local_model(args.port) as base_url:
        print(f"local model at {base_url} ({'reused' if reused else 'started'})")
        bare_loop(base_url, bodies[:1])  # warm-up: the first call also evaluates the system prompt
        bare_rows, bare_tokens, latencies = bare_loop(base_url, bodies)
        start = time.perf_counter()
        figures = calling.call_model(store.opener(db), spec, endpoint, "bench")
        elapsed = time.perf_counter() - start
    assert figures["calls_made"] == len(bodies), figures
    pipe_rows, pipe_tokens = len(bodies) / elapsed, figures["tokens_out"] / elapsed

    print(f"{len(bodies)} redacted support_triage rows, json_object + schema, temperature 0")
    print(
        f"  bare openai loop:   {bare_rows:.3f} rows/s   {bare_tokens:.1f} completion tokens/s"
        f"   (median {statistics.median(latencies):.2f} s a row)"
    )
    print(f"  governed LLM stage: {pipe_rows:.3f} rows/s   {pipe_tokens:.1f} completion tokens/s")
    print(
        f"  ratio governed/bare: rows/s {pipe_rows / bare_rows:.2f}   "
        f"tokens/s {pipe_tokens / bare_tokens:.2f}"
    )


if __name__ == "__main__":
    main()
