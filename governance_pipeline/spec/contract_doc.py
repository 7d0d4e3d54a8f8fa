"""`govern docs`: a job's contract as a document a stakeholder can read, in Markdown and HTML.

Generated from the resolved spec, never written by hand: every sentence of it comes from the
spec's own descriptions, so the document cannot drift from what a run enforces. It says, as a
data contract does (datacontract-cli's HTML export has the same parts): who answers for the job
(the spec's `owner`) and where its output is published (`<job>.enriched`, and which store); what
it reads and the bounds each input column is held to; what the model sees; the output fields;
the policies by authority; the SLAs with their window, blocking flag, confidence and minimum
sample; the worked examples; and, given the store's history (`spec.changes`), the fields
changed since the earlier version of the spec. Paths are relative to the project's root.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import jinja2
from markdown_it import MarkdownIt

from governance_pipeline import project
from governance_pipeline.alerting.config import SEVERITIES, EmailSink
from governance_pipeline.inputs import expectations
from governance_pipeline.outputs.contracts import Contract
from governance_pipeline.spec import Level, Policy, Resolved, ResolvedSpec, Sla, severity_of
from governance_pipeline.spec.changes import History
from governance_pipeline.spec.explain import enforcement

TEMPLATE = """\
# Contract: {{ job.name or job.job }}

{{ job.description | trim }}

| | |
|---|---|
| Job | `{{ job.job }}` |
| Owner (contact) | {{ job.owner | cell }} |
| Published as | `{{ job.job }}.enriched` in {{ store }} |
| Schedule | {{ schedule }} |
| Spec version | `{{ spec.spec_hash }}` (content hash of the resolved spec) |
| Inherits from | {{ bases }} |

## Publication and contact

Rows that meet the contract are published to the table `{{ job.job }}.enriched` in
{{ store }}: one row per `{{ job.source.key }}`, with the output fields below, the warnings
recorded on it, and the run and spec version that published it. A run whose blocking SLA
breaks publishes nothing: the table keeps its previous rows. Every input row's outcome, published
or not, is in `{{ job.job }}.row_ledger`, with its reason.

Questions about this contract, requests to change it and incidents go to
{{ job.owner }}, who answers for the job. Alerts go to {{ alert_routes }}.
{% if history is not none %}

## Changes since the last version

{% if history.first_version %}
This is the first version of the spec: the store holds no earlier version of `{{ job.job }}`.
{% elif not history.changes %}
The store's earlier version, `{{ history.previous_hash }}`, differs only in where its parts are
declared.
{% else %}
Since `{{ history.previous_hash }}`{% if history.previous_seen %} (first run
{{ history.previous_seen.strftime("%Y-%m-%d %H:%M") }} UTC){% endif %}, these fields changed:

| field | before | now |
|---|---|---|
{% for c in history.changes %}
| `{{ c.field }}` | {{ c.before | value | cell }} | {{ c.after | value | cell }} |
{% endfor %}
{% endif %}
{% endif %}

## Data in scope

Rows come from `{{ job.source.table }}`, one per `{{ job.source.key }}`. A run stops before any
model call when the table has fewer rows than {{ job.source.min_rows }} or lacks a column below.
A row that breaks an expectation is quarantined with the expectation's id and never reaches the
model.
{% if job.partitions %}

Runs are partitioned {{ job.partitions.granularity }} by `{{ job.partitions.column }}`, from
{{ job.partitions.start.isoformat(sep=" ") }} ({{ job.partitions.timezone }}): a run takes the
rows of one {{ "day" if job.partitions.granularity == "daily" else "hour" }}, and its ledger and
SLAs are that partition's.
{% endif %}

| column | meaning | expectations |
|---|---|---|
{% for name, col in job.source.columns.items() %}
| `{{ name }}` | {{ col.description | cell }} | {{ expectations[name] }} |
{% endfor %}

## What the model sees

The model sees {{ job.model.prompt_columns | map("code") | join(", ") }} of each row, inside a
block marked as untrusted data: instructions found in the data are treated as information, never
obeyed. Before that, {{ job.redaction.entities | map(attribute="value") | join(", ") }} found in
{{ job.redaction.columns | map("code") | join(", ") }} are replaced by typed placeholders such as
`<EMAIL_1>`{% if job.redaction.known_values %}, and the names held in
{{ job.redaction.known_values | map("code") | join(", ") }} by `<NAME_1>`{% endif %}.
Only the counts of what was redacted are recorded, never the values.

**Task.** {{ job.model.task | trim }}

**Model.** {{ job.model.name or "The endpoint's default model" }}, temperature
{{ job.model.temperature }}, at most {{ job.model.max_tokens }} output tokens per row,
{{ job.model.concurrency }} calls at once, {{ job.model.max_retries }} retries and a
{{ job.model.timeout_s | int }} s timeout per call.
{% if budget %}
Budget per run: {{ budget }}; rows beyond it are not sent and end `over_budget`.
{% endif %}
{% if daily_budget %}
Budget per day (UTC), all the job's runs together: {{ daily_budget }}; rows beyond it are not
sent and end `over_budget`.
{% endif %}

## Output

Each answer is one JSON object with these fields:

| field | type | meaning | allowed |
|---|---|---|---|
{% for name, f in job.output.items() %}
| `{{ name }}` | {{ f.type }} | {{ f.description | cell }} | {{ allowed[name] }} |
{% endfor %}

## Policies

Authority runs platform > developer > user > guideline. Platform rules bind every job and cannot
be overridden; developer rules only where they say so; guidelines give way to any level above.
Row data has no authority. A broken ERROR rule quarantines the row; a broken WARN rule is
recorded on the published row.
{% for level, policies in levels %}

### {{ level | capitalize }}

{% for rp in policies %}
- {{ policy_line(rp) }}
{% endfor %}
{% endfor %}

## Service levels

| SLA | promise | measured over | severity | blocking | held to | minimum sample | meaning |
|---|---|---|---|---|---|---|---|
{% for rs in spec.slas %}
{{ sla_row(rs.item) }}
{% endfor %}

Each SLA is a Dagster asset check on `{{ job.job }}/sla_result`; a failed check becomes an alert.
A blocking SLA's breach stops publication: the run's outputs are withheld. A rate held to a
confidence is judged on its Wilson bound (the lower one for a minimum, the upper for a maximum)
rather than the measured share; below its minimum sample (rows, calls or runs) a shortfall is
reported but no breach is declared.
{% if job.examples %}

## Worked examples

These examples are also evals: the contract must accept each good answer and reject each bad one.
{% for ex in job.examples %}

### Example {{ loop.index }}

Input:

```json
{{ ex.input | tojson_pretty }}
```

Good answer:

```json
{{ ex.good | tojson_pretty }}
```
{% for bad in ex.bad %}

Rejected ({{ bad.reason | trim }}):

```json
{{ bad.output | tojson_pretty }}
```

The contract finds: {{ rejection(bad.output) }}
{% endfor %}
{% endfor %}
{% endif %}

---
_Generated by `govern docs {{ job.job }}` from `{{ spec_path }}`. Do not edit by hand._
"""


def _policy_line(rp: Resolved[Policy], root: Path | None) -> str:
    p = rp.item
    traits = [severity_of(p.level).value, enforcement(p)]
    if p.overridable:
        traits.append("overridable by users")
    line = f"**{p.id}** ({'; '.join(traits)}): {' '.join(p.description.split())}"
    if rp.overrides is None:
        return line
    where = _relative(rp.overrides.file, root)
    at = f"{where}:{rp.overrides.line}" if rp.overrides.line else where
    return line + f" _Replaces the rule at {at}._"


def _sla_row(s: Sla) -> str:
    """One SLA as a row of the document's table: its promise, window, severity, whether it
    blocks publication, the figure held to the promise, the minimum sample and its words."""
    sign, bound = (">=", s.min) if s.min is not None else ("<=", s.max)
    assert bound is not None
    if s.window == "run":
        window = "each run"
    elif s.window == "day":
        window = "the runs of the last 24 hours"
    else:
        window = f"the last {s.window.runs} runs"
    held_to = "measured value"
    if s.confidence is not None:
        held_to = f"Wilson {'lower' if s.min is not None else 'upper'} bound, {s.confidence:.0%}"
    cells = [
        s.id,
        f"{s.metric.value} {sign} {bound:g}",
        window,
        severity_of(s.level).value,
        "yes" if s.blocking else "no",
        held_to,
        str(s.min_sample) if s.min_sample else "none",
        s.description,
    ]
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _expectations(spec: ResolvedSpec) -> dict[str, str]:
    """Each column's rules in the words of its compiled expectations, so the document says what
    validation enforces (where two expectations share an id, the later, more precise one)."""
    described: dict[str, dict[str, str]] = {name: {} for name in spec.job.source.columns}
    for e in expectations.compile_suite(spec.job)["expectations"]:
        rule_id = e["meta"]["id"]
        column = rule_id.split(".")[1]
        if column in described:
            described[column][rule_id] = e["meta"]["description"]
    return {name: _cell("; ".join(rules.values())) for name, rules in described.items()}


def _cell(text: str) -> str:
    """Text for a Markdown table cell: on one line (a folded YAML description's newlines would
    end the row), and a regex's `|`, `*` or `[` stays text."""
    return re.sub(r"([\\|*`\[\]<])", r"\\\1", " ".join(str(text).split()))


def _value(v: Any, limit: int = 80) -> str:
    """A field's value in the list of changes: JSON, cut at `limit` characters."""
    text = "absent" if v is None else json.dumps(v, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _relative(path: str | Path, root: Path | None) -> str:
    """A path as the project knows it: relative to its root, never the machine's own layout."""
    p = Path(path)
    if root is not None and p.is_absolute() and p.is_relative_to(root):
        return p.relative_to(root).as_posix()
    return p.as_posix() if not p.is_absolute() else p.name


def _store_words(store: Path | str | None, root: Path | None) -> str:
    """Which store, in words: its kind, and a DuckDB file's path (a PostgreSQL URL may hold a
    password, so only its kind)."""
    if store is None:
        return "the governance store (`$GOVERNANCE_DB`)"
    if "://" in str(store):
        return "the PostgreSQL store"
    path = Path(store)
    if root is not None and path.is_absolute() and not path.is_relative_to(root):
        return f"the DuckDB store `{path.name}` (outside the project: see `$GOVERNANCE_DB`)"
    return f"the DuckDB store `{_relative(store, root)}`"


def _alert_routes(spec: ResolvedSpec) -> str:
    routes = []
    for sink in spec.alerts.sinks:
        route = sink.label + (f" ({', '.join(sink.to)})" if isinstance(sink, EmailSink) else "")
        if len(sink.severities) < len(SEVERITIES):
            route += f" for {'/'.join(sink.severities)}"
        routes.append(route)
    return ", ".join(routes) or "nowhere (the spec names no sink)"


def render_markdown(
    spec: ResolvedSpec,
    *,
    root: Path | None = None,
    store: Path | str | None = None,
    history: History | None = None,
) -> str:
    """The contract document in Markdown.

    Args:
        root: The project's root; paths are shown relative to it (default: found from the
            spec's folder, as `govern` finds it).
        store: The store the job publishes to (`Settings.db`), for "published as".
        history: The spec's earlier version in the store (`spec.changes.history`); without
            it the document has no section of changes.
    """
    job = spec.job
    contract = Contract(spec)
    root = root if root is not None else project.find_root(Path(spec.path).parent)

    def rejection(output: dict[str, Any]) -> str:
        errors = contract.check(json.dumps(output)).errors
        return "; ".join(str(v) for v in errors) or "**nothing: the contract accepts it**"

    env = jinja2.Environment(autoescape=False, trim_blocks=True, lstrip_blocks=True)
    env.filters["code"] = lambda v: f"`{v}`"
    env.filters["cell"] = _cell
    env.filters["value"] = _value
    env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=2, ensure_ascii=False)
    budget = _caps(job.budget.max_tokens, job.budget.max_cost_usd)
    daily_budget = _caps(job.budget.max_tokens_per_day, job.budget.max_cost_usd_per_day)
    levels = [
        (level.value, [rp for rp in spec.policies if rp.item.level is level])
        for level in Level
        if any(rp.item.level is level for rp in spec.policies)
    ]
    return env.from_string(TEMPLATE).render(
        spec=spec,
        job=job,
        schedule=(
            f"`{job.schedule.cron}` ({job.schedule.timezone})" if job.schedule else "on demand"
        ),
        bases=", ".join(f"`{b}`" for b in job.extends) or "nothing",
        expectations=_expectations(spec),
        allowed={n: _cell(f.describe()) for n, f in job.output.items()},
        budget=budget,
        daily_budget=daily_budget,
        levels=levels,
        enforcement=enforcement,
        rejection=rejection,
        policy_line=lambda rp: _policy_line(rp, root),
        sla_row=_sla_row,
        store=_store_words(store, root),
        alert_routes=_alert_routes(spec),
        history=history,
        spec_path=_relative(spec.path, root),
    )


def render_html(markdown: str, title: str) -> str:
    """The Markdown document as a standalone HTML page."""
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
        f"<body>\n{body}</body></html>\n"
    )


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5;color:#222}table{border-collapse:collapse;margin:1rem 0}"
    "th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}"
    "th{background:#f4f4f4}code,pre{background:#f6f6f6;border-radius:3px}"
    "pre{padding:.6rem;white-space:pre-wrap;overflow-wrap:anywhere}"
)


def write_documents(
    spec: ResolvedSpec,
    out_dir: Path,
    *,
    root: Path | None = None,
    store: Path | str | None = None,
    history: History | None = None,
) -> tuple[Path, Path]:
    """Write `<job>.md` and `<job>.html` into `out_dir` (see `render_markdown`); return their
    paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown = render_markdown(spec, root=root, store=store, history=history)
    md_path, html_path = out_dir / f"{spec.name}.md", out_dir / f"{spec.name}.html"
    md_path.write_text(markdown, encoding="utf-8")
    title = f"Contract: {spec.job.name or spec.name}"
    html_path.write_text(render_html(markdown, title), encoding="utf-8")
    return md_path, html_path


def _caps(tokens: int | None, cost_usd: float | None) -> str:
    """A budget's caps in words, e.g. `50,000 tokens, $2`; empty when none is set."""
    parts = (f"{tokens:,} tokens" if tokens else "", f"${cost_usd:g}" if cost_usd else "")
    return ", ".join(part for part in parts if part)
