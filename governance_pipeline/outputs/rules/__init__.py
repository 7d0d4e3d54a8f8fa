"""Output rules: the checks a behaviour contract runs on every model output row.

Each rule is a member of the pydantic discriminated union `Rule` on `type`, and gives a
precise reason per row when it fails:

    fields    enum, max_length, word_count, not_empty, regex, implies (cross-field)
    text      no_pii, grounded, no_refusal, language
    custom    json_schema, pydantic, python (a callable by import path), sql (over all outputs)

A rule sees one parsed output and a `RowContext` (the redacted input, the row's key) and
returns the reason the output breaks it, or None. `SqlRule` also judges a whole table at once.
"""

from typing import Annotated

from pydantic import Field

from governance_pipeline.outputs.rules.base import NO_CONTEXT, RowContext, RuleBase, import_object
from governance_pipeline.outputs.rules.custom import (
    JsonSchemaRule,
    PydanticRule,
    PythonRule,
    SqlRule,
)
from governance_pipeline.outputs.rules.fields import (
    Condition,
    EnumRule,
    ImpliesRule,
    MaxLengthRule,
    NotEmptyRule,
    RegexRule,
    WordCountRule,
)
from governance_pipeline.outputs.rules.text import (
    GroundednessRule,
    LanguageRule,
    NoPiiRule,
    NoRefusalRule,
    stopword_shares,
)

Rule = Annotated[
    EnumRule
    | MaxLengthRule
    | WordCountRule
    | NotEmptyRule
    | RegexRule
    | ImpliesRule
    | NoPiiRule
    | GroundednessRule
    | NoRefusalRule
    | LanguageRule
    | JsonSchemaRule
    | PydanticRule
    | PythonRule
    | SqlRule,
    Field(discriminator="type"),
]

__all__ = [
    "NO_CONTEXT",
    "Condition",
    "EnumRule",
    "GroundednessRule",
    "ImpliesRule",
    "JsonSchemaRule",
    "LanguageRule",
    "MaxLengthRule",
    "NoPiiRule",
    "NoRefusalRule",
    "NotEmptyRule",
    "PydanticRule",
    "PythonRule",
    "RegexRule",
    "Rule",
    "RowContext",
    "RuleBase",
    "SqlRule",
    "WordCountRule",
    "import_object",
    "stopword_shares",
]
