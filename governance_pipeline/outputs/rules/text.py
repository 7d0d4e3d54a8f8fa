"""Rules on what the text of an output says: no PII, grounded in the input, no refusal or talk
about itself, and written in the expected language.

All of them run offline on plain Python: the redaction detectors for PII, regular expressions
for groundedness and refusals, and stopword ratios for the language. None quotes PII in a
reason: `no_pii` names entity types only, `grounded` looks at the text with PII marked.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field

from governance_pipeline.inputs.redaction import Entity, find_pii
from governance_pipeline.outputs.answers import mark_text, recorded_pii
from governance_pipeline.outputs.rules.base import NO_CONTEXT, RowContext, RuleBase, text_values
from governance_pipeline.outputs.rules.stopwords import STOPWORDS

GroundedCheck = Literal["quotes", "numbers", "entities"]
GROUNDED_CHECKS: tuple[GroundedCheck, ...] = ("quotes", "numbers", "entities")


def _fields_field() -> Any:
    return Field(
        default_factory=list,
        alias="fields",
        description="Output fields to check; empty means every text field.",
    )


class NoPiiRule(RuleBase):
    """No detectable PII in the output's text fields (the detectors of `redaction`).

    A marker left where a stored answer held PII (`<REDACTED_EMAIL_1>`, `outputs.answers`)
    counts as the PII it replaced, so an answer judged from the cache fails as it did when it
    arrived.
    """

    type: Literal["no_pii"] = "no_pii"
    fields_: list[str] = _fields_field()
    entities: list[Entity] = Field(
        default_factory=lambda: list(Entity), description="Entity types that count as PII."
    )

    def fields(self) -> tuple[str, ...]:
        return tuple(self.fields_)

    def violation(self, output: dict[str, Any], context: RowContext = NO_CONTEXT) -> str | None:
        wanted = set(self.entities)
        hits = []
        for name, text in text_values(output, self.fields_).items():
            found = set(find_pii(text, self.entities)) | (recorded_pii(text) & wanted)
            if found:
                hits.append(f"{name}: {', '.join(e.value for e in Entity if e in found)}")
        return f"PII in output ({'; '.join(hits)})" if hits else None


_PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]*_\d+>")
_QUOTE = re.compile(r"\"([^\"]{3,}?)\"|“([^”]{3,}?)”")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]*")
_CAPITALISED = re.compile(r"\b[A-Z][A-Za-z0-9'-]+")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"(\n])\s*$")


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def _numbers(text: str) -> set[str]:
    return {m.replace(",", "") for m in _NUMBER.findall(_PLACEHOLDER.sub(" ", text))}


class GroundednessRule(RuleBase):
    """What the output asserts comes from the redacted input the model saw.

    Three checks, each optional: `quotes` (every span in double quotes appears verbatim, up to
    case and spacing), `numbers` (every number appears), `entities` (every placeholder such as
    `<EMAIL_1>`, and every capitalised word that does not start a sentence, appears). Without
    an input (a contract checked outside a run) there is nothing to hold it to: it passes.

    The text is checked with its PII marked (`outputs.answers`): an invented card number is
    the missing entity `<REDACTED_CREDIT_CARD_1>`, not four missing numbers that spell it.
    """

    type: Literal["grounded"] = "grounded"
    fields_: list[str] = _fields_field()
    checks: list[GroundedCheck] = Field(
        default_factory=lambda: list(GROUNDED_CHECKS),
        min_length=1,
        description="What must be found in the input.",
    )

    def fields(self) -> tuple[str, ...]:
        return tuple(self.fields_)

    def violation(self, output: dict[str, Any], context: RowContext = NO_CONTEXT) -> str | None:
        source = context.input_text()
        if not source:
            return None
        problems = []
        for name, text in text_values(output, self.fields_).items():
            missing = self._missing(mark_text(text), source)
            if missing:
                problems.append(f"{name}: {', '.join(missing[:5])}")
        return f"not in the input ({'; '.join(problems)})" if problems else None

    def _missing(self, text: str, source: str) -> list[str]:
        missing: list[str] = []
        if "quotes" in self.checks:
            haystack = _normal(source)
            for match in _QUOTE.finditer(text):
                quoted = match.group(1) or match.group(2)
                if _normal(quoted) not in haystack:
                    missing.append(f'quote "{quoted}"')
        if "numbers" in self.checks:
            known = _numbers(source)
            missing += [f"number {n}" for n in sorted(_numbers(text) - known)]
        if "entities" in self.checks:
            placeholders = set(_PLACEHOLDER.findall(source))
            missing += [f"entity {p}" for p in _PLACEHOLDER.findall(text) if p not in placeholders]
            words = {w.lower() for w in _WORD.findall(source)}
            for match in _CAPITALISED.finditer(_PLACEHOLDER.sub(" ", text)):
                word = match.group()
                starts = _SENTENCE_START.search(text[: match.start()]) is not None
                if not starts and word != "I" and word.lower() not in words:
                    missing.append(f"entity {word}")
        return list(dict.fromkeys(missing))


_REFUSAL = re.compile(
    r"\bI(?:'m| am)? (?:sorry|unable to|not able to)\b"
    r"|\bI (?:cannot|can't|can not|won't|will not) (?:help|assist|comply|provide|answer|do)\b"
    r"|\bI (?:must |have to )?(?:apologi[sz]e|decline)\b",
    re.IGNORECASE,
)
_SELF_TALK = re.compile(
    r"\bas an? (?:AI|artificial intelligence|(?:large )?language model|LLM|assistant|chatbot)\b"
    r"|\bI(?:'m| am) (?:an? |just an? )?(?:AI|(?:large )?language model|assistant|chatbot)\b"
    r"|\bmy (?:training data|knowledge cutoff|instructions|system prompt|programming)\b",
    re.IGNORECASE,
)


class NoRefusalRule(RuleBase):
    """The output does its task: no refusal ("I'm sorry, I can't help"), and, with `self_talk`,
    no talk about itself ("As an AI language model", "my instructions")."""

    type: Literal["no_refusal"] = "no_refusal"
    fields_: list[str] = _fields_field()
    self_talk: bool = Field(True, description="Also reject talk about the model itself.")

    def fields(self) -> tuple[str, ...]:
        return tuple(self.fields_)

    def violation(self, output: dict[str, Any], context: RowContext = NO_CONTEXT) -> str | None:
        hits = []
        for name, text in text_values(output, self.fields_).items():
            if m := _REFUSAL.search(text):
                hits.append(f'{name} refuses ("{m.group()}")')
            if self.self_talk and (m := _SELF_TALK.search(text)):
                hits.append(f'{name} talks about itself ("{m.group()}")')
        return "; ".join(hits) or None


class LanguageRule(RuleBase):
    """The text is written in one of the expected languages.

    A simple offline heuristic, not a language model: the share of a text's words that are
    stopwords of each supported language (en, de, es, fr, it, nl, pt). The language with the
    highest share wins; a text shorter than `min_words`, or with no stopword at all, cannot be
    told and passes. Good enough to catch an answer in the customer's language instead of the
    house language; not for telling close languages apart on a few words.
    """

    type: Literal["language"] = "language"
    fields_: list[str] = _fields_field()
    expected: list[Literal["en", "de", "es", "fr", "it", "nl", "pt"]] = Field(
        min_length=1, description="Languages the text may be written in (ISO 639-1)."
    )
    min_words: int = Field(4, gt=0, description="Shorter texts cannot be told and pass.")

    def fields(self) -> tuple[str, ...]:
        return tuple(self.fields_)

    def violation(self, output: dict[str, Any], context: RowContext = NO_CONTEXT) -> str | None:
        wrong = []
        for name, text in text_values(output, self.fields_).items():
            shares = stopword_shares(text)
            if not shares or len(text.split()) < self.min_words:
                continue
            best = max(shares, key=lambda lang: (shares[lang], lang in self.expected))
            if best not in self.expected and shares[best] > 0:
                top = ", ".join(
                    f"{lang} {share:.0%}"
                    for lang, share in sorted(shares.items(), key=lambda kv: -kv[1])[:2]
                )
                wrong.append(f"{name} reads as {best}, not {'/'.join(self.expected)} ({top})")
        return "; ".join(wrong) or None


def stopword_shares(text: str) -> dict[str, float]:
    """Share of the text's words that are stopwords, per language; empty for a text with none."""
    words = [w.lower() for w in re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", text)]
    if not words:
        return {}
    shares = {
        lang: sum(w in stops for w in words) / len(words) for lang, stops in STOPWORDS.items()
    }
    return shares if any(shares.values()) else {}
