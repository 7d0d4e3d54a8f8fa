"""The asset factory: one spec file in, one governed job out (assets, checks, job, schedule).

    raw source -> validated_input (+ input_quarantine) -> model_input -> llm_call
               -> enriched (+ output_quarantine) -> row_ledger -> sla_result

Every stage's logic lives in the library; the assets only open the store, call it, and turn its
figures into metadata and check results.
"""

import json
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from urllib.parse import urlparse

import dagster as dg

from assets.resources import GovernanceStore, ModelEndpoint, RunInstructions
from governance_pipeline import calling, outcomes, sla, stages
from governance_pipeline.endpoint import Endpoint
from governance_pipeline.local_model import ensure_local_model
from governance_pipeline.redaction import find_pii
from governance_pipeline.spec import ResolvedSpec, Severity

STAGES = (
    "validated_input",
    "input_quarantine",
    "model_input",
    "llm_call",
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
                description="Batch-level expectations: schema and row count.",
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
            description="failed: " + ", ".join(failures) if failures else "schema and row count ok",
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
        with store.connect() as con:
            figures = stages.build_model_input(
                con, instructions.apply(spec), endpoint.resolve(spec.job.model.name)
            )
            rows = con.execute(f"SELECT data FROM {name}.model_input").fetchall()
        leaks = sum(
            1
            for (data,) in rows
            if any(find_pii(v) for v in json.loads(data).values() if isinstance(v, str))
        )
        return dg.MaterializeResult(
            metadata=_meta(figures),
            check_results=[
                dg.AssetCheckResult(
                    check_name="no_pii",
                    passed=leaks == 0,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={"rows_scanned": len(rows), "rows_with_pii": leaks},
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
        name=f"{name}__publish",
        specs=[
            dg.AssetSpec(
                key["enriched"],
                deps=[key["llm_call"]],
                group_name=group,
                description="The published table: outputs that meet the contract.",
            ),
            dg.AssetSpec(
                key["output_quarantine"],
                deps=[key["llm_call"]],
                group_name=group,
                description="Outputs that broke the contract, with the reason.",
            ),
        ],
    )
    def publish(store: GovernanceStore, instructions: RunInstructions) -> Any:
        with store.connect() as con:
            figures = outcomes.publish(con, instructions.apply(spec))
        yield dg.MaterializeResult(
            asset_key=key["enriched"],
            metadata=_meta({k: figures[k] for k in ("enriched", "with_warnings", "judged")}),
        )
        yield dg.MaterializeResult(
            asset_key=key["output_quarantine"],
            metadata=_meta({"quarantined": figures["quarantined"]}),
        )

    @dg.asset(
        key=key["row_ledger"],
        deps=[key["enriched"], key["output_quarantine"], key["input_quarantine"]],
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
            f"sla_{r.item.id.replace('-', '_').replace('.', '_')}",
            asset=key["sla_result"],
            description=r.item.description or r.item.id,
        )
        for r in spec.slas
    ]

    @dg.asset(
        key=key["sla_result"],
        deps=[key["row_ledger"]],
        group_name=group,
        description="The run held against the spec's SLAs.",
        check_specs=sla_checks,
    )
    def sla_result(store: GovernanceStore, instructions: RunInstructions) -> dg.MaterializeResult:
        with store.connect() as con:
            verdicts = sla.evaluate(con, instructions.apply(spec))
        return dg.MaterializeResult(
            metadata={
                "report": dg.MetadataValue.md("\n".join(f"- {v.summary()}" for v in verdicts))
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=check.name,
                    passed=v.passed,
                    severity=_severity(v.severity),
                    description=v.summary(),
                    metadata=_meta(sla.as_metadata(v)),
                )
                for check, v in zip(sla_checks, verdicts, strict=True)
            ],
        )

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
        "assets": [validate_input, model_input, llm_call, publish, row_ledger, sla_result],
        "jobs": [job],
        "schedules": schedules,
    }
