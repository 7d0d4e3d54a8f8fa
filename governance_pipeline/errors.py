"""The exceptions governance-pipeline raises.

    GovernanceError
    ├── ProjectError         no project here (no governance.yaml at or above this folder)
    ├── ConfigError          a GOVERNANCE_ variable holds a value its setting cannot take
    ├── SpecError            a spec file is malformed, inconsistent or points at nothing
    ├── StoreError           the DuckDB store cannot be opened or is missing a table
    ├── EndpointError        the model endpoint is misconfigured or cannot be started
    └── RedactionError       a redaction key is missing, or a reidentification is refused

Bad rows are never exceptions: they are quarantined with a reason. These errors are for what a
person must fix before a run can go on, and each message says what to do.
"""

from __future__ import annotations

from pathlib import Path


class GovernanceError(Exception):
    """Root of every error this package raises on purpose."""


class ProjectError(GovernanceError):
    """No governance project where one was looked for, or a setting names a wrong one."""


class ConfigError(GovernanceError):
    """A setting from the environment is invalid; the message names the variable."""


class SpecError(GovernanceError):
    """A spec file is malformed, inconsistent, or names something that does not exist.

    Attributes:
        file: The spec file at fault.
        field: Dotted path of the offending field, when known.
        line: 1-based line of the field in the file, when known.
    """

    def __init__(
        self, message: str, *, file: Path | str, field: str | None = None, line: int | None = None
    ) -> None:
        self.file = Path(file)
        self.field = field
        self.line = line
        self.detail = message
        where = f"{self.file}:{line}" if line else str(self.file)
        at = f" ({field})" if field else ""
        super().__init__(f"{where}{at}: {message}")


class StoreError(GovernanceError):
    """The DuckDB store cannot be opened, or a table a stage needs is missing."""


class EndpointError(GovernanceError):
    """The model endpoint is misconfigured, or the embedded model cannot be started."""


class RedactionError(GovernanceError):
    """A redaction operator cannot run (a key is missing) or a reidentification is refused."""
