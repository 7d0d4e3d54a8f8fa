"""A row's disposition: the one final outcome the ledger gives every input row of a run.

The ledger (`outputs.outcomes`) writes them, the SLA metrics count them, the summary and the
report show them, the Dagster checks fail on `unprocessed`. Each of those names a disposition
by this enum, never by a bare string, so a misspelt one fails where it is written instead of
counting 0; and a value read back from the store that is not one of these fails too
(`Disposition(value)`).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Disposition(StrEnum):
    """How an input row of a run ended. A `StrEnum`: its `str()` is the value, as the ledger
    stores it, so it reads the same in SQL parameters, reports and Dagster metadata."""

    ENRICHED = "enriched"
    """Met the contract and was published (or will be, once the gate lets the run through)."""
    WITHHELD = "withheld"
    """Met the contract, but a blocking SLA stopped publication."""
    INPUT_QUARANTINED = "input_quarantined"
    """Broke an input expectation (or had no key of its own); never reached the model."""
    OUTPUT_QUARANTINED = "output_quarantined"
    """The model's answer broke the contract."""
    CALL_FAILED = "call_failed"
    """The model call failed after its retries (or fast, with the circuit breaker open)."""
    OVER_BUDGET = "over_budget"
    """Not sent: the run's token or cost budget was reached."""
    UNPROCESSED = "unprocessed"
    """No stage recorded an outcome: a defect, which fails the ledger check."""


SETTLED = frozenset(
    {Disposition.ENRICHED, Disposition.OUTPUT_QUARANTINED, Disposition.INPUT_QUARANTINED}
)
"""Final outcomes: a row that ended so is not due again until its content or the spec changes
(`inputs.scope`). The others (withheld, call_failed, over_budget) are retried by the next run."""


def counts(rows: Iterable[tuple[str, int]]) -> dict[Disposition, int]:
    """(disposition, count) rows read from the ledger, keyed by `Disposition`.

    Raises:
        ValueError: a row holds a value that is not a disposition.
    """
    return {Disposition(d): int(n) for d, n in rows}
