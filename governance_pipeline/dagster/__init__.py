"""The Dagster integration: the only part of the library that imports dagster.

    definitions    `governed_definitions`: a project's governed jobs, for its code location
    factory        one spec in, one job out: assets, checks, job, schedule
    partitions     a spec's `partitions:` as Dagster time-window partitions, its schedule of
                   the latest partition, and the keys `govern run --partition` accepts
    input_assets   validated_input (+ input_quarantine), model_input; checks input_batch, no_pii
    model_assets   llm_call, with the embedded model served for the step when it is the endpoint
    output_assets  staged_output (+ output_quarantine), row_ledger, sla_result, enriched
    resources      the store, the endpoint and a run's user instructions, as resources
    sensors        failed checks and runs become incidents and alerts
    run            `govern run`: one in-process run on the project's Dagster instance
    common         what the asset modules share

Only the CLI (and a project's own code location) imports this package.
"""

from governance_pipeline.dagster.definitions import governed_definitions

__all__ = ["governed_definitions"]
