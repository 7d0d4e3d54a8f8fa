"""Failure reasons a person can act on, and the endpoint checked before the stage sends.

Why these cases matter:

* `APIConnectionError` alone does not say which endpoint or why; the line kept per call must
  name the host and the cause (refused, HTTP status and message, timeout), and the ledger's
  reason must carry it, since that is where an operator looks first.
* The host comes from a base URL that may carry credentials: none may reach the line.
* A closed port fails every row after its retries; checked first, it stops the stage with one
  line and no call sent. An endpoint that answers with any status, even 503, is alive: the
  check must not mistake a struggling server for a missing one.
"""

from __future__ import annotations

import socket
from pathlib import Path

import openai
import pytest

from governance_pipeline import store
from governance_pipeline.errors import EndpointError
from governance_pipeline.llm.failures import cause, check_reachable, host_of
from governance_pipeline.outputs import outcomes
from tests.conftest import triage
from tests.fake_openai import FakeOpenAI, Fault
from tests.stage_helpers import endpoint_for, prepare, run_stage, triage_spec


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fail(base_url: str, timeout: float = 5.0) -> BaseException:
    client = openai.OpenAI(base_url=base_url, api_key="sk-secret-key", max_retries=0)
    with pytest.raises(openai.APIError) as info:
        client.with_options(timeout=timeout).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}]
        )
    return info.value


def test_a_refused_connection_names_the_host() -> None:
    port = free_port()
    url = f"http://user:hunter2@127.0.0.1:{port}/v1?api-key=zzz-secret"
    line = cause(_fail(url), url)
    assert line == f"no answer from 127.0.0.1:{port}: connection refused"


def test_an_http_error_names_status_host_and_message_cut_short() -> None:
    with FakeOpenAI(triage, faults=[Fault("500", rate=1.0)]) as server:
        line = cause(_fail(server.base_url), server.base_url)
    host = host_of(server.base_url)
    assert line.startswith(f"HTTP 500 from {host}: ") and len(line) <= len(host) + 220


def test_a_timeout_says_how_long_it_waited() -> None:
    with FakeOpenAI(triage, faults=[Fault("timeout", rate=1.0)]) as server:
        line = cause(_fail(server.base_url, timeout=0.2), server.base_url, 0.2)
    assert line == f"no answer from {host_of(server.base_url)} within 0.2 s"


def test_the_host_never_carries_credentials() -> None:
    assert host_of("https://me:pw@api.example.com/v1?key=k") == "api.example.com"
    assert host_of("http://127.0.0.1:9/v1") == "127.0.0.1:9"


def test_an_endpoint_answering_503_is_alive() -> None:
    with FakeOpenAI(triage) as server:
        server.down = True
        check_reachable(endpoint_for(server.base_url))  # no error: it answers


def test_a_closed_port_stops_the_stage_before_any_call(demo_db: Path) -> None:
    port = free_port()
    endpoint = endpoint_for(f"http://u:pw@127.0.0.1:{port}/v1")
    with pytest.raises(EndpointError) as info:
        check_reachable(endpoint, timeout_s=1.0)
    assert f"127.0.0.1:{port} does not answer (connection refused)" in str(info.value)
    assert "pw" not in str(info.value)
    spec = triage_spec(max_retries=0)
    prepare(demo_db, spec, endpoint)
    with pytest.raises(EndpointError, match="does not answer"):
        run_stage(demo_db, spec, endpoint)
    with store.connect(demo_db) as con:
        assert store.scalar(con, "SELECT count(*) FROM support_triage.llm_call") == 0


def test_failed_calls_keep_their_cause_and_the_ledger_repeats_it(demo_db: Path) -> None:
    spec = triage_spec(max_retries=0)
    with FakeOpenAI(triage) as server:
        server.down = True  # 503 for every call: alive, so the stage runs and every call fails
        endpoint = endpoint_for(server.base_url)
        prepare(demo_db, spec, endpoint)
        run_stage(demo_db, spec, endpoint)
    host = host_of(server.base_url)
    with store.connect(demo_db) as con:
        errors = {
            e
            for (e,) in con.execute(
                "SELECT DISTINCT error FROM support_triage.llm_call WHERE status = 'failed'"
            ).fetchall()
        }
        outcomes.write_ledger(con, spec, "run-1")
        reasons = [
            r
            for (r,) in con.execute(
                "SELECT reason FROM support_triage.row_ledger WHERE disposition = 'call_failed'"
            ).fetchall()
        ]
    called = {e for e in errors if not e.startswith("not sent")}
    assert called and all(e.startswith(f"HTTP 503 from {host}: ") for e in called), errors
    assert reasons and all(f"from {host}" in r or "not sent" in r for r in reasons)
