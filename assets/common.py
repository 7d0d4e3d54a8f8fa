"""What the asset modules share: the stages' keys, the source's key, and metadata."""

from typing import Any

import dagster as dg

from governance_pipeline.spec import ResolvedSpec

STAGES = (
    "validated_input",
    "input_quarantine",
    "model_input",
    "llm_call",
    "staged_output",
    "enriched",
    "output_quarantine",
    "row_ledger",
    "sla_result",
)


def stage_keys(spec: ResolvedSpec) -> dict[str, dg.AssetKey]:
    """The asset key of each stage of a job, e.g. support_triage/enriched."""
    return {stage: dg.AssetKey([spec.name, stage]) for stage in STAGES}


def source_key(spec: ResolvedSpec) -> dg.AssetKey:
    """The asset key of a job's raw source table, e.g. raw/support_tickets."""
    return dg.AssetKey(spec.job.source.table.split("."))


def meta(figures: dict[str, Any]) -> dict[str, Any]:
    """Dagster metadata from a stage's figures: numbers stay numbers, the rest becomes JSON."""
    return {
        k: v if isinstance(v, (int, float, str)) else dg.MetadataValue.json(v)
        for k, v in figures.items()
    }
