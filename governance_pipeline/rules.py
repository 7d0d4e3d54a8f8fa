"""Output rules: the checks a behaviour contract runs on every model output row.

Each rule is a member of a pydantic discriminated union on `type`, and gives a precise reason
per row when it fails. Rules are pure: they see one parsed output (a dict) and return the reason
it breaks the rule, or None.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from governance_pipeline.redaction import Entity, find_pii


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def fields(self) -> tuple[str, ...]:
        """Output fields this rule reads, so a spec naming an unknown field can be rejected."""
        raise NotImplementedError

    def violation(self, output: dict[str, Any]) -> str | None:
        """The reason `output` breaks this rule, or None when it complies."""
        raise NotImplementedError


class EnumRule(_Rule):
    """The field's value is one of a fixed set."""

    type: Literal["enum"] = "enum"
    field: str = Field(description="Output field to check.")
    values: list[str] = Field(min_length=1, description="The allowed values.")

    def fields(self) -> tuple[str, ...]:
        return (self.field,)

    def violation(self, output: dict[str, Any]) -> str | None:
        value = output.get(self.field)
        if value in self.values:
            return None
        return f"{self.field}={value!r} is not one of {', '.join(self.values)}"


class MaxLengthRule(_Rule):
    """The field's text is at most `max` characters."""

    type: Literal["max_length"] = "max_length"
    field: str = Field(description="Output field to check.")
    max: int = Field(gt=0, description="Maximum length in characters.")

    def fields(self) -> tuple[str, ...]:
        return (self.field,)

    def violation(self, output: dict[str, Any]) -> str | None:
        value = output.get(self.field)
        if isinstance(value, str) and len(value) > self.max:
            return f"{self.field} has {len(value)} characters, more than {self.max}"
        return None


class NotEmptyRule(_Rule):
    """The fields are present and not blank."""

    type: Literal["not_empty"] = "not_empty"
    fields_: list[str] = Field(alias="fields", min_length=1, description="Output fields to check.")

    def fields(self) -> tuple[str, ...]:
        return tuple(self.fields_)

    def violation(self, output: dict[str, Any]) -> str | None:
        empty = [f for f in self.fields_ if output.get(f) is None or str(output[f]).strip() == ""]
        return f"empty: {', '.join(empty)}" if empty else None


class RegexRule(_Rule):
    """The field's text matches a regular expression."""

    type: Literal["regex"] = "regex"
    field: str = Field(description="Output field to check.")
    pattern: str = Field(description="Python regular expression the whole value must match.")

    def fields(self) -> tuple[str, ...]:
        return (self.field,)

    def violation(self, output: dict[str, Any]) -> str | None:
        value = output.get(self.field)
        if isinstance(value, str) and re.fullmatch(self.pattern, value):
            return None
        return f"{self.field}={value!r} does not match /{self.pattern}/"


class NoPiiRule(_Rule):
    """No detectable PII in the output's text fields."""

    type: Literal["no_pii"] = "no_pii"
    fields_: list[str] = Field(
        default_factory=list,
        alias="fields",
        description="Output fields to scan; empty means every text field.",
    )
    entities: list[Entity] = Field(
        default_factory=lambda: list(Entity), description="Entity types that count as PII."
    )

    def fields(self) -> tuple[str, ...]:
        return tuple(self.fields_)

    def violation(self, output: dict[str, Any]) -> str | None:
        names = self.fields_ or [k for k, v in output.items() if isinstance(v, str)]
        found = {
            name: find_pii(output.get(name), self.entities)
            for name in names
            if isinstance(output.get(name), str)
        }
        hits = [
            f"{name}: {', '.join(e.value for e in ents)}" for name, ents in found.items() if ents
        ]
        return f"PII in output ({'; '.join(hits)})" if hits else None


Rule = Annotated[
    EnumRule | MaxLengthRule | NotEmptyRule | RegexRule | NoPiiRule, Field(discriminator="type")
]
