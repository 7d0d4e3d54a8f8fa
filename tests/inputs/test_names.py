"""Tests for known-name redaction (``governance_pipeline.inputs.names``).

A ticket's own `customer_name` is the surest way to find the customer in the body, but a name
is also a word: `Mark` must go when the customer is Mark, and `Markus`, `remark` and the
placeholders already in the text must stay. A whole name in a row is one placeholder, so the
model still reads a sentence.

People write names the way grammar bends them: `Sandra's address`, `Angel Longino's card`, a
double-barrelled `Longino-Smith`, a middle initial. Each once kept the name (or a piece of it:
an initial left between two placeholders says who it was), so each is held here, beside what
must not change: a customer called Will Long does not turn "I will be long gone" into
placeholders, because a name part that is an everyday word counts only when capitalised or
next to the rest of the name.
"""

from __future__ import annotations

import pytest

from governance_pipeline.inputs.names import KnownNames, redact_names


@pytest.mark.parametrize(
    ("names", "text", "expected", "count"),
    [
        (["Jane Doe"], "Hi, Jane Doe here. Jane", "Hi, <NAME_1> here. <NAME_1>", 2),
        (
            ["Jane Doe"],
            "JANE doe wrote; jane.doe@x.io",
            "<NAME_1> wrote; <NAME_1>.<NAME_1>@x.io",
            3,
        ),
        (["Mark Li"], "Mark Li and Markus, a remark", "<NAME_1> and Markus, a remark", 1),
        (["Li Na"], "Li Na called; Li is a word", "<NAME_1> called; Li is a word", 1),
        (["Zoë Brontë"], "Merci, Zoë.\nBrontë", "Merci, <NAME_1>.\n<NAME_1>", 2),
        (["Seán O'Brien"], "O'Brien, Seán", "<NAME_1>, <NAME_1>", 2),
        (["Ann Lee"], "Use <EMAIL_1>, Ann", "Use <EMAIL_1>, <NAME_1>", 1),
        (["Ann Lee", "Bob Stone"], "Bob Stone and Ann", "<NAME_1> and <NAME_1>", 2),
        (["Ann Lee"], "nothing here", "nothing here", 0),
        (["İlker Şahin"], "Dear İlker Şahin,", "Dear <NAME_1>,", 1),
    ],
)
def test_known_names(names: list[str], text: str, expected: str, count: int) -> None:
    assert redact_names(text, KnownNames.of(names)) == (expected, count)


@pytest.mark.parametrize(
    ("names", "text", "expected", "count"),
    [
        # possessives and compounds: the whole word goes
        (["Sandra"], "Sandra's address is old", "<NAME_1> address is old", 1),
        (["Sandra"], "Sandra’s order, sandra's too", "<NAME_1> order, <NAME_1> too", 2),
        (["Angel Longino"], "Angel Longino's card", "<NAME_1> card", 1),
        (["Angel Longino"], "Ms Longino's refund", "Ms <NAME_1> refund", 1),
        (["Seán O'Brien"], "O'Brien's flat", "<NAME_1> flat", 1),
        (["Angel Longino"], "Longino-Smith wrote", "<NAME_1> wrote", 1),
        (["Jean-Pierre Dupont"], "Jean Pierre and Jean-Pierre", "<NAME_1> and <NAME_1>", 2),
        # initials inside or beside a matched name: nothing of it is left
        (["Angel Longino"], "Angel M. Longino called", "<NAME_1> called", 1),
        (["Angel Longino"], "Angel J. R. Longino called", "<NAME_1> called", 1),
        (["Angel M. Longino"], "Angel M Longino, Angel Longino", "<NAME_1>, <NAME_1>", 2),
        (["Angel Longino"], "Regards, A. Longino", "Regards, <NAME_1>", 1),
        (["Angel Longino"], "Regards, Angel L.", "Regards, <NAME_1>", 1),
        # near misses stay
        (["Sandra"], "Alessandra and Sandrao", "Alessandra and Sandrao", 0),
        (["Angel Longino"], "Angel B. Smith", "<NAME_1> B. Smith", 1),  # B is no initial of it
    ],
)
def test_possessives_compounds_and_initials(
    names: list[str], text: str, expected: str, count: int
) -> None:
    assert redact_names(text, KnownNames.of(names)) == (expected, count)


@pytest.mark.parametrize(
    ("names", "text", "expected"),
    [
        (["Will Long"], "I will be long gone", "I will be long gone"),
        (["Will Long"], "will long; we long for it", "will long; we long for it"),
        (["Will Long"], "Will Long called, and Will again", "<NAME_1> called, and <NAME_1> again"),
        (["Will Long"], "Thanks, Long", "Thanks, <NAME_1>"),
        (["Will Smith"], "will smith wrote", "<NAME_1> wrote"),  # next to a part that is no word
        (["Rose Hill"], "prices rose up the hill", "prices rose up the hill"),
        (["Mark Price"], "mark the price", "mark the price"),
    ],
)
def test_name_parts_that_are_everyday_words(names: list[str], text: str, expected: str) -> None:
    assert redact_names(text, KnownNames.of(names))[0] == expected


@pytest.mark.parametrize("names", [[], [None], ["  "], ["a"]])
def test_no_usable_name_changes_nothing(names: list) -> None:
    known = KnownNames.of(names)
    assert known is None
    assert redact_names("a text with a", known) == ("a text with a", 0)


def test_none_text() -> None:
    assert redact_names(None, KnownNames.of(["Ann Lee"])) == (None, 0)
