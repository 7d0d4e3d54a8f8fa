"""An output field and what it means: the one reading of `type`, `enum`, `max_length`,
`minimum` and `maximum`, which every part that states or enforces a field uses.

    json_schema()   the field in the output schema sent with the prompt (llm.prompts)
    sql_type        its column in `staged_output` and `enriched` (store.ddl)
    python_type     the type the contract's schema holds the value to, strictly, with the
                    bounds (`schema_field()`, outputs.contracts)
    checks(name)    the contract's own rules on the value: enum and max_length, with their ids
    constraints()   its limits in words, for the prompt's field list and the contract document

A limit that cannot apply to the field's type (a `minimum` on text, an `enum` on a boolean) is
an error when the spec loads, not a rule that silently never holds.
"""

from __future__ import annotations

import builtins
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.fields import FieldInfo

from governance_pipeline.outputs.rules import EnumRule, MaxLengthRule, Rule

FieldType = Literal["string", "integer", "number", "boolean"]

_SQL_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
}
_PYTHON_TYPES: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool}
_NUMERIC = ("integer", "number")


class OutputField(BaseModel):
    """One field of the model's JSON output."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: FieldType = Field("string", description="JSON type of the field.")
    description: str = Field(description="What the field means.")
    enum: list[str] | None = Field(None, description="The only values the field may take.")
    max_length: int | None = Field(None, gt=0, description="Maximum length of the text.")
    minimum: float | None = Field(None, description="Smallest allowed value of a number.")
    maximum: float | None = Field(None, description="Largest allowed value of a number.")

    @model_validator(mode="after")
    def _limits_fit_the_type(self) -> OutputField:
        if (self.enum is not None or self.max_length is not None) and self.type != "string":
            given = "enum" if self.enum is not None else "max_length"
            raise ValueError(f"{given} needs type string, not type={self.type!r}")
        if (self.minimum is not None or self.maximum is not None) and self.type not in _NUMERIC:
            raise ValueError(
                f"minimum and maximum need type integer or number, not type={self.type!r}"
            )
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"minimum={self.minimum:g} is greater than maximum={self.maximum:g}")
        return self

    @property
    def sql_type(self) -> str:
        """The DuckDB type of the field's column."""
        return _SQL_TYPES[self.type]

    @property
    def python_type(self) -> builtins.type:  # `type` here is the field
        """The Python type a parsed value must have (strictly: no `"1"` for an integer)."""
        return _PYTHON_TYPES[self.type]

    def json_schema(self) -> dict[str, Any]:
        """The field's JSON schema, as the prompt's `response_format` carries it."""
        prop: dict[str, Any] = {"type": self.type, "description": self.description}
        if self.enum:
            prop["enum"] = self.enum
        if self.max_length:
            prop["maxLength"] = self.max_length
        if self.minimum is not None:
            prop["minimum"] = self.minimum
        if self.maximum is not None:
            prop["maximum"] = self.maximum
        return prop

    def schema_field(self) -> tuple[builtins.type, FieldInfo]:
        """The field in the contract's pydantic model of an output: required, its type and its
        bounds (broken, they are `output.schema` violations)."""
        return self.python_type, Field(..., ge=self.minimum, le=self.maximum)

    def checks(self, name: str) -> list[tuple[str, Rule]]:
        """The contract's rules on this field beyond its type and bounds, with their ids."""
        rules: list[tuple[str, Rule]] = []
        if self.enum:
            rules.append((f"output.{name}.enum", EnumRule(field=name, values=self.enum)))
        if self.max_length:
            rules.append(
                (f"output.{name}.max_length", MaxLengthRule(field=name, max=self.max_length))
            )
        return rules

    def constraints(self) -> list[str]:
        """The field's limits in words, the enum first: `one of a, b`, `at most 280
        characters`, `between 1 and 5`, `at least 0`; empty when any value of the type goes."""
        words = []
        if self.enum:
            words.append("one of " + ", ".join(self.enum))
        if self.max_length:
            words.append(f"at most {self.max_length} characters")
        low, high = self.minimum, self.maximum
        if low is not None and high is not None:
            words.append(f"between {low:g} and {high:g}")
        elif low is not None:
            words.append(f"at least {low:g}")
        elif high is not None:
            words.append(f"at most {high:g}")
        return words

    def describe(self) -> str:
        """The field's limits in one phrase, `any` when it has none."""
        return "; ".join(self.constraints()) or "any"
