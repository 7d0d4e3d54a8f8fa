"""Tests for `ResolvedSpec.output_hash`: the part of a spec a row's outcome depends on.

A run takes again every row settled under another output hash (`inputs.scope`), so the hash
must change with what the model sees or the contract judges (a policy, an output field, the
prompt, the redaction, an input rule), and stay with what only documents the job or holds the
run as a whole (SLAs, schedule, budget, alerts, pacing, descriptions): otherwise a new SLA
would redo the whole table, or a new policy would leave every row with a stale verdict.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from governance_pipeline import spec
from tests.conftest import SPEC_DIR

JOB = "support_triage.yaml"


def edited(tmp_path: Path, old: str, new: str) -> spec.ResolvedSpec:
    folder = tmp_path / "specs"
    shutil.copytree(SPEC_DIR, folder)
    text = (folder / JOB).read_text()
    assert text.count(old) == 1, old
    (folder / JOB).write_text(text.replace(old, new))
    return spec.load(folder / JOB)


ORIGINAL = spec.load(SPEC_DIR / JOB)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("max: 5000\n", "max: 6000\n"),  # an SLA
        ('cron: "0 6 * * *"', 'cron: "0 7 * * *"'),  # the schedule
        ("max_cost_usd: 5.0", "max_cost_usd: 9.0"),  # the budget
        ("owner: support-analytics@acme.example", "owner: ops@acme.example"),
        ("name: Support ticket triage", "name: Ticket triage"),
        ("concurrency: 4", "concurrency: 8"),  # pacing
        ("max_retries: 2", "max_retries: 5"),
        ("description: Every ticket gets a summary.", "description: Summaries for all."),
        ("description: Subject line.", "description: The subject."),  # a column's description
        ("min_rows: 1", "min_rows: 5"),  # a batch rule stops a run; it judges no row
    ],
)
def test_what_no_row_depends_on_keeps_the_hash(tmp_path: Path, old: str, new: str) -> None:
    changed = edited(tmp_path, old, new)
    assert changed.spec_hash != ORIGINAL.spec_hash  # the spec did change
    assert changed.output_hash == ORIGINAL.output_hash


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("medium otherwise.", "medium otherwise; high for an outage."),  # a policy's instruction
        (
            "check: {type: max_length, field: summary, max: 280}",
            "check: {type: max_length, field: summary, max: 200}",
        ),  # a policy's check
        ("enum: [low, medium, high]", "enum: [low, medium, high, critical]"),  # an output field
        ("temperature: 0", "temperature: 0.3"),
        ("max_tokens: 200", "max_tokens: 300"),
        ("prompt_columns: [channel, subject, body]", "prompt_columns: [subject, body]"),
        ("known_values: [customer_name]", "known_values: []"),  # redaction
        ("max_length: 4000", "max_length: 3000"),  # an input rule: which rows are quarantined
    ],
)
def test_what_a_row_depends_on_changes_the_hash(tmp_path: Path, old: str, new: str) -> None:
    assert edited(tmp_path, old, new).output_hash != ORIGINAL.output_hash


def test_a_user_instruction_changes_the_hash() -> None:
    instructed = spec.load(SPEC_DIR / JOB, ["Be terse."])
    assert instructed.output_hash != ORIGINAL.output_hash
