"""Shared fixtures: an isolated store and Dagster home per test, demo data, and a fake
OpenAI-compatible server on 127.0.0.1 that triages tickets the way a decent model would."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from governance_pipeline import store
from governance_pipeline.demo.tickets import generate_support_tickets
from tests.fake_openai import FakeOpenAI, parse_data_block

os.environ["DAGSTER_DISABLE_TELEMETRY"] = "1"
for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):  # never reach a real endpoint from tests
    os.environ.pop(name, None)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SPEC_DIR = PROJECT_ROOT / "specs"

_CATEGORIES = [
    ("billing", r"charge|invoice|refund|card|billing"),
    ("account", r"log ?in|password|account|locked"),
    ("shipping", r"ship|deliver|package|track"),
    ("bug", r"crash|error|bug|broken"),
    ("feature_request", r"feature|would love|please add|suggest"),
    ("cancellation", r"cancel"),
    ("praise", r"thank|great|love|amazing"),
]


def triage(body: dict) -> str:
    """What a well-behaved model answers: a category by keywords, a PII-free summary."""
    row = parse_data_block(body["messages"][-1]["content"])
    text = f"{row.get('subject') or ''} {row.get('body') or ''}".lower()
    category = next((c for c, pattern in _CATEGORIES if re.search(pattern, text)), "other")
    urgency = (
        "high"
        if category in ("billing", "account")
        else "low"
        if category in ("praise", "feature_request")
        else "medium"
    )
    sentiment = "positive" if category == "praise" else "negative"
    return json.dumps(
        {
            "category": category,
            "urgency": urgency,
            "sentiment": sentiment,
            "summary": f"The customer writes about {category.replace('_', ' ')}.",
        }
    )


@pytest.fixture
def fake_llm() -> Iterator[FakeOpenAI]:
    """A fake endpoint that triages correctly."""
    with FakeOpenAI(triage) as server:
        yield server


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private store and Dagster home; returns the DuckDB path."""
    db = tmp_path / "governance.duckdb"
    monkeypatch.setenv("GOVERNANCE_DB", str(db))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    return db


@pytest.fixture
def demo_db(env: Path) -> Path:
    """The store with 40 demo tickets in raw.support_tickets."""
    with store.connect(env) as con:
        generate_support_tickets(con, 40, seed=7)
    return env


@pytest.fixture
def endpoint_env(fake_llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    """Point the openai client's own variables at the fake server."""
    monkeypatch.setenv("OPENAI_BASE_URL", fake_llm.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    return fake_llm
