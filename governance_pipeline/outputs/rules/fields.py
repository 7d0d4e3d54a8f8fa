"""Rules on the values of fields: enum, length, word count, regex, presence, cross-field.

These are the rules a spec most often states. Each reads the fields it names; a value of the
wrong type is left to the schema rule (`output.schema`), so one mistake gives one reason. A
reason quotes the offending value with `shown`: PII in it is marked, never quoted.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from governance_pipeline.outputs.rules.base import (
    NO_CONTEXT,
    RowContext,
    RuleBase,
    check_regex,
    shown,
)

Regex = Annotated[str, AfterValidator(check_regex)]


class EnumRule(RuleBase):
    """The field's value is one of a fixed set."""

    type: Literal["enum"] = "enum"
    field: str = Field(description="Output field to check.")
    values: list[str] = Field(min_length=1, description="The allowed values.")

    def fields(self) -> tuple[str, ...]:
        return (self.field,)

    def violation(self, output: dict[str, Any], context: RowContext = NO_CONTEXT) -> str | None:
        value = output.get(self.field)
        if value in self.values:
            return None
        return f"{self.field}={shown(value)} is not one of {', '.join(self.values)}"


class MaxLengthRule(RuleBase):
    """The field's text is at most `max` characters."""

    type: Literal["max_length"] = "max_length"
    field: str = Field(description="Output field to check.")
    max: int = Field(gt=0, description="Maximum length in characters.")

    def fields(self) -> tuple[str, ...]:
        return (self.field,)

    def violation(self, output: dict[str, Any], context: RowContext = NO_CONTEXT) -> str | None:
        value = output.get(self.field)
        if isinstance(value, str) and len(value) > self.max:
            return f"{self.field} has {len(value)} characters, more than {self.max}"
        return None


class WordCountRule(RuleBase):
    """The field's text has between `min` and `max` words (words are runs of non-blanks)."""

    type: Literal["word_count"] = "word_count"
    field: str = Field(description="Output field to check.")
    min: int | None = Field(None, ge=0, description="Fewest words allowed.")
    max: int | None = Field(None, gt=0, description="Most words allowed.")

    @model_validator(mode="after")
    def _a_bound(self) -> WordCountRule:
        if self.min is None and self.max is None:
            raise ValueError("a word_count rule needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min={self.min} is more than max={self.max}")
        return self

    def fields(self) -> tuple[str, ...]:
        return (self.field,)

    def violation(self, output: dict[str, Any], context: RowContext = NO_CONTEXT) -> str | None:
        value = output.get(self.field)
        if not isinstance(value, str):
            return None
        words = len(value.split())
        if self.max is not None and words > self.max:
            return f"{self.field} has {words} words, more than {self.max}"
        if self.min is not None and words < self.min:
            return f"{self.field} has {words} words, fewer than {self.min}"
        return None


class NotEmptyRule(RuleBase):
    """The fields are present and not blank."""

    type: Literal["not_empty"] = "not_empty"
    fields_: list[str] = Field(alias="fields", min_length=1, description="Output fields to check.")

    def fields(self) -> tuple[str, ...]:
        return tuple(self.fields_)

    def violation(self, output: dict[str, Any], context: RowContext = NO_CONTEXT) -> str | None:
        empty = [f for f in self.fields_ if output.get(f) is None or str(output[f]).strip() == ""]
        return f"empty: {', '.join(empty)}" if empty else None


class RegexRule(RuleBase):
    """The field's text matches a regular expression."""

    type: Literal["regex"] = "regex"
    field: str = Field(description="Output field to check.")
    pattern: Regex = Field(description="Python regular expression the whole value must match.")

    def fields(self) -> tuple[str, ...]:
        return (self.field,)

    def violation(self, output: dict[str, Any], context: RowContext = NO_CONTEXT) -> str | None:
        value = output.get(self.field)
        if isinstance(value, str) and re.fullmatch(self.pattern, value):
            return None
        return f"{self.field}={shown(value)} does not match /{self.pattern}/"


class Condition(BaseModel):
    """A test of one field's value: `in` a set, or `not_in` it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    field: str = Field(description="Output field tested.")
    in_: list[Any] | None = Field(None, alias="in", description="The value is one of these.")
    not_in: list[Any] | None = Field(None, description="The value is none of these.")

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        if (self.in_ is None) == (self.not_in is None):
            raise ValueError("a condition needs exactly one of `in` or `not_in`")
        return self

    def holds(self, output: dict[str, Any]) -> bool:
        """True when the output's value passes the test."""
        value = output.get(self.field)
        return value in self.in_ if self.in_ is not None else value not in (self.not_in or [])

    def __str__(self) -> str:
        values = self.in_ if self.in_ is not None else self.not_in
        op = "in" if self.in_ is not None else "not in"
        return f"{self.field} {op} [{', '.join(map(str, values or []))}]"


class ImpliesRule(RuleBase):
    """Cross-field consistency: when `if` holds, `then` must hold too.

    Example: `{type: implies, if: {field: urgency, in: [high]}, then: {field: category,
    not_in: [other]}}`: an urgent ticket must be routed to a real team.
    """

    type: Literal["implies"] = "implies"
    if_: Condition = Field(alias="if", description="The premise.")
    then: Condition = Field(description="What must hold whenever the premise does.")

    def fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.if_.field, self.then.field)))

    def violation(self, output: dict[str, Any], context: RowContext = NO_CONTEXT) -> str | None:
        if not self.if_.holds(output) or self.then.holds(output):
            return None
        premise = f"{self.if_.field}={shown(output.get(self.if_.field))}"
        got = f"{self.then.field}={shown(output.get(self.then.field))}"
        return f"{premise} requires {self.then}, got {got}"
