"""governance-pipeline: a governance layer for LLM enrichment jobs in data pipelines.

The public names below are the library's surface; Dagster definitions live in `assets/`.
"""

import logging

from governance_pipeline.contracts import Contract, Verdict, Violation
from governance_pipeline.endpoint import Endpoint, resolve_endpoint
from governance_pipeline.errors import (
    EndpointError,
    GovernanceError,
    RedactionError,
    SpecError,
    StoreError,
)
from governance_pipeline.redaction import Entity, Redactor, find_pii
from governance_pipeline.settings import Settings, StructuredOutput
from governance_pipeline.spec import Level, ResolvedSpec, Severity, load

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "Contract",
    "Endpoint",
    "EndpointError",
    "Entity",
    "GovernanceError",
    "Level",
    "RedactionError",
    "Redactor",
    "ResolvedSpec",
    "Settings",
    "Severity",
    "SpecError",
    "StoreError",
    "StructuredOutput",
    "Verdict",
    "Violation",
    "find_pii",
    "load",
    "resolve_endpoint",
]
