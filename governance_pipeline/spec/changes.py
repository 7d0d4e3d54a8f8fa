"""What changed in a job's spec since the store last saw another version of it.

Every run records its resolved spec in `governance.spec_version`, keyed by the spec's content
hash. The earlier version of a spec is the newest other hash of the job first seen before this
one (or, for a spec no run has used yet, the newest the store holds). The two are compared as
the document reads them: the job's fields by dotted path (`model.temperature`,
`source.columns.body.max_length`), the effective policies and SLAs by id (`slas.triage-
compliance.min`), inherited ones included, and the resolved alerts. Where each item was
declared (file and line) and the hashes themselves are not fields of the contract, so they do
not count; a list (examples, `prompt_columns`) counts as one field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from governance_pipeline.spec.models import ResolvedSpec
from governance_pipeline.store import first


@dataclass(frozen=True)
class Change:
    """One field that differs: its dotted path, and its value before and after (None: absent)."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class History:
    """The earlier version of a spec the store holds, if any, and what differs from it."""

    previous_hash: str | None = None
    previous_seen: datetime | None = None
    changes: list[Change] = field(default_factory=list)

    @property
    def first_version(self) -> bool:
        """True when the store holds no earlier version of the job."""
        return self.previous_hash is None


def history(con: duckdb.DuckDBPyConnection, spec: ResolvedSpec) -> History:
    """The spec's earlier version in `governance.spec_version`, and the fields that changed."""
    row = first(
        con,
        "SELECT spec_hash, first_seen, resolved FROM governance.spec_version "
        "WHERE job = $job AND spec_hash <> $hash AND first_seen <= coalesce("
        "  (SELECT first_seen FROM governance.spec_version WHERE spec_hash = $hash),"
        "  'infinity'::TIMESTAMP) "
        "ORDER BY first_seen DESC, spec_hash LIMIT 1",
        {"job": spec.name, "hash": spec.spec_hash},
    )
    if row is None:
        return History()
    previous_hash, seen, resolved = row
    return History(str(previous_hash), seen, compare(json.loads(resolved), spec))


def compare(previous: dict[str, Any], spec: ResolvedSpec) -> list[Change]:
    """The fields of `spec` that differ from `previous` (a stored `ResolvedSpec` as JSON)."""
    before = _flat(_comparable(previous))
    after = _flat(_comparable(json.loads(spec.model_dump_json())))
    return [
        Change(name, before.get(name), after.get(name))
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    ]


def _comparable(resolved: dict[str, Any]) -> dict[str, Any]:
    """A resolved spec as its reader sees it: the job's fields, policies and SLAs by id."""
    job = {k: v for k, v in resolved.get("job", {}).items() if k not in ("policies", "slas")}
    return {
        **{k: v for k, v in job.items() if k != "alerts"},
        "policies": {p["item"]["id"]: p["item"] for p in resolved.get("policies", [])},
        "slas": {s["item"]["id"]: s["item"] for s in resolved.get("slas", [])},
        "alerts": resolved.get("alerts"),
    }


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaves by dotted path; a mapping is walked into, anything else is one leaf."""
    if isinstance(value, dict) and value:
        leaves: dict[str, Any] = {}
        for key, inner in value.items():
            leaves |= _flat(inner, f"{prefix}{key}.")
        return leaves
    return {prefix.rstrip("."): value}
