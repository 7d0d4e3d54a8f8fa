"""The asset factory: one spec file in, one governed job out (assets, checks, job, schedule).

    raw source -> validated_input (+ input_quarantine) -> model_input -> llm_call
               -> staged_output (+ output_quarantine) -> row_ledger -> sla_result -> enriched

Publication comes last: the SLA checks marked `blocking` in the spec are blocking asset checks
on `sla_result`, so a breach fails the run before `enriched` is written; the ledger, already
final, records the run's compliant rows as `withheld`.

Every stage's logic lives in the library; the assets only open the store, call it, and turn its
figures into metadata and check results.
"""

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import dagster as dg

from assets.resources import GovernanceStore, ModelEndpoint, RunInstructions
from governance_pipeline import calling, outcomes, sla, stages
from governance_pipeline import model_input as model_input_stage
from governance_pipeline.endpoint import Endpoint
from governance_pipeline.local_model import ensure_local_model
from governance_pipeline.spec import ResolvedSpec, Severity

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


def _severity(severity: Severity) -> dg.AssetCheckSeverity:
    return dg.AssetCheckSeverity.WARN if severity is Severity.WARN else dg.AssetCheckSeverity.ERROR


def _meta(figures: dict[str, Any]) -> dict[str, Any]:
    """Dagster metadata from a stage's figures: numbers stay numbers, the rest becomes JSON."""
    return {
        k: v if isinstance(v, (int, float, str)) else dg.MetadataValue.json(v)
        for k, v in figures.items()
    }


def local_model_serving(endpoint: Endpoint) -> AbstractContextManager[str]:
    """The embedded model for the length of a step: reused if already serving, else started."""
    return ensure_local_model(urlparse(endpoint.base_url).port or 8765)


def check_name(sla_id: str) -> str:
    """The asset check of an SLA, e.g. `sla_triage_compliance` for `triage-compliance`."""
    return f"sla_{sla_id.replace('-', '_').replace('.', '_')}"


def scheduled_at(tags: Mapping[str, str]) -> datetime | None:
    """The schedule tick that launched a run (naive UTC), from Dagster's run tag; None if none."""
    tick = tags.get("dagster/scheduled_execution_time")
    if not tick:
        return None
    parsed = datetime.fromisoformat(tick)
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def source_key(spec: ResolvedSpec) -> dg.AssetKey:
    """The asset key of a job's raw source table, e.g. raw/support_tickets."""
    return dg.AssetKey(spec.job.source.table.split("."))


def build_job(spec: ResolvedSpec) -> dict[str, list[Any]]:
    """Assets, checks, job and schedule of one resolved spec."""
    name = spec.name
    key = {stage: dg.AssetKey([name, stage]) for stage in STAGES}
    group = name

    @dg.multi_asset(
        name=f"{name}__validate_input",
        specs=[
            dg.AssetSpec(
                key["validated_input"],
                deps=[source_key(spec)],
                group_name=group,
                description="Source rows that meet every input expectation.",
            ),
            dg.AssetSpec(
                key["input_quarantine"],
                deps=[source_key(spec)],
                group_name=group,
                description="Source rows that broke an expectation, with its id.",
            ),
        ],
        check_specs=[
            dg.AssetCheckSpec(
                "input_batch",
                asset=key["validated_input"],
                blocking=True,
                description="Batch-level expectations: schema (drift names the columns), "
                "row count and freshness; a failure stops the job before any model call.",
            ),
        ],
    )
    def validate_input(
        context: dg.AssetExecutionContext,
        store: GovernanceStore,
        endpoint: ModelEndpoint,
        instructions: RunInstructions,
    ) -> Any:
        run_spec = instructions.apply(spec)
        with store.connect() as con:
            figures = stages.validate_input(
                con, run_spec, context.run.run_id, endpoint.resolve(spec.job.model.name)
            )
        failures = figures["batch_failures"]
        yield dg.MaterializeResult(
            asset_key=key["validated_input"],
            metadata=_meta(
                {k: figures[k] for k in ("rows_in", "validated")}
                | {"spec_hash": run_spec.spec_hash}
            ),
        )
        yield dg.MaterializeResult(
            asset_key=key["input_quarantine"],
            metadata=_meta({k: figures[k] for k in ("quarantined", "quarantined_by_rule")}),
        )
        yield dg.AssetCheckResult(
            asset_key=key["validated_input"],
            check_name="input_batch",
            passed=not failures,
            severity=dg.AssetCheckSeverity.ERROR,
            description=figures["batch_message"] if failures else "schema, row count, freshness ok",
            metadata={"failed": dg.MetadataValue.json(failures)},
        )

    @dg.asset(
        key=key["model_input"],
        deps=[key["validated_input"]],
        group_name=group,
        description="Redacted rows and their request hashes: exactly what the model will see.",
        check_specs=[
            dg.AssetCheckSpec(
                "no_pii",
                asset=key["model_input"],
                blocking=True,
                description="No detectable PII in any model input.",
            )
        ],
    )
    def model_input(
        store: GovernanceStore, endpoint: ModelEndpoint, instructions: RunInstructions
    ) -> dg.MaterializeResult:
        run_spec = instructions.apply(spec)
        with store.connect() as con:
            figures = stages.build_model_input(con, run_spec, endpoint.resolve(spec.job.model.name))
            scanned = model_input_stage.scan(con, run_spec)  # every row, for the spec's entities
        leaks = scanned["rows_with_pii"]
        return dg.MaterializeResult(
            metadata=_meta(figures),
            check_results=[
                dg.AssetCheckResult(
                    check_name="no_pii",
                    passed=leaks == 0,
                    severity=dg.AssetCheckSeverity.ERROR,
                    description=f"{leaks} of {scanned['rows_scanned']} rows hold detectable PII"
                    + (f" ({', '.join(sorted(scanned['by_entity']))})" if leaks else ""),
                    metadata=_meta(scanned),
                )
            ],
        )

    @dg.asset(
        key=key["llm_call"],
        deps=[key["model_input"]],
        group_name=group,
        description="Every model call: cache hits, tokens, cost, latency, status.",
    )
    def llm_call(
        context: dg.AssetExecutionContext,
        store: GovernanceStore,
        endpoint: ModelEndpoint,
        instructions: RunInstructions,
    ) -> dg.MaterializeResult:
        resolved = endpoint.resolve(spec.job.model.name)
        context.log.info(f"calling the {resolved.describe()}")
        last_logged = [0]

        def progress(done: int, total: int) -> None:
            if done == total or done - last_logged[0] >= max(1, total // 10):
                last_logged[0] = done
                context.log.info(f"LLM stage: {done}/{total} rows")

        serving = local_model_serving(resolved) if resolved.local else nullcontext()
        with serving, store.connect() as con:
            figures = calling.call_model(
                con, instructions.apply(spec), resolved, on_progress=progress
            )
        return dg.MaterializeResult(metadata=_meta(figures))

    @dg.multi_asset(
        name=f"{name}__judge",
        specs=[
            dg.AssetSpec(
                key["staged_output"],
                deps=[key["llm_call"]],
                group_name=group,
                description="Outputs that meet the contract, waiting for the publication gate.",
            ),
            dg.AssetSpec(
                key["output_quarantine"],
                deps=[key["llm_call"]],
                group_name=group,
                description="Outputs that broke the contract, with the reason.",
            ),
        ],
    )
    def judge(store: GovernanceStore, instructions: RunInstructions) -> Any:
        with store.connect() as con:
            figures = outcomes.stage(con, instructions.apply(spec))
        yield dg.MaterializeResult(
            asset_key=key["staged_output"],
            metadata=_meta(
                {
                    k: figures[k]
                    for k in ("judged", "compliant", "with_warnings", "compliance_rate")
                    if figures[k] is not None
                }
            ),
        )
        yield dg.MaterializeResult(
            asset_key=key["output_quarantine"],
            metadata=_meta({"quarantined": figures["quarantined"]}),
        )

    @dg.asset(
        key=key["row_ledger"],
        deps=[key["staged_output"], key["output_quarantine"], key["input_quarantine"]],
        group_name=group,
        description="One final disposition, with its reason, for every input row of the run.",
        check_specs=[
            dg.AssetCheckSpec(
                "ledger_complete",
                asset=key["row_ledger"],
                blocking=True,
                description="Every input row has exactly one outcome.",
            )
        ],
    )
    def row_ledger(store: GovernanceStore, instructions: RunInstructions) -> dg.MaterializeResult:
        with store.connect() as con:
            figures = outcomes.write_ledger(con, instructions.apply(spec))
        unprocessed = figures["by_disposition"].get("unprocessed", 0)
        return dg.MaterializeResult(
            metadata=_meta(figures),
            check_results=[
                dg.AssetCheckResult(
                    check_name="ledger_complete",
                    passed=unprocessed == 0,
                    metadata={"rows": figures["rows"], "unprocessed": unprocessed},
                )
            ],
        )

    sla_checks = [
        dg.AssetCheckSpec(
            check_name(r.item.id),
            asset=key["sla_result"],
            description=r.item.description or r.item.id,
            blocking=r.item.blocking,
        )
        for r in spec.slas
    ]

    @dg.asset(
        key=key["sla_result"],
        deps=[key["row_ledger"]],
        group_name=group,
        description="The run held against the spec's SLAs; blocking ones gate publication.",
        check_specs=sla_checks,
    )
    def sla_result(
        context: dg.AssetExecutionContext, store: GovernanceStore, instructions: RunInstructions
    ) -> dg.MaterializeResult:
        run_spec = instructions.apply(spec)
        with store.connect() as con:
            verdicts = sla.evaluate(con, run_spec, scheduled_at(context.run.tags))
            blocked = outcomes.gate(con, run_spec, verdicts)
        return dg.MaterializeResult(
            metadata={
                "report": dg.MetadataValue.md(sla.as_markdown(verdicts)),
                "breached": sum(not v.passed for v in verdicts),
                "publication": "blocked by " + ", ".join(v.sla_id for v in blocked)
                if blocked
                else "allowed",
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=check.name,
                    passed=v.passed,
                    severity=_severity(v.severity),
                    description=v.summary(),
                    metadata=_meta({k: x for k, x in sla.as_metadata(v).items() if x is not None}),
                )
                for check, v in zip(sla_checks, verdicts, strict=True)
            ],
        )

    @dg.asset(
        key=key["enriched"],
        deps=[key["sla_result"], key["staged_output"]],
        group_name=group,
        description="The published table: outputs that met the contract, in runs the gate let "
        "through.",
    )
    def enriched(store: GovernanceStore, instructions: RunInstructions) -> dg.MaterializeResult:
        with store.connect() as con:
            figures = outcomes.publish(con, instructions.apply(spec))
        return dg.MaterializeResult(metadata=_meta(figures))

    job = dg.define_asset_job(
        f"{name}_job",
        selection=dg.AssetSelection.groups(group),
        executor_def=dg.in_process_executor,
        description=spec.job.description.strip(),
    )
    schedules = []
    if spec.job.schedule is not None:
        schedules.append(
            dg.ScheduleDefinition(
                name=f"{name}_schedule",
                job=job,
                cron_schedule=spec.job.schedule.cron,
                execution_timezone=spec.job.schedule.timezone,
            )
        )
    return {
        "assets": [validate_input, model_input, llm_call, judge, row_ledger, sla_result, enriched],
        "jobs": [job],
        "schedules": schedules,
    }
