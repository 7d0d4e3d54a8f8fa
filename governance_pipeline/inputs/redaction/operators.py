"""Redaction operators: what replaces a finding, chosen per column and per entity in the spec.

    redaction:
      operators:
        - {type: mask, entities: [CREDIT_CARD], keep_last: 4}
        - {type: tokenize, entities: [EMAIL], columns: [body]}
        - {type: drop, columns: [subject], entities: [US_SSN]}

The first operator whose `columns` and `entities` both match (an empty list matches all) is
applied; a finding no operator matches gets a placeholder. What each produces:

| type        | output                         | the same value gives                     |
|-------------|--------------------------------|------------------------------------------|
| placeholder | `<EMAIL_1>`                    | the same placeholder within a row        |
| mask        | `****-****-****-1111`          | the same mask                            |
| hash        | `<EMAIL_H_qkxbmtzrwlfdnyse>`   | the same surrogate everywhere (HMAC key) |
| tokenize    | `<EMAIL_T_qkxbmtzrwlfdnyse>`   | the same token everywhere; reversible    |
| drop        | the column is null in that row | -                                        |

A `drop` without entities drops the column from every row. Surrogates are letters only, so no
detector can mistake one for a number, and none ever holds the value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from governance_pipeline.inputs.redaction.detectors import Entity

if TYPE_CHECKING:
    from governance_pipeline.inputs.redaction.ner import NerEntity

__all__ = ["DropOp", "HashOp", "MaskOp", "Operator", "PlaceholderOp", "TokenizeOp", "select"]


class _Op(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: list[str] = Field(
        default_factory=list, description="Columns it applies to; empty means every column."
    )
    entities: list[Entity] = Field(
        default_factory=list, description="Entity types it applies to; empty means every type."
    )

    def matches(self, column: str, entity: Entity | NerEntity | None) -> bool:
        """Whether this operator applies to a finding of `entity` in `column`."""
        col_ok = not self.columns or column in self.columns
        return col_ok and (not self.entities or entity is None or entity in self.entities)


class PlaceholderOp(_Op):
    """`<EMAIL_1>`: numbered per type within a row; equal values share a number."""

    type: Literal["placeholder"] = Field("placeholder", description="Typed placeholder.")


class MaskOp(_Op):
    """Every letter and digit replaced by `char`, separators kept, the last `keep_last` shown."""

    type: Literal["mask"] = Field("mask", description="Mask the characters.")
    char: str = Field("*", min_length=1, max_length=1, description="The masking character.")
    keep_last: int = Field(
        0, ge=0, le=4, description="Trailing letters or digits left visible (at most 4)."
    )


class HashOp(_Op):
    """A keyed hash (HMAC-SHA256 with $GOVERNANCE_HASH_KEY): joinable, not reversible."""

    type: Literal["hash"] = Field("hash", description="Keyed hash surrogate.")


class TokenizeOp(_Op):
    """A reversible token: the value kept encrypted ($GOVERNANCE_TOKEN_KEY) in the vault."""

    type: Literal["tokenize"] = Field("tokenize", description="Reversible token.")


class DropOp(_Op):
    """The column's value becomes null (in rows with one of `entities`, or always)."""

    type: Literal["drop"] = Field("drop", description="Drop the column's value.")

    @model_validator(mode="after")
    def _says_what(self) -> DropOp:
        if not self.columns and not self.entities:
            raise ValueError("a drop operator needs `columns`, `entities`, or both")
        return self


Operator = Annotated[
    PlaceholderOp | MaskOp | HashOp | TokenizeOp | DropOp, Field(discriminator="type")
]
_DEFAULT = PlaceholderOp()


def select(operators: list[Operator], column: str, entity: Entity | NerEntity) -> Operator:
    """The operator for a finding of `entity` in `column`: the first that matches, or a
    placeholder."""
    for op in operators:
        if op.matches(column, entity):
            return op
    return _DEFAULT


def dropped_always(operators: list[Operator]) -> set[str]:
    """Columns that a `drop` without entities removes from every row."""
    return {c for op in operators if isinstance(op, DropOp) and not op.entities for c in op.columns}


def mask(value: str, op: MaskOp) -> str:
    """`value` with letters and digits masked, separators kept, the last `keep_last` shown."""
    alnum = [i for i, ch in enumerate(value) if ch.isalnum()]
    shown = set(alnum[len(alnum) - op.keep_last :]) if op.keep_last else set()
    return "".join(op.char if ch.isalnum() and i not in shown else ch for i, ch in enumerate(value))
