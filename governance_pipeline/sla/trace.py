"""One row's whole story, read back from the store: what `govern trace` prints.

The trace follows the pipeline: the raw row (each value described, never shown when it is text
or holds PII: `body: text (412 chars; EMAIL x1, PHONE x1)`), the input verdict, the redactions,
the messages sent (rebuilt from the redacted model input with the run's spec, and checked
against the stored request hash), each call attempt, the answer as stored at rest, each output
rule's verdict, the row's disposition and where it was published. Everything but the raw row
comes from the view `<job>.row_audit` (see `store.ddl.row_audit_ddl`) and `llm_call`.

`model_input` is a working table, so the messages of a run older than the last closed one can
no longer be rebuilt; the trace says so instead of guessing.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import duckdb
from rich.console import Console

from governance_pipeline.errors import StoreError
from governance_pipeline.inputs.redaction.detectors import detect
from governance_pipeline.llm.calls import request_hash
from governance_pipeline.llm.endpoint import resolve_endpoint
from governance_pipeline.llm.prompts import RequestBuilder
from governance_pipeline.outputs.contracts import Contract
from governance_pipeline.settings import Settings, StructuredOutput
from governance_pipeline.spec import ResolvedSpec
from governance_pipeline.store import first, first_record, table_exists


@dataclass
class RowTrace:
    """Everything the store knows about one key in one run."""

    job: str
    key: str
    run_id: str
    raw: dict[str, str] = field(default_factory=dict)
    """Column to a description of its raw value: PII as entity types only."""
    input_verdict: str = "passed"
    redactions: dict[str, int] = field(default_factory=dict)
    messages: list[dict[str, str]] = field(default_factory=list)
    request_hash: str | None = None
    hash_check: str = "no request: the row never reached the model"
    attempts: list[dict[str, Any]] = field(default_factory=list)
    answer: str | None = None
    rules: list[dict[str, str]] = field(default_factory=list)
    recorded_output_verdict: str | None = None
    disposition: str = ""
    reason: str | None = None
    published: str = "not published"

    def as_json(self) -> str:
        """The trace as one JSON document."""
        return json.dumps(asdict(self), indent=2, default=str)


def describe_value(value: Any) -> str:
    """A raw value as the trace shows it: text by its length and the PII entity types found
    in it, never its content; another value as it is unless the detectors find PII in it."""
    if value is None:
        return "null"
    text = value if isinstance(value, str) else str(value)
    found = Counter(f.entity.value for f in detect(text))
    pii = ", ".join(f"{entity} x{n}" for entity, n in sorted(found.items()))
    if isinstance(value, str):
        return f"text ({len(value)} chars; {pii or 'no PII pattern found'})"
    return f"{type(value).__name__} ({pii})" if pii else text


def default_run(con: duckdb.DuckDBPyConnection, job: str, key: Any) -> str:
    """The latest run whose ledger holds the key.

    Raises:
        StoreError: no run of the job recorded the key.
    """
    if not table_exists(con, f"{job}.row_ledger"):
        raise StoreError(f"job {job!r} has never run here: `govern run {job}`")
    row = first(
        con,
        f"SELECT l.run_id FROM {job}.row_ledger l LEFT JOIN governance.run r USING (run_id) "
        f"WHERE l.{_key_column(con, job)}::VARCHAR = ? "
        "ORDER BY r.started_at DESC NULLS LAST, l.recorded_at DESC LIMIT 1",
        [str(key)],
    )
    if row is None:
        raise StoreError(f"no run of {job!r} recorded key {key!r} in its ledger")
    return str(row[0])


def _key_column(con: duckdb.DuckDBPyConnection, job: str) -> str:
    """The source key's column: the second column of the ledger (after run_id)."""
    cols = [r[0] for r in con.execute(f"DESCRIBE {job}.row_ledger").fetchall()]
    return f'"{cols[1]}"'


def trace_row(
    con: duckdb.DuckDBPyConnection,
    job: str,
    key: Any,
    run_id: str | None = None,
    settings: Settings | None = None,
) -> RowTrace:
    """The trace of one key of a job in one run (default: the latest run that recorded it).

    Raises:
        StoreError: the job never ran, or the run did not record the key.
    """
    run_id = run_id or default_run(con, job, key)
    k = _key_column(con, job)
    audit = first_record(
        con,
        f"SELECT * FROM {job}.row_audit WHERE run_id = ? AND {k}::VARCHAR = ?",
        [run_id, str(key)],
    )
    if audit is None:
        raise StoreError(f"run {run_id} of {job!r} did not record key {key!r} in its ledger")
    spec = _spec(con, audit["spec_hash"])
    trace = RowTrace(job=job, key=str(key), run_id=run_id, disposition=audit["disposition"])
    trace.reason = audit["reason"]
    if spec is not None:
        trace.raw = _raw(con, spec, key)
    if audit["input_reason"]:
        trace.input_verdict = f"quarantined: {audit['input_reason']}"
    trace.redactions = json.loads(audit["redactions"]) if audit["redactions"] else {}
    trace.request_hash = audit["request_hash"]
    trace.attempts = _attempts(con, job, k, run_id, key)
    data = json.loads(audit["model_input"]) if audit["model_input"] else None
    if spec is not None and data is not None:
        model = trace.attempts[0]["model"] if trace.attempts else None
        trace.messages, trace.hash_check = _messages(
            spec, data, model, trace.request_hash, settings
        )
    elif trace.request_hash:
        trace.hash_check = "not checked: the run's model input is no longer kept (a later run)"
    trace.answer = audit["answer"]
    if audit["output_rules"]:
        trace.recorded_output_verdict = audit["output_reason"] or audit["output_rules"]
    if spec is not None and trace.answer is not None:
        trace.rules = _rules(spec, trace.answer, data or {}, key)
    if audit["published_run"] is None:
        trace.published = f"not published: {job}.enriched holds no row for the key"
    else:
        where = "by this run" if audit["published_here"] else f"by run {audit['published_run']}"
        trace.published = f"in {job}.enriched, published {where}"
    return trace


def _spec(con: duckdb.DuckDBPyConnection, spec_hash: str | None) -> ResolvedSpec | None:
    row = first(
        con, "SELECT resolved FROM governance.spec_version WHERE spec_hash = ?", [spec_hash]
    )
    return None if row is None else ResolvedSpec.model_validate_json(row[0])


def _raw(con: duckdb.DuckDBPyConnection, spec: ResolvedSpec, key: Any) -> dict[str, str]:
    src = spec.job.source
    if not table_exists(con, src.table):
        return {}
    row = first_record(
        con, f'SELECT * FROM {src.table} WHERE "{src.key}"::VARCHAR = ? LIMIT 1', [str(key)]
    )
    return {n: describe_value(v) for n, v in (row or {}).items() if n != src.key}


def _attempts(
    con: duckdb.DuckDBPyConnection, job: str, k: str, run_id: str, key: Any
) -> list[dict[str, Any]]:
    cur = con.execute(
        "SELECT attempt, status, error_class, error, model, served_model, system_fingerprint, "
        "latency_ms, tokens_in, tokens_out, "
        "cost_usd "
        f"FROM {job}.llm_call WHERE run_id = ? AND {k}::VARCHAR = ? ORDER BY attempt, called_at",
        [run_id, str(key)],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _messages(
    spec: ResolvedSpec,
    data: dict[str, Any],
    model: str | None,
    stored: str | None,
    settings: Settings | None,
) -> tuple[list[dict[str, str]], str]:
    """The messages rebuilt from the redacted input, and whether the body hashes as stored.

    The body depends on the spec, the model and the endpoint's structured-output mode; the
    mode is a setting the run does not record, so each is tried, the configured one first.
    """
    endpoint = resolve_endpoint(settings or Settings(), spec.job.model.name)
    if model:
        endpoint = replace(endpoint, model=model)
    modes = [endpoint.structured_output, *StructuredOutput]
    bodies = [
        RequestBuilder(spec, replace(endpoint, structured_output=m)).body(data) for m in modes
    ]
    for mode, body in zip(modes, bodies, strict=True):
        if stored is not None and request_hash(body) == stored:
            return body["messages"], (
                f"verified: the rebuilt request hashes to the stored {stored[:16]} "
                f"(model {endpoint.model}, structured output {mode.value})"
            )
    rebuilt = request_hash(bodies[0])
    if stored is None:
        return bodies[0]["messages"], f"not verified: no stored hash (rebuilt {rebuilt[:16]})"
    return bodies[0]["messages"], (
        f"MISMATCH: the rebuilt request hashes to {rebuilt[:16]}, not the stored {stored[:16]}; "
        "the messages shown may differ from those sent"
    )


def _rules(spec: ResolvedSpec, answer: str, data: dict[str, Any], key: Any) -> list[dict[str, str]]:
    contract = Contract(spec)
    verdict = contract.check(answer, data, key)
    broken = {v.rule_id: v for v in verdict.violations}
    rules = [{"rule": "schema", "verdict": "parsed" if verdict.output is not None else "failed"}]
    for rule_id, _, _ in contract.rules:
        v = broken.pop(rule_id, None)
        rules.append(
            {
                "rule": rule_id,
                "verdict": "passed" if v is None else f"{v.severity.value}: {v.reason}",
            }
        )
    rules += [
        {"rule": v.rule_id, "verdict": f"{v.severity.value}: {v.reason}"} for v in broken.values()
    ]
    return rules


def render(trace: RowTrace, console: Console) -> None:
    """The trace as a person reads it, one section per stage."""

    def section(title: str, lines: list[str]) -> None:
        console.print(f"[bold]{title}[/bold]")
        for line in lines or ["(none)"]:
            console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)

    console.print(f"[bold]{trace.job}[/bold] key {trace.key}, run {trace.run_id}", highlight=False)
    section("raw row (PII shown as entity types)", [f"{c}: {d}" for c, d in trace.raw.items()])
    section("input validation", [trace.input_verdict])
    section("redactions", [f"{e} x{n}" for e, n in trace.redactions.items()])
    msgs = [f"[{m['role']}]\n{m['content']}" for m in trace.messages]
    section("messages sent (redacted)", [*msgs, trace.hash_check])
    section(
        "calls",
        [
            f"attempt {a['attempt']}: {a['status']}"
            + (f" ({a['error'] or a['error_class']})" if a["error_class"] else "")
            + f", {a['latency_ms'] or 0:.0f} ms, {a['tokens_in'] or 0} in / "
            f"{a['tokens_out'] or 0} out tokens, ${a['cost_usd'] or 0:.6f}, model {a['model']}"
            + (f", answered by {a['served_model']}" if a["served_model"] else "")
            + (f" ({a['system_fingerprint']})" if a["system_fingerprint"] else "")
            for a in trace.attempts
        ],
    )
    section("answer (as stored)", [trace.answer] if trace.answer else [])
    rules = [f"{r['rule']}: {r['verdict']}" for r in trace.rules]
    if trace.recorded_output_verdict:
        rules.append(f"recorded in output_quarantine: {trace.recorded_output_verdict}")
    section("output rules (re-judged)", rules)
    section("disposition", [trace.disposition + (f": {trace.reason}" if trace.reason else "")])
    section("published", [trace.published])
