"""The contract document is generated from the spec: its words are the spec's descriptions, it
covers every policy and SLA, and a bad example shows the contract's own reason for rejecting it."""

from __future__ import annotations

import shutil
from pathlib import Path

from governance_pipeline import spec
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
