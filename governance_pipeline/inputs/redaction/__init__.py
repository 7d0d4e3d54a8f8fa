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
"""

from governance_pipeline.inputs.redaction import independent
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
from governance_pipeline.inputs.redaction.vault import RedactionError, RedactionKeys, reidentify

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
