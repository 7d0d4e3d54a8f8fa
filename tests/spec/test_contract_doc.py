"""The contract document is generated from the spec: its words are the spec's descriptions, it
covers every policy and SLA, and a bad example shows the contract's own reason for rejecting it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from governance_pipeline import spec, store
from governance_pipeline.spec.changes import history
from governance_pipeline.spec.contract_doc import render_html, render_markdown
from tests.conftest import SPEC_DIR


def test_document_covers_every_policy_sla_field_and_example() -> None:
    resolved = spec.load(SPEC_DIR / "support_triage.yaml")
    doc = render_markdown(resolved)
    for rp in resolved.policies:
        assert f"**{rp.item.id}**" in doc
    for rs in resolved.slas:
        assert f"| {rs.item.id} |" in doc
    for name in resolved.job.output:
        assert f"| `{name}` |" in doc
    assert resolved.spec_hash in doc
    assert "output.category.enum: category='refunds'" in doc  # the contract's own reason
    assert "_Replaces the rule at specs/platform.yaml:" in doc or "Replaces the rule at" in doc


def test_document_words_come_from_the_spec(tmp_path: Path) -> None:
    shutil.copy(SPEC_DIR / "platform.yaml", tmp_path)
    text = (SPEC_DIR / "support_triage.yaml").read_text()
    words = "Every ticket gets a summary, written for the on-call lead."
    edited = text.replace("description: Every ticket gets a summary.", f"description: {words}")
    assert edited != text
    (tmp_path / "support_triage.yaml").write_text(edited)
    doc = render_markdown(spec.load(tmp_path / "support_triage.yaml"))
    assert words in doc and "Every ticket gets a summary.\n" not in doc


def test_html_is_a_standalone_page() -> None:
    html = render_html("# Title <b>\n\n| a |\n|---|\n| 1 |\n", "Contract: <x>")
    assert html.startswith("<!doctype html>")
    assert "<title>Contract: &lt;x&gt;</title>" in html
    assert "<table>" in html and "<h1>" in html
    assert "&lt;b&gt;" in html  # text from a spec is never raw HTML: placeholders stay visible


def _job(tmp_path: Path, edit: Callable[[str], str] = lambda t: t) -> spec.ResolvedSpec:
    """support_triage in a project of its own under tmp_path, edited by `edit`."""
    (tmp_path / "governance.yaml").write_text("")
    (tmp_path / "specs").mkdir(exist_ok=True)
    shutil.copy(SPEC_DIR / "platform.yaml", tmp_path / "specs")
    text = (SPEC_DIR / "support_triage.yaml").read_text()
    edited = edit(text)
    (tmp_path / "specs" / "support_triage.yaml").write_text(edited)
    return spec.load(tmp_path / "specs" / "support_triage.yaml")


def _sla_rows(doc: str) -> list[str]:
    table = doc[doc.index("| SLA | promise") :].split("\n\n")[0].splitlines()
    return table[2:]


def test_a_folded_description_stays_in_its_row(tmp_path: Path) -> None:
    folded = (
        "    description: >\n"
        "      A morning's triage costs at most one US dollar | or the finance team\n"
        "      hears about it.\n"
    )
    resolved = _job(
        tmp_path,
        lambda t: t.replace(
            "    description: A morning's triage costs at most one US dollar.\n", folded
        ),
    )
    assert resolved.job.slas[2].description.endswith("it.\n")  # what YAML's `>` makes of it
    doc = render_markdown(resolved)
    rows = _sla_rows(doc)
    assert len(rows) == len(resolved.slas)  # no empty row, no row split in two
    assert all(r.startswith(f"| {rs.item.id} |") for r, rs in zip(rows, resolved.slas, strict=True))
    cost = next(r for r in rows if r.startswith("| triage-cost-per-run |"))
    assert "one US dollar \\| or the finance team hears about it. |" in cost
    assert all(r.count(" | ") == rows[0].count(" | ") for r in rows)  # same number of cells
    page = render_html(doc, "t")
    sla_table = page[page.rindex("<table>", 0, page.index("<th>SLA</th>")) :]
    sla_table = sla_table.split("</table>")[0]
    assert sla_table.count("<tr>") == len(resolved.slas) + 1  # the header and one per SLA


def test_two_slas_that_differ_only_by_window_read_differently(tmp_path: Path) -> None:
    weekly = (
        "  - id: triage-compliance-week\n"
        "    level: developer\n"
        "    metric: compliance_rate\n"
        "    min: 0.9\n"
        "    window: {runs: 7}\n"
        "    min_sample: 20\n"
        "    description: At least 90% of triaged tickets meet the contract.\n"
        "  - id: triage-compliance-run\n"
        "    level: developer\n"
        "    metric: compliance_rate\n"
        "    min: 0.9\n"
        "    min_sample: 20\n"
        "    description: At least 90% of triaged tickets meet the contract.\n"
    )
    resolved = _job(tmp_path, lambda t: t.replace("slas:\n", "slas:\n" + weekly, 1))
    rows = {r.split(" | ")[0][2:]: r for r in _sla_rows(render_markdown(resolved))}
    week, run = rows["triage-compliance-week"], rows["triage-compliance-run"]
    assert week.split(" | ")[1:] != run.split(" | ")[1:]
    assert "the last 7 runs" in week and "each run" in run
    # the blocking flag, the confidence and the minimum sample are columns too
    compliance = rows["compliance-rate"].split(" | ")
    assert compliance[4:7] == ["yes", "Wilson lower bound, 95%", "10"]
    assert rows["triage-compliance"].split(" | ")[4:7] == ["yes", "measured value", "20"]
    assert rows["error-rate"].split(" | ")[4:7] == ["no", "measured value", "none"]


def test_a_long_example_is_pretty_printed_in_a_block_that_wraps(tmp_path: Path) -> None:
    long = "The customer was charged twice " + "and again " * 40 + "for the May invoice."
    resolved = _job(
        tmp_path,
        lambda t: t.replace("summary: Double charge.}", f"summary: {long}}}"),
    )
    doc = render_markdown(resolved)
    assert '`{"category": "refunds"' not in doc  # no more one inline line of JSON
    block = doc[doc.index("Rejected (refunds is not a category):") :].split("```")[1]
    assert block.startswith("json\n{\n") and f'  "summary": "{long}"\n' in block
    assert block.count("\n") == 7  # the language, braces, and one line per field
    page = render_html(doc, "t")
    assert "white-space:pre-wrap" in page and "overflow-wrap:anywhere" in page


def test_the_footer_names_the_spec_relative_to_the_project(tmp_path: Path) -> None:
    resolved = _job(tmp_path)
    assert Path(resolved.path).is_absolute()
    doc = render_markdown(resolved, store=tmp_path / "data" / "store.duckdb")
    assert doc.rstrip().endswith("from `specs/support_triage.yaml`. Do not edit by hand._")
    assert str(tmp_path) not in doc  # no path of the machine anywhere
    assert "_Replaces the rule at specs/platform.yaml:" in doc


def test_the_document_says_where_it_is_published_and_whom_to_ask(tmp_path: Path) -> None:
    resolved = _job(tmp_path)
    doc = render_markdown(resolved, store=tmp_path / "data" / "store.duckdb")
    assert (
        "| Published as | `support_triage.enriched` in the DuckDB store `data/store.duckdb` |"
        in doc
    )
    assert "| Owner (contact) | support-analytics@acme.example |" in doc
    assert "email (support-analytics@acme.example) for ERROR" in doc  # who is alerted
    elsewhere = render_markdown(resolved, store=Path("/var/lib/governance/prod.duckdb"))
    assert "`prod.duckdb` (outside the project: see `$GOVERNANCE_DB`)" in elsewhere
    assert "/var/lib" not in elsewhere
    postgres = render_markdown(resolved, store="postgresql://etl:hunter2@db.internal/gov")
    assert "the PostgreSQL store" in postgres and "hunter2" not in postgres


def test_changes_since_the_stores_earlier_version(tmp_path: Path) -> None:
    first = _job(tmp_path)
    with store.connect(tmp_path / "store.duckdb") as con:
        assert history(con, first).first_version
        doc = render_markdown(first, history=history(con, first))
        assert "This is the first version of the spec" in doc
        con.execute(
            "INSERT INTO governance.spec_version VALUES (?, ?, ?, TIMESTAMP '2026-11-01 06:00')",
            [first.spec_hash, first.name, first.model_dump_json()],
        )
        second = _job(
            tmp_path,
            lambda t: t.replace("  temperature: 0\n", "  temperature: 0.2\n").replace(
                "    max: 5000\n", "    max: 5000\n    window: day\n"
            ),
        )
        assert second.spec_hash != first.spec_hash
        past = history(con, second)
        assert past.previous_hash == first.spec_hash
        assert [(c.field, c.before, c.after) for c in past.changes] == [
            ("model.temperature", 0.0, 0.2),
            ("slas.triage-latency-p50.window", "run", "day"),
        ]
        doc = render_markdown(second, history=past)
        assert f"Since `{first.spec_hash}` (first run\n2026-11-01 06:00 UTC)" in doc
        assert "| `model.temperature` | 0.0 | 0.2 |" in doc
        # once a run has recorded the new version, the earlier one is still the one compared
        con.execute(
            "INSERT INTO governance.spec_version VALUES (?, ?, ?, TIMESTAMP '2026-11-02 06:00')",
            [second.spec_hash, second.name, second.model_dump_json()],
        )
        assert history(con, second).previous_hash == first.spec_hash
        assert history(con, first).first_version  # nothing came before the first
