"""Keys, surrogates and the token vault: keyed hashing and reversible tokenisation.

Two secrets come from the environment, never from the spec, and are never stored or logged:

* ``GOVERNANCE_HASH_KEY``: the HMAC-SHA256 key of the `hash` operator.
* ``GOVERNANCE_TOKEN_KEY``: the root of the `tokenize` operator. HKDF derives from it an HMAC key
  (the token of a value, so the same value gets the same token in every row and run) and an
  AES-256-GCM key that encrypts the value in ``governance.token_vault``. The token is the
  associated data, so a ciphertext cannot be moved to another token.

`reidentify` turns tokens in a text back into values for an authorised purpose and writes one
row to ``governance.reidentification`` for every use, granted or refused: who, why, how many
tokens of which types. Never the values. Both tables are made with the store (`store.ddl`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from governance_pipeline.errors import RedactionError

if TYPE_CHECKING:  # the vault's tables are written through a connection it is given
    import duckdb

__all__ = ["RedactionError", "RedactionKeys", "Tokenizer", "reidentify", "surrogate"]

TOKEN_RE = re.compile(r"<([A-Z][A-Z_]*[A-Z])_T_([a-z]{16})>")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


class RedactionKeys(BaseSettings):
    """The redaction secrets, from `GOVERNANCE_HASH_KEY` and `GOVERNANCE_TOKEN_KEY`."""

    model_config = SettingsConfigDict(env_prefix="GOVERNANCE_", extra="ignore")

    hash_key: SecretStr | None = Field(None, description="HMAC key of the hash operator.")
    token_key: SecretStr | None = Field(None, description="Root key of reversible tokenisation.")

    def require(self, name: str) -> bytes:
        """The key's bytes, or a RedactionError that says which variable to set."""
        value: SecretStr | None = getattr(self, name)
        if value is None or len(value.get_secret_value()) < 16:
            raise RedactionError(
                f"GOVERNANCE_{name.upper()} is unset or shorter than 16 characters; the spec's "
                f"redaction operators need it. Set it, e.g. `export GOVERNANCE_{name.upper()}="
                '$(python -c "import secrets; print(secrets.token_urlsafe(32))")`'
            )
        return value.get_secret_value().encode()


def surrogate(key: bytes, entity: str, normalised: str) -> str:
    """Sixteen letters (about 75 bits) of HMAC-SHA256 over the entity and normalised value."""
    digest = hmac.new(key, f"{entity}\x00{normalised}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest[:12], "big")
    letters = []
    for _ in range(16):
        number, rest = divmod(number, 26)
        letters.append(_LETTERS[rest])
    return "".join(letters)


def _derive(root: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(root)


@dataclass
class Tokenizer:
    """Issues tokens and keeps the encrypted values of new ones until they are stored."""

    root: bytes
    pending: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._mac = _derive(self.root, b"governance-pipeline token")
        self._aead = AESGCM(_derive(self.root, b"governance-pipeline vault"))

    def token(self, entity: str, normalised: str, value: str) -> str:
        """The token of a value, e.g. `<EMAIL_T_qkxbmtzrwlfdnyse>`; the value is encrypted."""
        token = f"<{entity}_T_{surrogate(self._mac, entity, normalised)}>"
        if token not in self.pending:
            nonce = os.urandom(12)
            sealed = nonce + self._aead.encrypt(nonce, value.encode(), token.encode())
            self.pending[token] = (entity, sealed)
        return token

    def open(self, token: str, sealed: bytes) -> str:
        """Decrypt a vault entry (raises if the key or the token does not fit)."""
        return self._aead.decrypt(sealed[:12], sealed[12:], token.encode()).decode()


def store_tokens(con: duckdb.DuckDBPyConnection, pending: dict[str, tuple[str, bytes]]) -> int:
    """Add new vault entries; a token already stored keeps its first ciphertext."""
    if not pending:
        return 0
    rows = [(t, e, s) for t, (e, s) in pending.items()]
    con.executemany(
        "INSERT INTO governance.token_vault (token, entity, ciphertext) VALUES (?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        rows,
    )
    return len(rows)


def _log(
    con: duckdb.DuckDBPyConnection,
    actor: str,
    purpose: str,
    found: Counter[str],
    restored: int,
    outcome: str,
) -> None:
    con.execute(
        "INSERT INTO governance.reidentification VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            datetime.now(UTC).replace(tzinfo=None),
            actor,
            purpose,
            sum(found.values()),
            restored,
            json.dumps(dict(sorted(found.items()))),
            outcome,
        ],
    )


def reidentify(
    con: duckdb.DuckDBPyConnection, text: str, *, purpose: str, actor: str, keys: RedactionKeys
) -> str:
    """Replace every token in `text` by its value, for an authorised purpose; log the use.

    Raises:
        RedactionError: no purpose was given, the key is missing or wrong, or a token is not
            in the vault. The refusal is logged too.
    """
    found = Counter(m.group(1) for m in TOKEN_RE.finditer(text))
    if not purpose.strip():
        _log(con, actor, purpose, found, 0, "refused: no purpose")
        raise RedactionError("reidentification needs a purpose (--purpose), which is logged")
    try:
        tokenizer = Tokenizer(keys.require("token_key"))
        wanted = sorted({m.group(0) for m in TOKEN_RE.finditer(text)})
        sealed = dict(
            con.execute(
                "SELECT token, ciphertext FROM governance.token_vault "
                "WHERE list_contains(?, token)",
                [wanted],
            ).fetchall()
        )
        missing = [t for t in wanted if t not in sealed]
        if missing:
            raise RedactionError(f"{len(missing)} token(s) are not in the vault: {missing[0]}")
        try:
            values = {t: tokenizer.open(t, bytes(sealed[t])) for t in wanted}
        except Exception:
            raise RedactionError("the vault does not open with this GOVERNANCE_TOKEN_KEY") from None
    except RedactionError as exc:
        _log(con, actor, purpose, found, 0, f"refused: {exc}"[:200])
        raise
    _log(con, actor, purpose, found, len(values), "restored")
    return TOKEN_RE.sub(lambda m: values[m.group(0)], text)
