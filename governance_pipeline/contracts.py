"""The behaviour contract: every model output held against the spec, row by row.

An output must be one JSON object with the spec's output fields and types (the schema, a
developer-level rule), each field's enum and length, and every policy that carries a check.
Broken ERROR rules (platform, developer) quarantine the row; broken WARN rules (guidelines)
are recorded on the published row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError, create_model

from governance_pipeline.rules import EnumRule, MaxLengthRule, Rule
from governance_pipeline.spec import Level, ResolvedSpec, Severity, severity_of

_PY_TYPES: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool}


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
        fields = {name: (_PY_TYPES[f.type], ...) for name, f in spec.job.output.items()}
        self._schema = create_model(  # type: ignore[call-overload]
            f"{spec.name}_output", __config__={"extra": "forbid", "strict": True}, **fields
        )
        self.rules: list[tuple[str, Level, Rule]] = []
        for name, f in spec.job.output.items():
            if f.enum:
                self.rules.append(
                    (f"output.{name}.enum", Level.DEVELOPER, EnumRule(field=name, values=f.enum))
                )
            if f.max_length:
                self.rules.append(
                    (
                        f"output.{name}.max_length",
                        Level.DEVELOPER,
                        MaxLengthRule(field=name, max=f.max_length),
                    )
                )
        for rp in spec.policies:
            if rp.item.check is not None:
                self.rules.append((rp.item.id, rp.item.level, rp.item.check))

    def check(self, content: str | None) -> Verdict:
        """Parse and judge one raw model output."""
        try:
            output = json.loads(content or "")
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
            reason = rule.violation(output)
            if reason is not None:
                verdict.violations.append(Violation(rule_id, severity_of(level), reason))
        return verdict
