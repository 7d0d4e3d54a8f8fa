"""The fake OpenAI server, exercised through the real ``openai`` client (no network)."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Iterator

import openai
import pytest

try:
    from tests.fake_openai import FakeOpenAI, Fault
except ImportError:  # tests/ is not a package: pytest puts tests/ itself on sys.path
    from fake_openai import FakeOpenAI, Fault

MESSAGES = [
    {"role": "system", "content": "You extract fields."},
    {"role": "user", "content": "Name: Ada Lovelace"},
]


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def make_client(server: FakeOpenAI, **kwargs) -> openai.OpenAI:
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", 5.0)
    return openai.OpenAI(base_url=server.base_url, api_key="test", **kwargs)


def complete(client: openai.OpenAI, model: str = "fake-model"):
    return client.chat.completions.create(model=model, messages=MESSAGES)


def test_base_url_is_loopback(fake_openai: FakeOpenAI) -> None:
    assert fake_openai.base_url.startswith("http://127.0.0.1:")
    assert fake_openai.base_url.endswith("/v1")


def test_completion_round_trips_content_and_usage() -> None:
    def responder(body: dict) -> str:
        return json.dumps({"echo": body["messages"][-1]["content"]})

    with FakeOpenAI(responder) as server, make_client(server) as client:
        result = complete(client, model="gpt-test")

    content = result.choices[0].message.content
    assert json.loads(content) == {"echo": "Name: Ada Lovelace"}
    assert result.choices[0].message.role == "assistant"
    assert result.choices[0].finish_reason == "stop"
    assert result.object == "chat.completion"
    assert result.model == "gpt-test"
    chars = sum(len(m["content"]) for m in MESSAGES)
    assert result.usage.prompt_tokens == math.ceil(chars / 4)
    assert result.usage.completion_tokens == math.ceil(len(content) / 4)
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens
    assert server.requests == [{"model": "gpt-test", "messages": MESSAGES}]


def test_default_responder_returns_empty_object(fake_openai: FakeOpenAI) -> None:
    with make_client(fake_openai) as client:
        assert complete(client).choices[0].message.content == "{}"


def test_calls_counts_chat_completions_only(fake_openai: FakeOpenAI) -> None:
    with make_client(fake_openai) as client:
        for _ in range(3):
            complete(client)
        models = client.models.list()
    assert [m.id for m in models.data] == ["fake-model"]
    assert fake_openai.calls == 3
    assert len(fake_openai.requests) == 3


def test_down_answers_503_and_recovers(fake_openai: FakeOpenAI) -> None:
    fake_openai.down = True
    with make_client(fake_openai) as client:
        with pytest.raises(openai.InternalServerError) as info:
            complete(client)
        assert info.value.status_code == 503
        with pytest.raises(openai.InternalServerError):
            client.models.list()
        fake_openai.down = False
        assert complete(client).choices[0].message.content == "{}"
    assert fake_openai.calls == 2  # the 503 counts


def test_429_with_retry_after_is_retried_then_succeeds() -> None:
    with FakeOpenAI(faults=[Fault("429", retry_after=0.2)], schedule=["429", None]) as server:
        with make_client(server, max_retries=1) as client:
            start = time.monotonic()
            result = complete(client)
            elapsed = time.monotonic() - start
    assert result.choices[0].message.content == "{}"
    assert server.calls == 2
    assert elapsed >= 0.2  # the client waited out Retry-After


def test_429_without_retries_raises_rate_limit_error() -> None:
    with (
        FakeOpenAI(schedule=[Fault("429", retry_after=3)]) as server,
        make_client(server) as client,
    ):
        with pytest.raises(openai.RateLimitError) as info:
            complete(client)
    assert info.value.status_code == 429
    assert info.value.response.headers["retry-after"] == "3"
    assert info.value.code == "rate_limit_exceeded"


def test_500_raises_internal_server_error() -> None:
    with FakeOpenAI(schedule=["500"]) as server, make_client(server) as client:
        with pytest.raises(openai.InternalServerError) as info:
            complete(client)
        assert info.value.status_code == 500
        assert complete(client).choices[0].message.content == "{}"  # schedule used up


def test_malformed_body_raises() -> None:
    # openai 3.54 observed: json.JSONDecodeError (a ValueError), not an openai.APIError.
    with FakeOpenAI(schedule=["malformed"]) as server, make_client(server) as client:
        with pytest.raises((openai.APIError, ValueError)):
            complete(client)
    assert server.calls == 1


def test_drop_raises_connection_error() -> None:
    with FakeOpenAI(schedule=["drop"]) as server, make_client(server) as client:
        with pytest.raises(openai.APIConnectionError) as info:
            complete(client)
        assert not isinstance(info.value, openai.APITimeoutError)
        assert complete(client).choices[0].message.content == "{}"


def test_timeout_raises_timeout_error_and_stop_is_prompt() -> None:
    server = FakeOpenAI(schedule=["timeout"]).start()
    try:
        with make_client(server, timeout=0.5) as client:
            with pytest.raises(openai.APITimeoutError):
                complete(client)
    finally:
        start = time.monotonic()
        server.stop()
        assert time.monotonic() - start < 1.0


def test_stop_cuts_a_hang_short_while_a_client_waits() -> None:
    import threading

    server = FakeOpenAI(schedule=["timeout"], hang_seconds=30).start()
    errors: list[BaseException] = []

    def call() -> None:
        with make_client(server, timeout=20) as client:
            try:
                complete(client)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    deadline = time.monotonic() + 2
    while server.calls == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    start = time.monotonic()
    server.stop()
    thread.join(timeout=5)
    assert time.monotonic() - start < 1.0
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], openai.APIConnectionError)


def test_seeded_random_faults_replay() -> None:
    def outcomes(seed: int) -> list[str]:
        found = []
        with FakeOpenAI(faults=[Fault("500", rate=0.5)], seed=seed) as server:
            with make_client(server) as client:
                for _ in range(20):
                    try:
                        complete(client)
                        found.append("ok")
                    except openai.InternalServerError:
                        found.append("500")
        return found

    first = outcomes(7)
    assert first == outcomes(7)
    assert set(first) == {"ok", "500"}


def test_fault_rates_zero_and_one() -> None:
    faults = [Fault("429", rate=0.0), Fault("500", rate=1.0)]
    with FakeOpenAI(faults=faults) as server, make_client(server) as client:
        for _ in range(3):
            with pytest.raises(openai.InternalServerError):
                complete(client)
    assert server.calls == 3


def test_latency_is_honoured() -> None:
    with FakeOpenAI(latency=0.2) as server, make_client(server) as client:
        start = time.monotonic()
        complete(client)
        assert time.monotonic() - start >= 0.2


def test_responder_error_is_a_500_that_is_not_retried() -> None:
    def broken(body: dict) -> str:
        raise KeyError("missing")

    with FakeOpenAI(broken) as server, make_client(server, max_retries=2) as client:
        with pytest.raises(openai.InternalServerError, match="responder raised"):
            complete(client)
    assert server.calls == 1
    assert isinstance(server.server_errors[0], KeyError)


def test_fault_validation() -> None:
    with pytest.raises(ValueError):
        Fault("418")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Fault("500", rate=1.5)


def test_async_client_concurrent_requests() -> None:
    def responder(body: dict) -> str:
        return body["messages"][-1]["content"].upper()

    async def run(server: FakeOpenAI) -> list[str]:
        async with openai.AsyncOpenAI(
            base_url=server.base_url, api_key="test", max_retries=0, timeout=5.0
        ) as client:
            results = await asyncio.gather(
                *(
                    client.chat.completions.create(
                        model="fake-model", messages=[{"role": "user", "content": f"row {i}"}]
                    )
                    for i in range(5)
                )
            )
            return [r.choices[0].message.content for r in results]

    with FakeOpenAI(responder, latency=0.1) as server:
        start = time.monotonic()
        contents = asyncio.run(run(server))
        elapsed = time.monotonic() - start
    assert contents == [f"ROW {i}" for i in range(5)]
    assert server.calls == 5
    assert elapsed < 0.45  # served concurrently, not one after another


def test_async_client_sees_faults() -> None:
    async def run(server: FakeOpenAI) -> None:
        async with openai.AsyncOpenAI(
            base_url=server.base_url, api_key="test", max_retries=0, timeout=0.5
        ) as client:
            for expected in (
                openai.RateLimitError,
                openai.APIConnectionError,
                openai.APITimeoutError,
            ):
                with pytest.raises(expected):
                    await client.chat.completions.create(model="fake-model", messages=MESSAGES)

    with FakeOpenAI(schedule=["429", "drop", "timeout"]) as server:
        asyncio.run(run(server))
    assert server.calls == 3
