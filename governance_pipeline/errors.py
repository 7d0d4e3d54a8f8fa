"""The exceptions governance-pipeline raises.

    GovernanceError
    ├── ProjectError            no project here (no governance.yaml at or above this folder)
    ├── ConfigError             a GOVERNANCE_ variable holds a value its setting cannot take
    ├── SpecError               a spec file is malformed, inconsistent or points at nothing
    ├── StoreError              the DuckDB store cannot be opened, is missing a table or a row
    ├── EndpointError           the model endpoint is misconfigured or cannot be started
    ├── RedactionError          a redaction key is missing, or a reidentification is refused
    ├── DeliveryError           an alert sink did not take an alert (`retriable` says if a
    │                           second try may help); recorded as a failed delivery
    └── SinkNotConfiguredError  an alert sink's environment variable is unset; recorded as a
                                skipped delivery

Bad rows are never exceptions: they are quarantined with a reason. These errors are for what a
person must fix before a run can go on, and each message says what to do. The two alerting
errors never end a run: `alerting.incidents` records them and goes on.

Every error survives pickling with its message and attributes, whatever its constructor takes:
errors raised in the model-input worker processes cross back to the run that started them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


class GovernanceError(Exception):
    """Root of every error this package raises on purpose."""

    def __reduce__(self) -> tuple[Callable[..., GovernanceError], tuple[Any, ...]]:
        # Exception's own reduce calls `cls(*self.args)`, which fails for a constructor with
        # other required or keyword-only parameters (SpecError's `file`, DeliveryError's
        # `retriable`): rebuild from the args and attributes instead, without the constructor.
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(
    cls: type[GovernanceError], args: tuple[Any, ...], state: dict[str, Any]
) -> GovernanceError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


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


class DeliveryError(GovernanceError):
    """An alert sink did not take an alert.

    Messages never hold a URL, key or password: only the sink, a status code or an exception
    class.

    Attributes:
        retriable: Whether another try may succeed (a 5xx, a 429, a timeout, a refused
            connection), or not (a 4xx: the sink is misconfigured).
    """

    def __init__(self, message: str, retriable: bool) -> None:
        super().__init__(message)
        self.retriable = retriable


class SinkNotConfiguredError(GovernanceError):
    """An alert sink's environment variable is unset: the sink is skipped."""
