"""The behaviour contract: every model output held against the spec, row by row.

An output must be one JSON object with the spec's output fields, their types and bounds (the
schema, a developer-level rule), each field's enum and length (as `spec.fields` reads a field),
and every policy that carries a check.
Broken ERROR rules (platform, developer) quarantine the row; broken WARN rules (guidelines)
are recorded on the published row.

`Contract.check` judges one output; `Contract.judge` judges a batch, running the per-row rules
once per distinct (output, input) and each SQL rule once over the whole table of outputs.

An answer is judged at rest (`outputs.answers.at_rest`): with the PII found in it replaced by
markers such as `<REDACTED_EMAIL_1>`, which `no_pii` counts as the PII they replaced. That is
the form the LLM stage stores, so an answer gets the same verdict when it arrives, when a rerun
serves it from the cache and when `govern eval` checks it live; and no rule, custom ones
included, ever sees a value it could quote into a reason, a published field or a repair.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd
from pydantic import ConfigDict, ValidationError, create_model

from governance_pipeline.errors import SpecError
from governance_pipeline.outputs.answers import at_rest
from governance_pipeline.outputs.rules import RowContext, Rule, SqlRule
from governance_pipeline.spec import Level, ResolvedSpec, Severity, severity_of


@dataclass(frozen=True)
class Violation:
    """One broken rule, with the reason it broke."""

    rule_id: str
    severity: Severity
    reason: str

    def __str__(self) -> str:
        return f"{self.rule_id}: {self.reason}"


@dataclass
class Verdict:
    """The contract's verdict on one output."""

    output: dict[str, Any] | None
    violations: list[Violation] = field(default_factory=list)

    @property
    def errors(self) -> list[Violation]:
        """Violations that quarantine the row."""
        return [v for v in self.violations if v.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Violation]:
        """Violations recorded on a published row."""
        return [v for v in self.violations if v.severity is Severity.WARN]


class Contract:
    """The compiled contract of one resolved spec."""

    def __init__(self, spec: ResolvedSpec) -> None:
        self._spec = spec
        # (type, FieldInfo) pairs, typed Any: mypy would match **fields against __config__ too
        fields: dict[str, Any] = {name: f.schema_field() for name, f in spec.job.output.items()}
        self._schema = create_model(
            f"{spec.name}_output", __config__=ConfigDict(extra="forbid", strict=True), **fields
        )
        self.rules: list[tuple[str, Level, Rule]] = [
            (rule_id, Level.DEVELOPER, rule)
            for name, f in spec.job.output.items()
            for rule_id, rule in f.checks(name)
        ]
        for rp in spec.policies:
            if rp.item.check is not None:
                self.rules.append((rp.item.id, rp.item.level, rp.item.check))

    def check(
        self, content: str | None, input: Mapping[str, Any] | None = None, key: Any = None
    ) -> Verdict:
        """Parse and judge one raw model output.

        Args:
            content: The model's answer, raw or as stored (it is judged at rest either way).
            input: The redacted model input it answers (for groundedness and custom rules).
            key: The row's source key (for SQL rules, as `row_key`).
        """
        return self.judge([(key, content, input or {})])[key]

    def judge(
        self, rows: Iterable[tuple[Any, str | None, Mapping[str, Any]]]
    ) -> dict[Any, Verdict]:
        """Judge a batch of (key, content, redacted input); the verdict of each key."""
        cache: dict[str, Verdict] = {}
        verdicts: dict[Any, Verdict] = {}
        for key, content, input in rows:
            memo = json.dumps([content, input], sort_keys=True, default=str)
            if memo not in cache:
                cache[memo] = self._check_row(content, RowContext(input, key))
            shared = cache[memo]
            verdicts[key] = Verdict(shared.output, list(shared.violations))
        parsed = [self._row(k, v) for k, v in verdicts.items() if v.output is not None]
        if parsed:
            table = pd.DataFrame(parsed)
            for rule_id, level, rule in self._table_rules:
                for k, reason in self._run_sql(rule_id, rule, table).items():
                    if k in verdicts:
                        verdicts[k].violations.append(
                            Violation(rule_id, severity_of(level), reason)
                        )
        return verdicts

    @property
    def _table_rules(self) -> list[tuple[str, Level, SqlRule]]:
        return [(i, lv, r) for i, lv, r in self.rules if isinstance(r, SqlRule)]

    def _row(self, key: Any, verdict: Verdict) -> dict[str, Any]:
        assert verdict.output is not None
        return {**{n: verdict.output.get(n) for n in self._spec.job.output}, "row_key": key}

    def _run_sql(self, rule_id: str, rule: SqlRule, table: pd.DataFrame) -> dict[Any, str]:
        try:
            return rule.violations_in(table)
        except duckdb.Error as exc:
            origin = next((rp.origin for rp in self._spec.policies if rp.item.id == rule_id), None)
            raise SpecError(
                f"the SQL of policy {rule_id!r} fails over the outputs: {exc}",
                file=origin.file if origin else self._spec.path,
                field=f"policies.{rule_id}.check.query",
                line=origin.line if origin else None,
            ) from None

    def _check_row(self, content: str | None, context: RowContext) -> Verdict:
        try:
            output = json.loads(at_rest(content) or "")
        except json.JSONDecodeError as exc:
            return Verdict(
                None,
                [
                    Violation(
                        "output.schema",
                        Severity.ERROR,
                        f"not valid JSON ({exc.msg} at char {exc.pos})",
                    )
                ],
            )
        if not isinstance(output, dict):
            return Verdict(
                None,
                [
                    Violation(
                        "output.schema",
                        Severity.ERROR,
                        f"expected a JSON object, got {type(output).__name__}",
                    )
                ],
            )
        verdict = Verdict(output)
        try:
            self._schema.model_validate(output)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'output'}: {e['msg'].lower()}"
                for e in exc.errors()
            )
            verdict.violations.append(Violation("output.schema", Severity.ERROR, problems))
        for rule_id, level, rule in self.rules:
            if isinstance(rule, SqlRule):
                continue  # judged over the table of outputs
            reason = rule.violation(output, context)
            if reason is not None:
                verdict.violations.append(Violation(rule_id, severity_of(level), reason))
        return verdict
