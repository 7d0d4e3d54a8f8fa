"""Benchmark of the embedded local model: a bare openai-client loop, the baseline of the pipeline.

Run by hand from the project root: `python bench/local_model.py [--rows 10] [--port 8765]`.
It reuses a model already serving on the port, or starts one (and reports the start-up time),
builds one support_triage prompt per demo ticket with the pipeline's own prompt assembly, and
sends them one at a time, as llama.cpp's server runs one request at a time anyway. It prints
absolute figures only: ratios belong where both sides are measured (pipeline / `bare_loop`).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import duckdb
import openai

from governance_pipeline import spec as spec_module
from governance_pipeline.demo_data import generate_support_tickets
from governance_pipeline.endpoint import LOCAL_MODEL_NAME
from governance_pipeline.local_model import ensure_local_model, is_serving
from governance_pipeline.prompts import build_messages, output_schema
from governance_pipeline.settings import PROJECT_ROOT

SPEC = PROJECT_ROOT / "specs" / "support_triage.yaml"


def demo_requests(rows: int, seed: int = 7) -> tuple[list[list[dict[str, str]]], dict[str, Any]]:
    """Chat messages for `rows` demo tickets (not redacted), and the spec's output schema."""
    spec = spec_module.load(SPEC)
    con = duckdb.connect()
    generate_support_tickets(con, 2 * rows + 10, seed=seed)
    # Only rows the pipeline would send: the demo's oversize body (a 6,000-character log, about
    # 3,400 tokens) is quarantined by the spec's max_length, and alone takes 25-45 s here.
    max_chars = spec.job.source.columns["body"].max_length or 1_000_000
    data = con.execute(
        "SELECT channel, subject, body FROM raw.support_tickets WHERE length(body) <= ? "
        "ORDER BY ticket_id LIMIT ?",
        [max_chars, rows],
    )
    columns = ("channel", "subject", "body")
    messages = [
        build_messages(spec, dict(zip(columns, row, strict=True))) for row in data.fetchall()
    ]
    return messages, output_schema(spec)


# ------------------------------------------------------------------------------------------------
# BASELINE: compare the pipeline's LLM stage against this on the same rows and endpoint.
# ------------------------------------------------------------------------------------------------
def bare_loop(
    base_url: str,
    requests: list[list[dict[str, str]]],
    schema: dict[str, Any] | None = None,
    *,
    model: str = LOCAL_MODEL_NAME,
    max_tokens: int = 200,
    warm_up: bool = True,
    latencies: list[float] | None = None,
) -> tuple[float, float]:
    """Send each request once, in order, through a bare `openai.OpenAI` client.

    Args:
        base_url: OpenAI-compatible base URL.
        requests: Chat messages, one list per row.
        schema: JSON schema sent as llama.cpp's `{"type": "json_object", "schema": ...}`;
            None sends no response_format.
        model: Model name sent with each request.
        max_tokens: Completion limit per row.
        warm_up: Send the first request once, untimed, beforehand: the first call to a fresh
            server also pays for evaluating the shared system prompt and compiling the grammar.
        latencies: If given, receives the seconds each timed row took.

    Returns:
        (rows per second, completion tokens per second) over the timed rows.
    """
    client = openai.OpenAI(base_url=base_url, api_key="local", max_retries=0, timeout=120)
    extra: dict[str, Any] = {}
    if schema is not None:
        extra["response_format"] = {"type": "json_object", "schema": schema}

    def call(messages: list[dict[str, str]]) -> int:
        response = client.chat.completions.create(
            model=model, messages=messages, temperature=0, max_tokens=max_tokens, **extra
        )
        return response.usage.completion_tokens if response.usage else 0

    if warm_up and requests:
        call(requests[0])
    tokens = 0
    start = time.perf_counter()
    for messages in requests:
        row_start = time.perf_counter()
        tokens += call(messages)
        if latencies is not None:
            latencies.append(time.perf_counter() - row_start)
    elapsed = time.perf_counter() - start
    return len(requests) / elapsed, tokens / elapsed


def main() -> None:
    """Start (or reuse) the local model, run the bare loop, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    requests, schema = demo_requests(args.rows)
    reused = is_serving(f"http://127.0.0.1:{args.port}/v1")
    start = time.perf_counter()
    with ensure_local_model(args.port) as base_url:
        startup = time.perf_counter() - start
        print(
            f"local model at {base_url}: " + ("reused" if reused else f"started in {startup:.2f} s")
        )
        latencies: list[float] = []
        rows_per_s, tokens_per_s = bare_loop(base_url, requests, schema, latencies=latencies)
    print(f"bare openai loop, {len(requests)} rows (json_object + schema, temperature 0):")
    print(f"  {rows_per_s:.3f} rows/s   {tokens_per_s:.1f} completion tokens/s")
    print(
        f"  per row: median {statistics.median(latencies):.2f} s, "
        f"min {min(latencies):.2f} s, max {max(latencies):.2f} s"
    )


if __name__ == "__main__":
    main()
