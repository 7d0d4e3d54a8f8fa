"""Tests for redaction operators and the token vault (``governance_pipeline.inputs.redaction``).

The spec picks an operator per column and entity type. What must hold for each: the value
never survives; what replaces it is stable where it promises to be (a placeholder within a row,
a hash or token everywhere, under one key) and different under another key; no output of an
operator is itself detected as PII, so the no_pii check can prove a table clean. Tokens come
back only through `reidentify`, which refuses without a purpose or with the wrong key, and logs
every use, granted or refused, without a value.
"""

from __future__ import annotations

import duckdb
import pytest
from pydantic import SecretStr, TypeAdapter, ValidationError

from governance_pipeline.inputs.redaction import RedactionError, RedactionKeys, Redactor, find_pii
from governance_pipeline.inputs.redaction.operators import Operator
from governance_pipeline.inputs.redaction.vault import TOKEN_RE, reidentify, store_tokens
from governance_pipeline.store import GOVERNANCE_DDL

KEYS = RedactionKeys(hash_key=SecretStr("h" * 32), token_key=SecretStr("t" * 32))
OTHER_KEYS = RedactionKeys(hash_key=SecretStr("x" * 32), token_key=SecretStr("y" * 32))
OPS = TypeAdapter(list[Operator])


def redactor(ops: list[dict], keys: RedactionKeys = KEYS) -> Redactor:
    return Redactor(operators=OPS.validate_python(ops), keys=keys)


ROW = {
    "subject": "card 4111 1111 1111 1111",
    "body": "Mail jane@example.com or call (415) 555-2671; card 4111-1111-1111-1111",
}


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        (
            [],
            {
                "subject": "card <CREDIT_CARD_1>",
                "body": "Mail <EMAIL_1> or call <PHONE_1>; card <CREDIT_CARD_1>",
            },
        ),
        (
            [{"type": "mask", "entities": ["CREDIT_CARD"], "keep_last": 4}],
            {
                "subject": "card **** **** **** 1111",
                "body": "Mail <EMAIL_1> or call <PHONE_1>; card ****-****-****-1111",
            },
        ),
        (
            [{"type": "mask", "char": "#", "columns": ["body"]}],
            {
                "subject": "card <CREDIT_CARD_1>",
                "body": "Mail ####@#######.### or call (###) ###-####; card ####-####-####-####",
            },
        ),
        (
            [{"type": "drop", "columns": ["subject"], "entities": ["CREDIT_CARD"]}],
            {"subject": None, "body": "Mail <EMAIL_1> or call <PHONE_1>; card <CREDIT_CARD_1>"},
        ),
        (
            [{"type": "drop", "columns": ["subject"]}],
            {"subject": None, "body": "Mail <EMAIL_1> or call <PHONE_1>; card <CREDIT_CARD_1>"},
        ),
    ],
)
def test_operator_per_column_and_entity(ops: list[dict], expected: dict) -> None:
    redacted, counts = redactor(ops).redact_row(ROW)
    assert redacted == expected
    assert all(find_pii(v) == [] for v in redacted.values() if v)
    assert "4111" not in repr(counts) and counts["EMAIL"] <= 1


def test_first_matching_operator_wins() -> None:
    ops = [
        {"type": "mask", "entities": ["EMAIL"], "columns": ["body"]},
        {"type": "hash", "entities": ["EMAIL"]},
    ]
    redacted, _ = redactor(ops).redact_row({"subject": "a@b.io", "body": "a@b.io"})
    assert redacted["body"] == "*@*.**"
    assert redacted["subject"].startswith("<EMAIL_H_") and redacted["subject"].endswith(">")


def test_hash_is_stable_across_rows_and_keyed() -> None:
    ops = [{"type": "hash"}]
    one = redactor(ops).redact_text("Jane@Example.com")[0]
    again = redactor(ops).redact_text("write to jane@example.com")[0]
    other = redactor(ops, OTHER_KEYS).redact_text("jane@example.com")[0]
    assert one is not None and again == f"write to {one}"
    assert other != one
    assert find_pii(one) == [] and "jane" not in one


def test_tokens_are_stable_and_the_vault_holds_ciphertext_only() -> None:
    r = redactor([{"type": "tokenize", "entities": ["EMAIL", "US_SSN"]}])
    a, _ = r.redact_row({"body": "jane@example.com, SSN 123-45-6789"})
    b, _ = r.redact_row({"body": "JANE@example.com again"})
    token = TOKEN_RE.search(a["body"] or "")
    assert token is not None and token.group(0) in (b["body"] or "")
    assert r.tokenizer is not None and len(r.tokenizer.pending) == 2
    sealed = b"".join(s for _, s in r.tokenizer.pending.values())
    assert b"jane" not in sealed and b"6789" not in sealed


def test_missing_key_is_a_clear_error() -> None:
    with pytest.raises(RedactionError, match="GOVERNANCE_TOKEN_KEY is unset"):
        redactor([{"type": "tokenize"}], RedactionKeys(hash_key=None, token_key=None))


def test_drop_needs_a_column_or_an_entity() -> None:
    with pytest.raises(ValidationError, match="needs `columns`, `entities`"):
        OPS.validate_python([{"type": "drop"}])


@pytest.fixture
def vault() -> tuple[duckdb.DuckDBPyConnection, str]:
    r = redactor([{"type": "tokenize"}])
    text, _ = r.redact_text("Reach jane@example.com, IBAN GB82 WEST 1234 5698 7654 32")
    con = duckdb.connect()
    con.execute(GOVERNANCE_DDL)  # the vault's tables come with the store
    assert r.tokenizer is not None
    store_tokens(con, r.tokenizer.pending)
    assert text is not None
    yield con, text
    con.close()


def _log(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "SELECT actor, purpose, tokens, restored, entities, outcome "
        "FROM governance.reidentification ORDER BY used_at"
    ).fetchall()


def test_reidentify_restores_values_and_logs_the_use(vault: tuple) -> None:
    con, text = vault
    restored = reidentify(con, text, purpose="fraud case 42", actor="ann", keys=KEYS)
    assert restored == "Reach jane@example.com, IBAN GB82 WEST 1234 5698 7654 32"
    log = _log(con)
    assert log == [("ann", "fraud case 42", 2, 2, '{"EMAIL": 1, "IBAN": 1}', "restored")]
    assert "jane" not in repr(log)


@pytest.mark.parametrize(
    ("purpose", "keys", "error"),
    [
        ("", KEYS, "needs a purpose"),
        ("audit", OTHER_KEYS, "does not open with this GOVERNANCE_TOKEN_KEY"),
        ("audit", RedactionKeys(hash_key=None, token_key=None), "GOVERNANCE_TOKEN_KEY is unset"),
    ],
)
def test_reidentify_refuses_and_still_logs(
    vault: tuple, purpose: str, keys: RedactionKeys, error: str
) -> None:
    con, text = vault
    with pytest.raises(RedactionError, match=error):
        reidentify(con, text, purpose=purpose, actor="bob", keys=keys)
    [(actor, _, tokens, restored, _, outcome)] = _log(con)
    assert (actor, tokens, restored) == ("bob", 2, 0)
    assert outcome.startswith("refused")


def test_unknown_token_is_refused(vault: tuple) -> None:
    con, _ = vault
    with pytest.raises(RedactionError, match="not in the vault"):
        reidentify(con, "<EMAIL_T_aaaaaaaaaaaaaaaa>", purpose="x", actor="c", keys=KEYS)


def test_spec_operators_must_name_scanned_columns() -> None:
    from governance_pipeline.spec import Redaction

    with pytest.raises(ValidationError, match="names column\\(s\\) bdy, which redaction.columns"):
        Redaction.model_validate(
            {"columns": ["body"], "operators": [{"type": "mask", "columns": ["bdy"]}]}
        )
    ok = Redaction.model_validate(
        {"columns": ["body"], "operators": [{"type": "drop", "columns": ["customer_name"]}]}
    )
    assert ok.operators[0].type == "drop"
