"""Tests for known-name redaction (``governance_pipeline.inputs.names``).

A ticket's own `customer_name` is the surest way to find the customer in the body, but a name
is also a word: `Mark` must go when the customer is Mark, and `Markus`, `remark` and the
placeholders already in the text must stay. A whole name in a row is one placeholder, so the
model still reads a sentence.
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


@pytest.mark.parametrize("names", [[], [None], ["  "], ["a"]])
def test_no_usable_name_changes_nothing(names: list) -> None:
    known = KnownNames.of(names)
    assert known is None
    assert redact_names("a text with a", known) == ("a text with a", 0)


def test_none_text() -> None:
    assert redact_names(None, KnownNames.of(["Ann Lee"])) == (None, 0)
