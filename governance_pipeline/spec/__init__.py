"""The spec: what a job is for and how its model must behave, as YAML in specs/.

`models` holds the pydantic models of the files; `fields` an output field and what it means,
the one reading the prompt, the contract, the store and the contract document share;
`loading` parses the files (with line numbers for errors), resolves inheritance and the chain
of command, and hashes the result; `identifiers` checks the names a run writes into SQL;
`folder` sorts a folder's files into jobs, base specs and broken files, and loads them past a
broken one. Loaded on demand (they need the store or the output rules): `contract_doc`, the
document `govern docs` writes; `changes`, what changed since the store's earlier version of a
spec; `explain`, `govern validate --explain`.
"""

from governance_pipeline.spec.fields import OutputField
from governance_pipeline.spec.folder import LoadedFolder, SpecFolder, discover, load_folder, scan
from governance_pipeline.spec.loading import check_base, load, spec_hash, user_policy
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
    Partitions,
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
    "check_base",
    "Column",
    "discover",
    "Example",
    "JobSpec",
    "Level",
    "load",
    "load_folder",
    "LoadedFolder",
    "Metric",
    "ModelParams",
    "Origin",
    "OutputField",
    "Partitions",
    "Policy",
    "Redaction",
    "Resolved",
    "ResolvedSpec",
    "RollingRuns",
    "scan",
    "Schedule",
    "Severity",
    "severity_of",
    "Sla",
    "Source",
    "SpecFolder",
    "spec_hash",
    "user_policy",
]
