"""Input assets: validated_input (+ input_quarantine) with the blocking batch check, and
model_input with the blocking no_pii check, which stops a run before any model call."""

from typing import Any

import dagster as dg

from governance_pipeline.dagster.common import (
    fail_run,
    meta,
    source_key,
    stage_keys,
    stage_of,
    table_meta,
)
from governance_pipeline.dagster.partitions import check_spec, partitions_def, window_of
from governance_pipeline.dagster.resources import GovernanceStore, ModelEndpoint, RunInstructions
from governance_pipeline.inputs import model_input as model_input_stage
from governance_pipeline.inputs import stages
from governance_pipeline.spec import ResolvedSpec


def build_input_assets(spec: ResolvedSpec) -> list[dg.AssetsDefinition]:
    """The job's input stages."""
    name, group, key = spec.name, spec.name, stage_keys(spec)

    @dg.multi_asset(
        name=f"{name}__validate_input",
        specs=[
            dg.AssetSpec(
                key["validated_input"],
                deps=[source_key(spec)],
                group_name=group,
                description="The run's scope (new and changed source rows) that meets every "
                "input expectation.",
            ),
            dg.AssetSpec(
                key["input_quarantine"],
                deps=[source_key(spec)],
                group_name=group,
                description="Source rows that broke an expectation, with its id.",
            ),
        ],
        check_specs=[
            check_spec(
                spec,
                "input_batch",
                key["validated_input"],
                blocking=True,
                description="Batch-level expectations: schema (drift names the columns), "
                "row count and freshness; a failure stops the job before any model call.",
            ),
        ],
        partitions_def=partitions_def(spec),
    )
    def validate_input(
        context: dg.AssetExecutionContext,
        store: GovernanceStore,
        endpoint: ModelEndpoint,
        instructions: RunInstructions,
    ) -> Any:
        run_spec, run_id = instructions.apply(spec), context.run.run_id
        resolved = endpoint.resolve(spec.job.model.name)
        context.instance.add_run_tags(
            run_id,
            {
                "governance/spec_hash": run_spec.spec_hash,
                "governance/model": resolved.model,
                "governance/instructions": ",".join(
                    rp.item.id for rp in run_spec.policies if rp.origin.file == "<run>"
                )
                or "none",
            },
        )
        with stage_of(store, run_id, "validating") as con:
            figures = stages.validate_input(con, run_spec, run_id, resolved, window_of(context))
            failures = figures["batch_failures"]
            if failures:
                fail_run(con, run_id, "input_batch", figures["batch_message"])
            tables = {
                t: table_meta(con, f"{name}.{t}", run_id)
                for t in ("validated_input", "input_quarantine")
            }
        if abandoned := figures["abandoned_runs"]:
            context.log.warning(f"closed as abandoned (process gone): {', '.join(abandoned)}")
        context.log.info(f"scope: {figures['scope_summary']}")
        yield dg.MaterializeResult(
            asset_key=key["validated_input"],
            metadata=meta(
                {k: figures[k] for k in ("rows_in", "rows_in_scope", "scope", "validated")}
                | {"spec_hash": run_spec.spec_hash, "scope_summary": figures["scope_summary"]}
            )
            | tables["validated_input"],
        )
        yield dg.MaterializeResult(
            asset_key=key["input_quarantine"],
            metadata=meta({k: figures[k] for k in ("quarantined", "quarantined_by_rule")})
            | tables["input_quarantine"],
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
            check_spec(
                spec,
                "no_pii",
                key["model_input"],
                blocking=True,
                description="No detectable PII in any model input, by the redactor's detectors "
                "and by an independent check that shares no code with them.",
            )
        ],
        partitions_def=partitions_def(spec),
    )
    def model_input(
        context: dg.AssetExecutionContext,
        store: GovernanceStore,
        endpoint: ModelEndpoint,
        instructions: RunInstructions,
    ) -> dg.MaterializeResult:
        run_spec, run_id = instructions.apply(spec), context.run.run_id
        with stage_of(store, run_id, "redacting") as con:
            resolved = endpoint.resolve(spec.job.model.name)
            figures = stages.build_model_input(con, run_spec, resolved, run_id)
            scanned = model_input_stage.scan(con, run_spec, run_id)  # every row of the run
            leaks = scanned["rows_with_pii"]
            if leaks:
                fail_run(con, run_id, "no_pii", f"{leaks} model inputs hold detectable PII")
            table = table_meta(con, f"{name}.model_input", run_id)
        kinds = sorted({*scanned["by_entity"], *scanned["independent"]})
        held = figures["independent_check_quarantined"]
        return dg.MaterializeResult(
            metadata=meta(figures) | table,
            check_results=[
                dg.AssetCheckResult(
                    check_name="no_pii",
                    passed=leaks == 0,
                    severity=dg.AssetCheckSeverity.ERROR,
                    description=f"{leaks} of {scanned['rows_scanned']} rows hold detectable PII"
                    + (f" ({', '.join(kinds)})" if leaks else "")
                    + (f"; {held} rows quarantined by the independent check" if held else ""),
                    metadata=meta(scanned | {"independent_check_quarantined": held}),
                )
            ],
        )

    return [validate_input, model_input]
