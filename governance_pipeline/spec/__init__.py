"""The spec: what a job is for and how its model must behave, as YAML in specs/.

`models` holds the pydantic models of the files; `loading` parses them (with line numbers for
errors), resolves inheritance and the chain of command, and hashes the result.
"""

from governance_pipeline.spec.loading import discover, load, spec_hash, user_policy
from governance_pipeline.spec.models import (
    BadOutput,
    BaseSpec,
    Budget,
    Column,
    Example,
    JobSpec,
    Level,
    Metric,
    ModelParams,
    Origin,
    OutputField,
    Policy,
    Redaction,
    Resolved,
    ResolvedSpec,
    RollingRuns,
    Schedule,
    Severity,
    Sla,
    Source,
    severity_of,
)

__all__ = [
    "BadOutput",
    "BaseSpec",
    "Budget",
    "Column",
    "discover",
    "Example",
    "JobSpec",
    "Level",
    "load",
    "Metric",
    "ModelParams",
    "Origin",
    "OutputField",
    "Policy",
    "Redaction",
    "Resolved",
    "ResolvedSpec",
    "RollingRuns",
    "Schedule",
    "Severity",
    "severity_of",
    "Sla",
    "Source",
    "spec_hash",
    "user_policy",
]
