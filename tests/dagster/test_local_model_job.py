"""The demo job on 5 rows against the real embedded model (llama.cpp serving SmolLM2-135M),
with no key and no base URL: the same openai-client code path as for OpenAI, over HTTP."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from governance_pipeline import store
from governance_pipeline.dagster.definitions import definitions_for, load_specs
from governance_pipeline.demo.tickets import generate_support_tickets
from governance_pipeline.llm.endpoint import LOCAL_MODEL_NAME
from governance_pipeline.llm.local_model import LocalModelServer
from tests.conftest import SPEC_DIR

pytestmark = pytest.mark.integration
JOB = "support_triage"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def local_server() -> Iterator[LocalModelServer]:
    with LocalModelServer(free_port()) as server:
        yield server


def chat_posts(server: LocalModelServer) -> int:
    assert server.log_path is not None
    return server.log_path.read_text(errors="replace").count('"POST /v1/chat/completions HTTP')


def test_demo_job_on_the_embedded_model(
    env: Path, local_server: LocalModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVERNANCE_LOCAL_MODEL_PORT", str(local_server.port))
    with store.connect(env) as con:
        generate_support_tickets(con, 5, seed=7)
    defs = definitions_for(load_specs(SPEC_DIR), str(env))
    job = defs.resolve_job_def(f"{JOB}_job")
    before = chat_posts(local_server)

    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert result.success
    with store.connect(env) as con:
        ledger = con.execute(
            f"SELECT ticket_id, disposition, reason FROM {JOB}.row_ledger WHERE run_id = ?",
            [result.run_id],
        ).fetchall()
        calls = con.execute(
            f"SELECT status, model, tokens_in, tokens_out FROM {JOB}.llm_call WHERE run_id = ?",
            [result.run_id],
        ).fetchall()
        endpoint = con.execute(
            "SELECT endpoint FROM governance.run WHERE run_id = ?", [result.run_id]
        ).fetchone()[0]
    assert sorted(k for k, _, _ in ledger) == [1, 2, 3, 4, 5]
    assert {d for _, d, _ in ledger} <= {"enriched", "output_quarantined", "input_quarantined"}
    assert all(reason for _, d, reason in ledger if d != "enriched")
    assert "embedded local model" in endpoint
    made = [c for c in calls if c[0] == "ok"]
    assert made and all(
        model == LOCAL_MODEL_NAME and tin > 0 and tout > 0 for _, model, tin, tout in made
    )
    # each paid call was one HTTP request to the server, as its access log shows
    assert chat_posts(local_server) - before == len(made)

    rerun = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert rerun.success
    assert chat_posts(local_server) - before == len(made)  # served from the cache
