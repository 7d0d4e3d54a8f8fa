"""The LLM stage's asset: every model input served from the cache or the endpoint, with the
embedded model started for the step when it is the endpoint."""

from contextlib import AbstractContextManager, nullcontext
from urllib.parse import urlparse

import dagster as dg

from governance_pipeline.dagster.common import (
    failing_run,
    meta,
    stage_keys,
    stage_of,
    table_meta,
)
from governance_pipeline.dagster.partitions import check_spec, partitions_def
from governance_pipeline.dagster.resources import GovernanceStore, ModelEndpoint, RunInstructions
from governance_pipeline.llm import calling
from governance_pipeline.llm.endpoint import Endpoint
from governance_pipeline.llm.local_model import ensure_local_model
from governance_pipeline.llm.served import listed, served_models
from governance_pipeline.spec import ResolvedSpec


def local_model_serving(endpoint: Endpoint) -> AbstractContextManager[str]:
    """The embedded model for the length of a step: reused if already serving, else started."""
    return ensure_local_model(urlparse(endpoint.base_url).port or 8765)


def build_llm_asset(spec: ResolvedSpec) -> dg.AssetsDefinition:
    """The job's LLM stage."""
    group, key = spec.name, stage_keys(spec)

    @dg.asset(
        key=key["llm_call"],
        deps=[key["model_input"]],
        group_name=group,
        description="Every model call: cache hits, tokens, cost, latency, status.",
        check_specs=[
            check_spec(
                spec,
                "served_model",
                key["llm_call"],
                description="The model snapshot (and system_fingerprint) that answers is the "
                "one that answered the job's last run: a new one can change answers of an "
                "unchanged spec.",
            )
        ],
        partitions_def=partitions_def(spec),
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
        run_id = context.run.run_id
        with serving, failing_run(store, run_id, "calling the model"), store.pacer() as pacer:
            figures = calling.call_model(  # opens the store per commit
                store.connect,
                instructions.apply(spec),
                resolved,
                run_id,
                on_progress=progress,
                pacer=pacer,
            )
        with stage_of(store, run_id) as con:
            table = table_meta(con, f"{spec.name}.llm_call", run_id)
            served = served_models(con, spec.name, run_id)
        return dg.MaterializeResult(
            metadata=meta(figures) | table,
            check_results=[
                dg.AssetCheckResult(
                    check_name="served_model",
                    passed=not served.changed,
                    severity=dg.AssetCheckSeverity.WARN,
                    description=served.describe(),
                    metadata={
                        "served_now": dg.MetadataValue.json(listed(served.now)),
                        "served_before": dg.MetadataValue.json(listed(served.before)),
                        "before_run": served.before_run or "",
                    },
                )
            ],
        )

    return llm_call
