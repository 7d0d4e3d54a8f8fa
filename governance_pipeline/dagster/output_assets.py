"""Output assets: the contract's judgement (staged_output + output_quarantine), the row
ledger, the SLA checks, and publication last: a blocking SLA breach fails the run before
`enriched` is written."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from governance_pipeline import sla
from governance_pipeline.dagster.common import fail_run, meta, stage_keys, stage_of, table_meta
from governance_pipeline.dagster.partitions import check_spec, partitions_def
from governance_pipeline.dagster.resources import GovernanceStore, RunInstructions
from governance_pipeline.outputs import outcomes
from governance_pipeline.outputs.dispositions import Disposition
from governance_pipeline.spec import ResolvedSpec, Severity


def _severity(severity: Severity) -> dg.AssetCheckSeverity:
    return dg.AssetCheckSeverity.WARN if severity is Severity.WARN else dg.AssetCheckSeverity.ERROR


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


def build_output_assets(spec: ResolvedSpec) -> list[dg.AssetsDefinition]:
    """The job's output stages, publication last."""
    name, group, key = spec.name, spec.name, stage_keys(spec)

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
        partitions_def=partitions_def(spec),
    )
    def judge(
        context: dg.AssetExecutionContext, store: GovernanceStore, instructions: RunInstructions
    ) -> Any:
        run_id = context.run.run_id
        with stage_of(store, run_id, "judging") as con:
            figures = outcomes.stage(con, instructions.apply(spec), run_id)
            by_rule = dict(
                con.execute(
                    "SELECT rule, count(*) FROM (SELECT unnest(string_split(rules, ',')) AS rule "
                    f"FROM {name}.output_quarantine WHERE run_id = ?) GROUP BY 1 ORDER BY 2 DESC",
                    [run_id],
                ).fetchall()
            )
            tables = {
                t: table_meta(con, f"{name}.{t}", run_id)
                for t in ("staged_output", "output_quarantine")
            }
        yield dg.MaterializeResult(
            asset_key=key["staged_output"],
            metadata=meta(
                {
                    k: figures[k]
                    for k in ("judged", "compliant", "with_warnings", "compliance_rate")
                    if figures[k] is not None
                }
            )
            | tables["staged_output"],
        )
        yield dg.MaterializeResult(
            asset_key=key["output_quarantine"],
            metadata=meta({"quarantined": figures["quarantined"], "quarantined_by_rule": by_rule})
            | tables["output_quarantine"],
        )

    sla_checks = [
        check_spec(
            spec,
            check_name(r.item.id),
            key["sla_result"],
            description=r.item.description or r.item.id,
            blocking=r.item.blocking,
        )
        for r in spec.slas
    ]

    @dg.multi_asset(
        name=f"{name}__settle",
        specs=[
            dg.AssetSpec(
                key["row_ledger"],
                deps=[key["staged_output"], key["output_quarantine"], key["input_quarantine"]],
                group_name=group,
                description="One final disposition, with its reason, for every input row of "
                "the run (after the publication gate).",
            ),
            dg.AssetSpec(
                key["sla_result"],
                deps=[key["row_ledger"]],
                group_name=group,
                description="The run held against the spec's SLAs; blocking ones gate publication.",
            ),
        ],
        check_specs=[
            check_spec(
                spec,
                "ledger_complete",
                key["row_ledger"],
                blocking=True,
                description="Every input row has exactly one outcome.",
            ),
            *sla_checks,
        ],
        partitions_def=partitions_def(spec),
    )
    def settle(
        context: dg.AssetExecutionContext, store: GovernanceStore, instructions: RunInstructions
    ) -> Any:
        """The ledger, the SLAs held against it, the gate, and the rows' state, in one step:
        the ledger's metadata is what DuckDB holds once the gate has withheld what it
        withholds, and a withheld row is recorded as due again."""
        run_spec, run_id = instructions.apply(spec), context.run.run_id
        with stage_of(store, run_id, "settling") as con:
            figures = outcomes.write_ledger(con, run_spec, run_id)
            unprocessed = figures["by_disposition"].get(Disposition.UNPROCESSED, 0)
            if unprocessed:
                fail_run(con, run_id, "ledger_complete", f"{unprocessed} rows have no outcome")
            verdicts = sla.evaluate(con, run_spec, run_id, scheduled_at(context.run.tags))
            blocked = outcomes.gate(con, run_spec, verdicts, run_id)
            settled = outcomes.settle(con, run_spec, run_id)  # enriched rows: at publication
            final = dict(
                con.execute(
                    f"SELECT disposition, count(*) FROM {name}.row_ledger WHERE run_id = ? "
                    "GROUP BY 1 ORDER BY 2 DESC",
                    [run_id],
                ).fetchall()
            )
            tables = {
                t: table_meta(con, f"{name}.{t}", run_id) for t in ("row_ledger", "sla_result")
            }
        yield dg.MaterializeResult(
            asset_key=key["row_ledger"],
            metadata=meta(
                {"rows": figures["rows"], "by_disposition": final, "settled": settled["settled"]}
            )
            | tables["row_ledger"],
        )
        yield dg.AssetCheckResult(
            asset_key=key["row_ledger"],
            check_name="ledger_complete",
            passed=unprocessed == 0,
            metadata={"rows": figures["rows"], "unprocessed": unprocessed},
        )
        report: dict[str, Any] = {
            "report": dg.MetadataValue.md(sla.as_markdown(verdicts)),
            "breached": sum(not v.passed for v in verdicts),
            "publication": "blocked by " + ", ".join(v.sla_id for v in blocked)
            if blocked
            else "allowed",
        }
        yield dg.MaterializeResult(
            asset_key=key["sla_result"],
            metadata=report | tables["sla_result"],
        )
        for check, v in zip(sla_checks, verdicts, strict=True):
            yield dg.AssetCheckResult(
                asset_key=key["sla_result"],
                check_name=check.name,
                passed=v.passed,
                severity=_severity(v.severity),
                description=v.summary(),
                metadata=meta(sla.as_metadata(v)),
            )

    @dg.asset(
        key=key["enriched"],
        deps=[key["sla_result"], key["staged_output"]],
        group_name=group,
        description="The published table: outputs that met the contract, in runs the gate let "
        "through.",
        partitions_def=partitions_def(spec),
    )
    def enriched(
        context: dg.AssetExecutionContext, store: GovernanceStore, instructions: RunInstructions
    ) -> dg.MaterializeResult:
        run_id = context.run.run_id
        with stage_of(store, run_id, "publishing") as con:
            figures = outcomes.publish(con, instructions.apply(spec), run_id)
            table = table_meta(con, f"{name}.enriched", run_id)
        return dg.MaterializeResult(metadata=meta(figures) | table)

    return [judge, settle, enriched]
