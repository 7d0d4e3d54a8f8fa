"""PII detection and redaction applied to text before it reaches an LLM.

    detectors   Entity, Finding, detect, find_pii: what counts as PII and where it is
    phones      phone numbers of any region, by how they are written and the expected regions
    checksums   Luhn, IBAN mod-97, SSN rules: what keeps the detectors precise
    common_words  everyday words that a name part may also be (Will, Long)
    independent the no_pii check's second line: broad shapes, no code shared with the rest
    operators   placeholder, mask, hash, tokenize, drop: chosen per column and entity
    redactor    Redactor: a row in, the row redacted and counts per entity type out
    vault       keys from the environment, the encrypted token vault, reidentify
    ner         optional names and places through Presidio's spaCy recognizer

A whole table is redacted in chunks, across processes, by `governance_pipeline.inputs.model_input`.

The names below are loaded on first use, so a spec that names an entity type (`Entity`) does not
load the vault's cryptography or the redactor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from governance_pipeline import lazy
from governance_pipeline.errors import RedactionError

if TYPE_CHECKING:
    from governance_pipeline.inputs.redaction.checksums import iban_valid, luhn_valid, ssn_valid
    from governance_pipeline.inputs.redaction.detectors import (
        ALL_ENTITIES,
        DEFAULT_PHONE_REGIONS,
        Entity,
        Finding,
        detect,
        find_pii,
    )
    from governance_pipeline.inputs.redaction.redactor import Redactor
    from governance_pipeline.inputs.redaction.vault import RedactionKeys, reidentify

_LAZY = {
    "iban_valid": "governance_pipeline.inputs.redaction.checksums",
    "luhn_valid": "governance_pipeline.inputs.redaction.checksums",
    "ssn_valid": "governance_pipeline.inputs.redaction.checksums",
    "ALL_ENTITIES": "governance_pipeline.inputs.redaction.detectors",
    "DEFAULT_PHONE_REGIONS": "governance_pipeline.inputs.redaction.detectors",
    "Entity": "governance_pipeline.inputs.redaction.detectors",
    "Finding": "governance_pipeline.inputs.redaction.detectors",
    "detect": "governance_pipeline.inputs.redaction.detectors",
    "find_pii": "governance_pipeline.inputs.redaction.detectors",
    "Redactor": "governance_pipeline.inputs.redaction.redactor",
    "RedactionKeys": "governance_pipeline.inputs.redaction.vault",
    "reidentify": "governance_pipeline.inputs.redaction.vault",
}


__getattr__ = lazy.exports(
    __name__, _LAZY, {"independent": "governance_pipeline.inputs.redaction.independent"}
)


__all__ = [
    "ALL_ENTITIES",
    "DEFAULT_PHONE_REGIONS",
    "Entity",
    "Finding",
    "RedactionError",
    "RedactionKeys",
    "Redactor",
    "detect",
    "find_pii",
    "iban_valid",
    "independent",
    "luhn_valid",
    "reidentify",
    "ssn_valid",
]
