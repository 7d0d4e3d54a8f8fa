"""SLAs: a run held against the promises of its spec, as a vendor's SLA report reads.

    metrics   compliance, error rate, latency, cost, tokens, freshness over a window of runs
    verdicts  each SLA judged (Wilson bounds, minimum samples, error budget), `sla_result`
    summary   a run's figures read back from the store
    report    the summary and the SLA table for the terminal (80 columns, worst first)

The verdicts' names are re-exported here (`sla.evaluate`, `sla.SlaVerdict`...).
"""

from governance_pipeline.sla.verdicts import (
    SlaState,
    SlaVerdict,
    as_markdown,
    as_metadata,
    budget_left,
    evaluate,
    in_report_order,
    judge,
    verdicts_of,
)

__all__ = [
    "SlaState",
    "SlaVerdict",
    "as_markdown",
    "as_metadata",
    "budget_left",
    "evaluate",
    "in_report_order",
    "judge",
    "verdicts_of",
]
