"""Tests for the call layer (``governance_pipeline.llm``, ``budget``, ``endpoint``).

Every paid call goes through this layer, so its promises are money and availability:

* The request hash is the cache key: the same request must hash the same whatever the dict
  order (or it is paid for twice), and any change to model or messages must change it (or a
  stale answer is served).
* The response format follows the endpoint's declared capability; sending OpenAI's json_schema
  to a server that only knows llama.cpp's json_object breaks every call.
* Cost is priced per model from the price table (the embedded model is free, the Batch API
  half price): a wrong price makes every cost cap and cost SLA wrong.
* The budget reserves a call's worst case before it is sent, so calls in flight together never
  exceed a cap, and a row that does not fit is not called at all.
* The prompt's worst case is a bound, not the 4-characters-a-token estimate: an endpoint that
  counts 1.5 or 3 times the estimate must still not take a run over its token or cost cap.
* Against a failing endpoint the layer retries what is worth retrying (and says so in
  `attempts`), and a circuit breaker stops hammering a dead one.
* A 200 with no usable answer (no choice, no content, cut short by `max_tokens` or a content
  filter) is a failure, retried and never `ok`: an `ok` answer is cached for good, so an empty
  one would be served to every rerun. Its tokens were billed, so they are counted.
* The base URL may carry credentials: no description of the endpoint shows them.

The openai client is real; only the server is fake (tests/fake_openai.py), on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Sequence

import openai
import pytest
from openai.types.chat import ChatCompletion
from pydantic import SecretStr

from governance_pipeline import llm
from governance_pipeline.errors import ConfigError
from governance_pipeline.llm.budget import Budget, TokenBound
from governance_pipeline.llm.calls import CallRequest, CallResult, CallStatus, CircuitBreaker
from governance_pipeline.llm.endpoint import Endpoint, resolve_endpoint, safe_url
from governance_pipeline.llm.retry import (
    ContentFiltered,
    EmptyAnswer,
    RetryPolicy,
    TruncatedAnswer,
)
from governance_pipeline.settings import ModelPrice, Settings, StructuredOutput
from tests.fake_openai import FakeOpenAI, Fault

SCHEMA = {
    "type": "object",
    "properties": {"label": {"type": "string", "enum": ["a", "b"]}},
    "required": ["label"],
    "additionalProperties": False,
}
MESSAGES = [
    {"role": "system", "content": "Label the row."},
    {"role": "user", "content": "Row 1"},
]
ANSWER = '{"label": "a"}'


def make_endpoint(
    base_url: str = "http://127.0.0.1:9/v1",
    structured: StructuredOutput = StructuredOutput.JSON_SCHEMA,
    price_in: float = 0.5,
    price_out: float = 2.0,
) -> Endpoint:
    return Endpoint(
        base_url=base_url,
        api_key=SecretStr("sk-secret-value"),
        model="fake-model",
        structured_output=structured,
        local=False,
        price_per_1k_input_usd=price_in,
        price_per_1k_output_usd=price_out,
    )


def make_requests(endpoint: Endpoint, n: int, max_tokens: int = 20) -> list[CallRequest]:
    requests = []
    for i in range(n):
        messages = [MESSAGES[0], {"role": "user", "content": f"Row {i}"}]
        body = llm.request_body(
            endpoint, messages, temperature=0.0, max_tokens=max_tokens, schema=SCHEMA
        )
        requests.append(CallRequest(llm.request_hash(body), body, (i,)))
    return requests


def run_calls(
    server: FakeOpenAI,
    requests: Sequence[CallRequest],
    endpoint: Endpoint,
    *,
    budget: Budget | None = None,
    concurrency: int = 4,
    max_retries: int = 0,
    breaker: CircuitBreaker | None = None,
    timeout: float = 5.0,
    retry: RetryPolicy | None = None,
) -> list[tuple[CallRequest, CallResult]]:
    """call_all through a real AsyncOpenAI client; the results in the order they arrived."""
    seen: list[tuple[CallRequest, CallResult]] = []

    async def main() -> None:
        async with openai.AsyncOpenAI(
            base_url=server.base_url, api_key="test", max_retries=max_retries, timeout=timeout
        ) as client:
            await llm.call_all(
                client,
                requests,
                endpoint,
                concurrency=concurrency,
                budget=budget if budget is not None else Budget(),
                on_result=lambda req, res: seen.append((req, res)),
                breaker=breaker,
                retry=retry,
            )

    asyncio.run(main())
    return seen


# --- request identity ---------------------------------------------------------------------------

BODY = llm.request_body(make_endpoint(), MESSAGES, temperature=0.0, max_tokens=50, schema=SCHEMA)


def _reordered(value: object) -> object:
    """The same data with every dict's keys in reverse order."""
    if isinstance(value, dict):
        return {k: _reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(v) for v in value]
    return value


def test_request_hash_ignores_key_order() -> None:
    reordered = _reordered(BODY)
    assert list(reordered) != list(BODY)  # type: ignore[arg-type]
    assert llm.request_hash(reordered) == llm.request_hash(BODY)  # type: ignore[arg-type]
    assert len(llm.request_hash(BODY)) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"model": "other-model"},
        {"messages": [MESSAGES[0], {"role": "user", "content": "Row 2"}]},
        {"messages": [{"role": "system", "content": "Label the row!"}, MESSAGES[1]]},
        {"messages": list(reversed(MESSAGES))},
        {"temperature": 0.7},
        {"max_tokens": 51},
        {"response_format": {"type": "json_object"}},
    ],
    ids=[
        "model",
        "user message",
        "system message",
        "message order",
        "temperature",
        "max_tokens",
        "response_format",
    ],
)
def test_request_hash_changes_with_what_is_sent(change: dict) -> None:
    assert llm.request_hash({**BODY, **change}) != llm.request_hash(BODY)


@pytest.mark.parametrize(
    ("capability", "response_format"),
    [
        (
            StructuredOutput.JSON_SCHEMA,
            {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": SCHEMA, "strict": True},
            },
        ),
        (StructuredOutput.JSON_OBJECT_SCHEMA, {"type": "json_object", "schema": SCHEMA}),
        (StructuredOutput.NONE, None),
    ],
)
def test_request_body_asks_for_json_by_capability(
    capability: StructuredOutput, response_format: dict | None
) -> None:
    body = llm.request_body(
        make_endpoint(structured=capability),
        MESSAGES,
        temperature=0.2,
        max_tokens=64,
        schema=SCHEMA,
    )
    assert body.get("response_format") == response_format
    assert ("response_format" in body) is (response_format is not None)
    assert (body["model"], body["messages"], body["temperature"], body["max_tokens"]) == (
        "fake-model",
        MESSAGES,
        0.2,
        64,
    )


def test_estimate_tokens_covers_what_the_server_counts() -> None:
    chars = sum(len(m["content"]) for m in MESSAGES)
    assert llm.estimate_tokens(BODY) == chars // 4 + 1 + 50
    assert llm.estimate_tokens(BODY) >= math.ceil(chars / 4) + 50


# --- endpoint -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tokens_in", "tokens_out", "cost"),
    [(0, 0, 0.0), (1000, 0, 0.5), (0, 1000, 2.0), (200, 50, 0.2)],
)
def test_endpoint_cost(tokens_in: int, tokens_out: int, cost: float) -> None:
    assert make_endpoint().cost(tokens_in, tokens_out) == pytest.approx(cost)


def test_endpoint_never_shows_its_key() -> None:
    endpoint = make_endpoint()
    assert "sk-secret-value" not in endpoint.describe()
    assert "sk-secret-value" not in repr(endpoint)
    assert endpoint.describe() == "configured endpoint http://127.0.0.1:9/v1 (model fake-model)"


# a base URL with credentials, the secret, how every description shows the URL
CREDENTIALS = [
    ("http://user:hunter2-pw@127.0.0.1:9/v1", "hunter2-pw", "http://***@127.0.0.1:9/v1"),
    ("https://sk-hunter2-pw:@h.example/v1", "sk-hunter2-pw", "https://***@h.example/v1"),
    ("http://user:p@ss-hunter2@h.example/v1", "ss-hunter2", "http://***@h.example/v1"),
    ("user:hunter2-pw@h.example/v1", "hunter2-pw", "***@h.example/v1"),
    (
        "https://r.example/openai/v1?api-key=hunter2-pw",
        "hunter2-pw",
        "https://r.example/openai/v1?api-key=***",
    ),
    (
        "https://h.example/v1?key=hunter2-pw&region=eu",
        "hunter2-pw",
        "https://h.example/v1?key=***&region=eu",
    ),
    ("https://h.example/v1?Token=hunter2-pw", "hunter2-pw", "https://h.example/v1?Token=***"),
    (
        "https://h.example/v1?sv=2024&sig=hunter2-pw",
        "hunter2-pw",
        "https://h.example/v1?sv=2024&sig=***",
    ),
    (
        "https://h.example/v1?api%2Dkey=hunter2-pw#x",
        "hunter2-pw",
        "https://h.example/v1?api%2Dkey=***",
    ),
]


@pytest.mark.parametrize(
    ("url", "secret", "shown"),
    CREDENTIALS,
    ids=[
        "user and password",
        "key as user",
        "@ in password",
        "no scheme",
        "api-key",
        "key",
        "Token",
        "sig",
        "encoded name",
    ],
)
def test_no_description_of_the_endpoint_shows_credentials(
    url: str, secret: str, shown: str
) -> None:
    endpoint = make_endpoint(base_url=url)
    assert safe_url(url) == shown
    assert endpoint.describe() == f"configured endpoint {shown} (model fake-model)"
    assert secret not in repr(endpoint)
    assert endpoint.base_url == url  # the client still gets the URL as configured


@pytest.mark.parametrize(
    "url",
    ["https://api.openai.com/v1", "http://127.0.0.1:8765/v1", "https://h.example/v1?api-version=2"],
)
def test_a_url_without_credentials_is_shown_as_it_is(url: str) -> None:
    assert safe_url(url) == url


PRICED = {
    "gpt-4o": {"input": 2.5, "output": 10.0},
    "smollm2-135m-instruct": {"input": 9, "output": 9},
}


def priced_settings(**kwargs: object) -> Settings:
    return Settings(
        prices=PRICED,  # type: ignore[arg-type]
        price_per_1k_input_usd=0.1,
        price_per_1k_output_usd=0.2,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("model", "batch", "cost"),
    [
        ("gpt-4o", False, 12.5),  # from the table
        ("gpt-4o", True, 6.25),  # the Batch API's half price
        ("a-model-not-in-the-table", False, 0.3),  # the flat prices
    ],
)
def test_prices_come_from_the_table_by_model(model: str, batch: bool, cost: float) -> None:
    settings = priced_settings(openai_base_url="http://127.0.0.1:9/v1", openai_api_key="sk-x")
    endpoint = resolve_endpoint(settings, model)
    assert endpoint.cost(1000, 1000, batch=batch) == pytest.approx(cost)


def test_the_embedded_model_is_free() -> None:
    endpoint = resolve_endpoint(priced_settings())  # no endpoint configured: the local model
    assert endpoint.local
    assert endpoint.cost(10_000, 10_000) == 0.0


def test_the_price_table_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVERNANCE_PRICES", json.dumps(PRICED))
    assert Settings().price_of("gpt-4o") == ModelPrice(input=2.5, output=10.0)


def test_a_price_without_its_output_price_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVERNANCE_PRICES", '{"gpt-4o": {"input": 2.5}}')
    with pytest.raises(ConfigError, match=r"GOVERNANCE_PRICES \(gpt-4o\.output\)"):
        Settings()


# --- budget -------------------------------------------------------------------------------------

# caps, [(tokens, cost) to reserve in turn], expected answers
RESERVATIONS = [
    ((None, None), [(10**9, 10**6.0)], [True]),
    ((100, None), [(60, 0.0), (40, 0.0), (1, 0.0)], [True, True, False]),
    ((100, None), [(60, 0.0), (41, 0.0), (40, 0.0)], [True, False, True]),
    ((None, 1.0), [(1, 0.6), (1, 0.5), (1, 0.4)], [True, False, True]),
    ((10, 1.0), [(5, 0.9), (5, 0.2)], [True, False]),  # the cost cap holds even with tokens left
]


@pytest.mark.parametrize(("caps", "asks", "answers"), RESERVATIONS)
def test_budget_reserve(caps: tuple, asks: list[tuple[int, float]], answers: list[bool]) -> None:
    budget = Budget(*caps)
    assert [budget.reserve(*ask) for ask in asks] == answers
    granted = [ask for ask, ok in zip(asks, answers, strict=True) if ok]
    assert budget.tokens == sum(t for t, _ in granted)  # a refusal holds nothing
    assert budget.cost_usd == pytest.approx(sum(c for _, c in granted))


def test_budget_settle_replaces_the_reservation_by_the_usage() -> None:
    budget = Budget(max_tokens=100, max_cost_usd=1.0)
    assert budget.reserve(80, 0.8)
    assert not budget.reserve(30, 0.1)
    budget.settle((80, 0.8), (20, 0.2))  # the call used less than its worst case
    assert (budget.tokens, budget.cost_usd) == (20, pytest.approx(0.2))
    assert budget.reserve(30, 0.1)
    budget.settle((30, 0.1), (0, 0.0))  # a failed call costs nothing
    assert (budget.tokens, budget.cost_usd) == (20, pytest.approx(0.2))


def test_concurrent_reservations_never_exceed_the_cap() -> None:
    budget = Budget(max_tokens=35)
    peak = 0

    async def call(release: asyncio.Event) -> bool:
        nonlocal peak
        if not budget.reserve(10, 0.0):
            return False
        peak = max(peak, budget.tokens)
        await release.wait()  # in flight together
        budget.settle((10, 0.0), (4, 0.0))
        return True

    async def main() -> list[bool]:
        release = asyncio.Event()
        tasks = [asyncio.create_task(call(release)) for _ in range(20)]
        await asyncio.sleep(0)
        assert budget.tokens == 30
        release.set()
        return list(await asyncio.gather(*tasks))

    granted = asyncio.run(main())
    assert granted.count(True) == 3
    assert peak <= 35
    assert budget.tokens == 12


# --- call_all against a fake server -------------------------------------------------------------


def test_successful_calls_carry_content_tokens_and_cost() -> None:
    endpoint = make_endpoint()
    requests = make_requests(endpoint, 3)
    budget = Budget()
    with FakeOpenAI(lambda body: ANSWER) as server:
        seen = run_calls(server, requests, endpoint, budget=budget)
        assert server.calls == 3
        assert {r["messages"][1]["content"] for r in server.requests} == {"Row 0", "Row 1", "Row 2"}
    assert sorted(req.keys for req, _ in seen) == [(0,), (1,), (2,)]
    for req, result in seen:
        chars = sum(len(m["content"]) for m in req.body["messages"])
        assert result.request_hash == req.request_hash
        assert (result.status, result.content, result.attempts) == (CallStatus.OK, ANSWER, 1)
        assert result.tokens_in == math.ceil(chars / 4)
        assert result.tokens_out == math.ceil(len(ANSWER) / 4)
        assert result.cost_usd == pytest.approx(endpoint.cost(result.tokens_in, result.tokens_out))
        assert result.cost_usd > 0 and result.latency_ms > 0
        assert result.error_class is None
    # the budget holds what was used, not the reservations
    assert budget.tokens == sum(r.tokens_in + r.tokens_out for _, r in seen)
    assert budget.cost_usd == pytest.approx(sum(r.cost_usd for _, r in seen))


def test_the_body_is_sent_as_built() -> None:
    endpoint = make_endpoint(structured=StructuredOutput.JSON_OBJECT_SCHEMA)
    [request] = make_requests(endpoint, 1)
    with FakeOpenAI(lambda body: ANSWER) as server:
        run_calls(server, [request], endpoint)
        [sent] = server.requests
    assert sent["response_format"] == {"type": "json_object", "schema": SCHEMA}
    assert llm.request_hash(sent) == request.request_hash


# schedule of faults, client retries, then: status, attempts, HTTP calls, error class
FAULTS = [
    ([Fault("429", retry_after=0.01)], 2, CallStatus.OK, 2, 2, None),
    ([Fault("429", retry_after=0.01)] * 2, 2, CallStatus.OK, 3, 3, None),
    ([Fault("429", retry_after=0.01)] * 2, 1, CallStatus.FAILED, 2, 2, "RateLimitError"),
    (["429"], 0, CallStatus.FAILED, 1, 1, "RateLimitError"),
    (["500"], 0, CallStatus.FAILED, 1, 1, "InternalServerError"),
    (["drop"], 0, CallStatus.FAILED, 1, 1, "APIConnectionError"),
    (["malformed"], 0, CallStatus.FAILED, 1, 1, "JSONDecodeError"),  # a body that is not JSON
]


@pytest.mark.parametrize(
    ("schedule", "retries", "status", "attempts", "calls", "error_class"),
    FAULTS,
    ids=[
        "429 retried",
        "429 twice",
        "429 beyond retries",
        "429 no retries",
        "500",
        "drop",
        "malformed",
    ],
)
def test_faults_are_retried_or_reported(
    schedule: list,
    retries: int,
    status: CallStatus,
    attempts: int,
    calls: int,
    error_class: str | None,
) -> None:
    endpoint = make_endpoint()
    with FakeOpenAI(lambda body: ANSWER, schedule=schedule) as server:
        [(_, result)] = run_calls(server, make_requests(endpoint, 1), endpoint, max_retries=retries)
        assert server.calls == calls
    assert result.status is status
    assert result.attempts == attempts
    assert result.error_class == error_class
    assert (result.content is not None) is (status is CallStatus.OK)
    if status is CallStatus.FAILED:
        assert (result.tokens_in, result.tokens_out, result.cost_usd) == (0, 0, 0.0)


def test_a_timeout_fails_the_call() -> None:
    endpoint = make_endpoint()
    with FakeOpenAI(lambda body: ANSWER, schedule=["timeout"], hang_seconds=5) as server:
        [(_, result)] = run_calls(server, make_requests(endpoint, 1), endpoint, timeout=0.2)
    assert (result.status, result.error_class) == (CallStatus.FAILED, "APITimeoutError")


def test_a_failed_call_gives_its_reservation_back() -> None:
    endpoint = make_endpoint()
    budget = Budget(max_tokens=10_000)
    with FakeOpenAI(lambda body: ANSWER, schedule=["500", None]) as server:
        seen = run_calls(server, make_requests(endpoint, 2), endpoint, budget=budget, concurrency=1)
    ok = [r for _, r in seen if r.status is CallStatus.OK]
    assert [r.status for _, r in seen] == [CallStatus.FAILED, CallStatus.OK]
    assert budget.tokens == ok[0].tokens_in + ok[0].tokens_out


def test_a_dead_endpoint_opens_the_breaker() -> None:
    endpoint = make_endpoint()
    requests = make_requests(endpoint, 12)
    breaker = CircuitBreaker(threshold=3)
    with FakeOpenAI(lambda body: ANSWER) as server:
        server.down = True
        seen = run_calls(server, requests, endpoint, concurrency=2, breaker=breaker)
        calls = server.calls
    assert len(seen) == 12
    assert all(r.status is CallStatus.FAILED for _, r in seen)
    assert breaker.open
    # at most the threshold, plus the calls already in flight when it opened
    assert 3 <= calls <= 3 + 2 - 1 < len(requests)
    called = [r for _, r in seen if r.error_class != "CircuitOpen"]
    skipped = [r for _, r in seen if r.error_class == "CircuitOpen"]
    assert len(called) == calls
    assert {r.error_class for r in called} == {"InternalServerError"}
    assert len(skipped) == 12 - calls and all(r.attempts == 0 for r in skipped)


def test_a_success_resets_the_breaker() -> None:
    breaker = CircuitBreaker(threshold=2)
    for ok in (False, True, False):
        breaker.record(ok)
    assert not breaker.open
    breaker.record(False)
    assert breaker.open


def test_over_budget_requests_are_not_called() -> None:
    endpoint = make_endpoint()
    budget = Budget(max_tokens=10)  # less than any request's max_tokens
    with FakeOpenAI(lambda body: ANSWER) as server:
        seen = run_calls(server, make_requests(endpoint, 4), endpoint, budget=budget)
        assert server.calls == 0
    assert [(r.status, r.attempts, r.cost_usd) for _, r in seen] == [
        (CallStatus.OVER_BUDGET, 0, 0.0)
    ] * 4
    assert (budget.tokens, budget.cost_usd) == (0, 0.0)


def test_the_cost_cap_holds_when_output_tokens_cost_more() -> None:
    # Input is free and output expensive: the reservation must price `max_tokens` as output,
    # or every call fits the cap and the run overspends.
    endpoint = make_endpoint(price_in=0.0, price_out=1.0)
    max_tokens = 50
    answer = "x" * (4 * max_tokens)  # uses its whole max_tokens: $0.05 a call
    budget = Budget(max_cost_usd=0.12)
    with FakeOpenAI(lambda body: answer) as server:
        seen = run_calls(
            server,
            make_requests(endpoint, 6, max_tokens=max_tokens),
            endpoint,
            budget=budget,
            concurrency=6,
        )
        calls = server.calls
    statuses = [r.status for _, r in seen]
    assert statuses.count(CallStatus.OK) == calls == 2
    assert statuses.count(CallStatus.OVER_BUDGET) == 4
    assert sum(r.cost_usd for _, r in seen) == pytest.approx(0.10)
    assert budget.cost_usd <= 0.12


# --- answers that cannot be used ----------------------------------------------------------------

# the fake server's answer kind, the failure it is
UNUSABLE = [
    ("empty", "EmptyAnswer"),  # choices: []
    ("no_content", "EmptyAnswer"),  # content: null
    ("length", "TruncatedAnswer"),  # finish_reason: length
    ("content_filter", "ContentFiltered"),  # finish_reason: content_filter
]


def prompt_tokens(request: CallRequest) -> int:
    """What the fake server counts for the request's prompt."""
    return math.ceil(sum(len(m["content"]) for m in request.body["messages"]) / 4)


@pytest.mark.parametrize(("kind", "error_class"), UNUSABLE)
def test_an_unusable_answer_fails_with_its_tokens_counted(kind: str, error_class: str) -> None:
    endpoint = make_endpoint()
    [request] = make_requests(endpoint, 1, max_tokens=20)
    budget = Budget()
    with FakeOpenAI(lambda body: ANSWER, schedule=[kind]) as server:
        [(_, result)] = run_calls(server, [request], endpoint, budget=budget)
        assert server.calls == 1
    assert (result.status, result.error_class, result.content) == (
        CallStatus.FAILED,
        error_class,
        None,
    )
    # billed, so counted: the prompt, and for a truncated answer its max_tokens
    assert result.tokens_in == prompt_tokens(request)
    assert result.tokens_out == (20 if kind == "length" else 0)
    assert result.cost_usd == pytest.approx(endpoint.cost(result.tokens_in, result.tokens_out))
    assert result.cost_usd > 0
    assert budget.tokens == result.tokens_in + result.tokens_out


@pytest.mark.parametrize(("kind", "error_class"), UNUSABLE)
def test_an_unusable_answer_is_retried_and_every_attempt_is_paid(
    kind: str, error_class: str
) -> None:
    endpoint = make_endpoint()
    [request] = make_requests(endpoint, 1)
    policy = RetryPolicy(max_retries=2, backoff_s=0.0)
    with FakeOpenAI(lambda body: ANSWER, schedule=[kind, kind, None]) as server:
        [(_, saved)] = run_calls(server, [request], endpoint, retry=policy)
        assert server.calls == 3
    with FakeOpenAI(lambda body: ANSWER, schedule=[kind] * 3) as server:
        [(_, lost)] = run_calls(server, [request], endpoint, retry=policy)
        assert server.calls == 3
    assert (saved.status, saved.content, saved.attempts) == (CallStatus.OK, ANSWER, 3)
    assert saved.tokens_in == 3 * prompt_tokens(request)  # two useless answers, then the one
    assert (lost.status, lost.error_class, lost.attempts) == (CallStatus.FAILED, error_class, 3)
    assert lost.tokens_in == 3 * prompt_tokens(request)
    assert lost.content is None


def test_a_retry_after_a_paid_answer_must_fit_the_budget() -> None:
    endpoint = make_endpoint()
    [request] = make_requests(endpoint, 1)
    worst = llm.reservation(request.body, endpoint, TokenBound())[0]
    budget = Budget(max_tokens=worst + 1)  # room for one attempt's worst case, not for two
    policy = RetryPolicy(max_retries=3, backoff_s=0.0)
    with FakeOpenAI(lambda body: ANSWER, schedule=["empty", None]) as server:
        [(_, result)] = run_calls(server, [request], endpoint, budget=budget, retry=policy)
        assert server.calls == 1  # the empty answer was paid: no room left for another
    assert (result.status, result.error_class, result.attempts) == (
        CallStatus.FAILED,
        "EmptyAnswer",
        1,
    )
    assert budget.tokens == result.tokens_in == prompt_tokens(request) > 1


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ({"choices": []}, EmptyAnswer),
        ({"finish_reason": "length"}, TruncatedAnswer),
        ({"finish_reason": "content_filter"}, ContentFiltered),
        ({"content": None}, EmptyAnswer),
        ({"content": ""}, EmptyAnswer),
        ({"content": " \n"}, EmptyAnswer),
        ({"content": None, "refusal": "I cannot help with that."}, EmptyAnswer),
        ({}, None),
    ],
    ids=["no choice", "length", "content filter", "null", "empty", "blank", "refusal", "usable"],
)
def test_unusable_names_why_an_answer_cannot_be_used(answer: dict, why: type | None) -> None:
    message = {"role": "assistant", "content": ANSWER, "refusal": None}
    message.update({k: v for k, v in answer.items() if k in ("content", "refusal")})
    choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
    choice.update({k: v for k, v in answer.items() if k == "finish_reason"})
    completion = ChatCompletion.model_validate(
        {
            "id": "c",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": answer.get("choices", [choice]),
            "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
        }
    )
    problem = llm.unusable(completion)
    assert type(problem) is why if why else problem is None
    if problem is not None:
        assert (problem.tokens_in, problem.tokens_out) == (7, 3)
        assert RetryPolicy().retryable(problem)
        result = llm.answered("h", completion, 1.0, make_endpoint().cost)
        assert (result.status, result.content, result.error_class) == (
            CallStatus.FAILED,
            None,
            why.__name__,
        )
        assert (result.tokens_in, result.tokens_out) == (7, 3)


# --- the token bound ----------------------------------------------------------------------------

LONG_ROW = "The customer writes at length about an order that never came. " * 6


def long_requests(endpoint: Endpoint, n: int, max_tokens: int = 20) -> list[CallRequest]:
    """Requests whose prompt outweighs max_tokens: where a wrong prompt estimate shows."""
    requests = []
    for i in range(n):
        messages = [MESSAGES[0], {"role": "user", "content": f"Row {i}: {LONG_ROW}"}]
        body = llm.request_body(
            endpoint, messages, temperature=0.0, max_tokens=max_tokens, schema=SCHEMA
        )
        requests.append(CallRequest(llm.request_hash(body), body, (i,)))
    return requests


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("factor", [1.5, 3.0])
def test_the_token_cap_holds_when_the_endpoint_counts_more_than_the_estimate(
    factor: float, concurrency: int
) -> None:
    endpoint = make_endpoint()
    requests = long_requests(endpoint, 30)
    cap = 3_200  # the 4-characters-a-token estimate took each of these four runs over it
    budget = Budget(max_tokens=cap)
    with FakeOpenAI(lambda body: ANSWER, prompt_token_factor=factor) as server:
        seen = run_calls(server, requests, endpoint, budget=budget, concurrency=concurrency)
        calls = server.calls
    statuses = [r.status for _, r in seen]
    used = sum(r.tokens_in + r.tokens_out for _, r in seen)
    assert sorted(req.keys for req, _ in seen) == [(i,) for i in range(30)]  # none dropped
    assert set(statuses) == {CallStatus.OK, CallStatus.OVER_BUDGET}
    assert statuses.count(CallStatus.OK) == calls
    assert used == budget.tokens <= cap
    # calibrated by the first answers: what is left is less than one uncalibrated reservation
    assert cap - used < llm.reservation(requests[0].body, endpoint, TokenBound())[0]


@pytest.mark.parametrize("factor", [1.5, 3.0])
def test_the_cost_cap_holds_when_the_endpoint_counts_more_than_the_estimate(
    factor: float,
) -> None:
    endpoint = make_endpoint(price_in=10.0, price_out=0.0)  # the prompt is what costs
    cap = 30.0
    budget = Budget(max_cost_usd=cap)
    with FakeOpenAI(lambda body: ANSWER, prompt_token_factor=factor) as server:
        seen = run_calls(server, long_requests(endpoint, 30), endpoint, budget=budget)
        calls = server.calls
    statuses = [r.status for _, r in seen]
    assert len(seen) == 30
    assert 0 < statuses.count(CallStatus.OK) == calls < 30
    assert statuses.count(CallStatus.OVER_BUDGET) == 30 - calls
    assert sum(r.cost_usd for _, r in seen) <= cap


@pytest.mark.parametrize(
    ("reports", "ratio"),
    [
        ([], 1.0),  # nothing reported: a byte-level tokenizer's bound
        ([(1000, 250)], 0.3125),  # the densest ratio seen, plus 25%
        ([(1000, 250), (1000, 500), (1000, 100)], 0.625),  # the densest, not the last
        ([(1000, 900)], 1.0),  # the margin never takes it over the byte bound...
        ([(1000, 1200)], 1.5),  # ...unless the endpoint itself went over it
        ([(0, 10), (1000, 0)], 1.0),  # reports that say nothing teach nothing
    ],
)
def test_the_token_bound_is_calibrated_by_what_the_endpoint_reports(
    reports: list[tuple[int, int]], ratio: float
) -> None:
    bound = TokenBound()
    for size, tokens in reports:
        bound.observe(size, tokens)
    assert bound.ratio == pytest.approx(ratio)
    assert bound.prompt_tokens(1001) == math.ceil(1001 * ratio)
