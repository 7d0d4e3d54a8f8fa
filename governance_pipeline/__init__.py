"""governance-pipeline: a governance layer for LLM enrichment jobs in data pipelines.

The folders follow the pipeline, as its asset graph reads:

    spec/       what a job is for and how its model must behave (YAML, loading, documents)
    inputs/     expectations, scope and partitions, validation, redaction, model input: what
                may reach the model
    llm/        the endpoint, prompts, the call layer, cache and call log, batch, local model
    outputs/    rules, contracts, the ledger and publication
    sla/        metrics, verdicts, summary, report
    alerting/   sinks, routes, incidents
    store/      every table's DDL, connections, a run's lifecycle
    dagster/    the Dagster integration (the only place that imports dagster)
    cli/        `govern`
    demo/       demo source tables

The names below are the library's surface. They are loaded on first use, so importing the
package (or `govern --help`) costs no pandas, DuckDB, Great Expectations or Dagster.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from governance_pipeline import lazy
from governance_pipeline.errors import (
    DeliveryError,
    EndpointError,
    GovernanceError,
    ProjectError,
    RedactionError,
    SinkNotConfiguredError,
    SpecError,
    StoreError,
)

if TYPE_CHECKING:
    from governance_pipeline.inputs.redaction import Entity, Redactor, find_pii
    from governance_pipeline.llm.endpoint import Endpoint, resolve_endpoint
    from governance_pipeline.outputs.contracts import Contract, Verdict, Violation
    from governance_pipeline.settings import Settings, StructuredOutput
    from governance_pipeline.spec import Level, ResolvedSpec, Severity, load

logging.getLogger(__name__).addHandler(logging.NullHandler())

_LAZY = {
    "Contract": "governance_pipeline.outputs.contracts",
    "Verdict": "governance_pipeline.outputs.contracts",
    "Violation": "governance_pipeline.outputs.contracts",
    "Endpoint": "governance_pipeline.llm.endpoint",
    "resolve_endpoint": "governance_pipeline.llm.endpoint",
    "Entity": "governance_pipeline.inputs.redaction",
    "Redactor": "governance_pipeline.inputs.redaction",
    "find_pii": "governance_pipeline.inputs.redaction",
    "Settings": "governance_pipeline.settings",
    "StructuredOutput": "governance_pipeline.settings",
    "Level": "governance_pipeline.spec",
    "ResolvedSpec": "governance_pipeline.spec",
    "Severity": "governance_pipeline.spec",
    "load": "governance_pipeline.spec",
}


__getattr__ = lazy.exports(__name__, _LAZY)


__all__ = [
    "Contract",
    "DeliveryError",
    "Endpoint",
    "EndpointError",
    "Entity",
    "GovernanceError",
    "Level",
    "ProjectError",
    "RedactionError",
    "Redactor",
    "ResolvedSpec",
    "Settings",
    "Severity",
    "SinkNotConfiguredError",
    "SpecError",
    "StoreError",
    "StructuredOutput",
    "Verdict",
    "Violation",
    "find_pii",
    "load",
    "resolve_endpoint",
]
