"""Tests for retries and rate limits of the call layer (``retry``, ``ratelimit``, ``llm.call_all``).

Why these cases matter:

* Retrying what cannot succeed (a 400, an exhausted quota, a Retry-After of minutes) wastes
  quota and time; not retrying what would succeed (429, 5xx, timeouts, dropped connections,
  a body cut short) loses a row the next attempt would have saved.
* Retry-After is the server saying when it will take the request: waiting less earns another
  429, waiting more wastes the run's time. It is honoured over the backoff.
* Every attempt is ours (the client's own retries are off), so `attempts` is the truth about
  what the endpoint saw, and the per-call timeout is a wall-clock limit, not the client's.
* A rate limit is a promise to the endpoint: the limiter must never let more through than the
  limit. (The checks below count what got through in a window: a slow machine lets fewer
  through, never more, so they cannot fail for lack of speed. Throughput is in bench/.)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx2
import openai
import pytest

from governance_pipeline import llm
from governance_pipeline.llm.budget import Budget
from governance_pipeline.llm.calls import CallStatus
from governance_pipeline.llm.ratelimit import RateLimiter, effective_limit
from governance_pipeline.llm.retry import RetryPolicy, retry_after
from tests.fake_openai import FakeOpenAI, Fault
from tests.llm.test_llm import ANSWER, make_endpoint, make_requests

REQUEST = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")


def status_error(status: int, headers: dict[str, str] | None = None, code: str | None = None):
    response = httpx2.Response(status, headers=headers or {}, request=REQUEST)
    body = {"message": "m", "type": "t", "code": code}
    return openai.APIStatusError("m", response=response, body=body)


# exception, retryable
RETRYABLE = [
    (status_error(429), True),
    (status_error(429, {"retry-after": "1"}), True),
    (status_error(429, code="insufficient_quota"), False),  # no wait refills a quota
    (status_error(429, {"retry-after": "120"}), False),  # longer than we will wait
    (status_error(408), True),
    (status_error(409), True),
    (status_error(500), True),
    (status_error(503), True),
    (status_error(500, {"x-should-retry": "false"}), False),  # the server says no
    (status_error(400, {"x-should-retry": "true"}), True),  # the server says yes
    (status_error(400), False),
    (status_error(401), False),
    (status_error(404), False),
    (openai.APIConnectionError(request=REQUEST), True),
    (openai.APITimeoutError(request=REQUEST), True),
    (TimeoutError(), True),  # our per-call timeout
    (json.JSONDecodeError("cut short", "{", 1), True),  # a body that is not JSON
    (ValueError("not a transport problem"), False),
]


@pytest.mark.parametrize(("exc", "expected"), RETRYABLE, ids=lambda v: repr(v)[:40])
def test_what_is_retried(exc: BaseException, expected: bool) -> None:
    assert RetryPolicy().retryable(exc) is expected


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "2"}, 2.0),
        ({"retry-after-ms": "100", "retry-after": "9"}, 0.1),  # milliseconds win
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after": "Thu, 01 Jan 1970 00:00:00 GMT"}, 0.0),  # a date in the past
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_is_read_from_the_headers(headers: dict, seconds: float | None) -> None:
    assert retry_after(status_error(429, headers)) == seconds


def test_retry_after_as_a_future_date() -> None:
    exc = status_error(503, {"retry-after": "Fri, 01 Jan 2100 00:00:00 GMT"})
    assert (retry_after(exc) or 0) > 365 * 24 * 3600


def test_no_retry_after_without_a_response() -> None:
    assert retry_after(openai.APIConnectionError(request=REQUEST)) is None


# --- retries through call_all, against the fake server -------------------------------------


def recording_policy(waits: list[float], **kwargs: float) -> RetryPolicy:
    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    return RetryPolicy(sleep=sleep, **kwargs)  # type: ignore[arg-type]


def run_one(
    server: FakeOpenAI,
    policy: RetryPolicy,
    client_timeout: float = 30.0,
    limiter: RateLimiter | None = None,
):
    endpoint = make_endpoint()
    seen = []

    async def main() -> None:
        async with openai.AsyncOpenAI(
            base_url=server.base_url, api_key="test", max_retries=0, timeout=client_timeout
        ) as client:
            await llm.call_all(
                client,
                make_requests(endpoint, 1),
                endpoint,
                concurrency=1,
                budget=Budget(),
                on_result=lambda req, res: seen.append(res),
                retry=policy,
                limiter=limiter,
            )

    asyncio.run(main())
    [result] = seen
    return result


def test_every_fault_kind_is_retried_and_counted() -> None:
    schedule = [Fault("429", retry_after=0.25), "500", "drop", "malformed", None]
    waits: list[float] = []
    policy = recording_policy(waits, max_retries=4, backoff_s=0.01)
    with FakeOpenAI(lambda body: ANSWER, schedule=schedule) as server:
        result = run_one(server, policy)
        assert server.calls == 5
    assert (result.status, result.attempts, result.content) == (CallStatus.OK, 5, ANSWER)
    assert waits[0] == 0.25  # the server's Retry-After, not the backoff
    for n, wait in enumerate(waits[1:], start=2):  # exponential, with up to backoff_s of jitter
        assert 0.01 * 2 ** (n - 1) <= wait <= 0.01 * 2 ** (n - 1) + 0.01


def test_a_retry_after_holds_every_call_of_the_run() -> None:
    class Recording(RateLimiter):
        pauses: list[float] = []

        def pause(self, seconds: float) -> None:
            self.pauses.append(seconds)
            super().pause(seconds)

    schedule = [Fault("429", retry_after=0.05), Fault("429", retry_after=600), "500"]
    limiter = Recording()
    with FakeOpenAI(lambda body: ANSWER, schedule=schedule) as server:
        result = run_one(server, recording_policy([], max_retries=3, backoff_s=0.01), 30, limiter)
    # a Retry-After beyond what we wait for fails the call, and holds the others 60 s at most
    assert (result.status, result.attempts, result.error_class) == (
        CallStatus.FAILED,
        2,
        "RateLimitError",
    )
    assert limiter.pauses == [0.05, 60.0]


def test_retries_stop_at_max_retries() -> None:
    waits: list[float] = []
    with FakeOpenAI(lambda body: ANSWER, schedule=["500"] * 3) as server:
        result = run_one(server, recording_policy(waits, max_retries=1, backoff_s=0.01))
        assert server.calls == 2
    assert (result.status, result.attempts, result.error_class) == (
        CallStatus.FAILED,
        2,
        "InternalServerError",
    )
    assert len(waits) == 1


def test_what_the_server_marks_final_is_not_retried() -> None:
    def broken(body: dict) -> str:
        raise RuntimeError("a bug in the model server")

    with FakeOpenAI(broken) as server:  # answers 500 with x-should-retry: false
        result = run_one(server, recording_policy([], max_retries=3, backoff_s=0.01))
        assert server.calls == 1
    assert (result.status, result.attempts) == (CallStatus.FAILED, 1)


def test_the_per_call_timeout_is_ours_and_retried() -> None:
    # The client would wait 30 s; the policy's wall-clock limit cuts the hang at 0.2 s.
    policy = recording_policy([], max_retries=1, backoff_s=0.01, timeout_s=0.2)
    with FakeOpenAI(lambda body: ANSWER, schedule=["timeout"], hang_seconds=10) as server:
        result = run_one(server, policy, client_timeout=30.0)
        assert server.calls == 2
    assert (result.status, result.attempts) == (CallStatus.OK, 2)


def test_a_timeout_on_the_last_attempt_fails_the_call() -> None:
    policy = recording_policy([], max_retries=0, timeout_s=0.2)
    with FakeOpenAI(lambda body: ANSWER, schedule=["timeout"], hang_seconds=10) as server:
        result = run_one(server, policy)
    assert (result.status, result.error_class, result.attempts) == (
        CallStatus.FAILED,
        "TimeoutError",
        1,
    )


def test_giving_up_stops_retries_at_once() -> None:
    attempts = 0

    async def main() -> None:
        nonlocal attempts
        async for attempt in RetryPolicy(max_retries=5).retrying(give_up=lambda: True):
            with attempt:
                attempts += 1
                raise openai.APIConnectionError(request=REQUEST)

    with pytest.raises(openai.APIConnectionError):
        asyncio.run(main())
    assert attempts == 1  # an open breaker: no second attempt at a dead endpoint


# --- rate limits --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limits", "expected"),
    [((None, None), None), ((100, None), 100), ((None, 50), 50), ((100, 50), 50)],
)
def test_the_tightest_limit_holds(limits: tuple, expected: int | None) -> None:
    assert effective_limit(*limits) == expected


def through_in(limiter: RateLimiter, tokens: int, window_s: float) -> int:
    """How many of 50 acquisitions get through in `window_s` seconds."""
    done = 0

    async def one() -> None:
        nonlocal done
        await limiter.acquire(tokens)
        done += 1

    async def main() -> None:
        tasks = [asyncio.create_task(one()) for _ in range(50)]
        await asyncio.sleep(window_s)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
    return done


@pytest.mark.parametrize(
    ("make", "tokens", "allowed"),
    [
        (lambda: RateLimiter(requests_per_minute=1200), 1, 5 + 1),  # 20/s; starts full: no burst
        (lambda: RateLimiter(tokens_per_minute=2400), 5, 2 + 1),  # 8/s
        (lambda: RateLimiter(1200, 2400), 5, 2 + 1),  # tokens bind
    ],
    ids=["requests", "tokens", "both"],
)
def test_the_limiter_never_lets_more_through_than_the_limit(
    make: Callable[[], RateLimiter], tokens: int, allowed: int
) -> None:
    limiter = make()
    assert 0 < through_in(limiter, tokens, 0.25) <= allowed


def test_no_limit_lets_everything_through() -> None:
    assert through_in(RateLimiter(), 1000, 0.2) == 50


def test_a_retry_after_pauses_every_call() -> None:
    async def main() -> bool:
        limiter = RateLimiter()
        limiter.pause(30)
        try:
            await asyncio.wait_for(limiter.acquire(1), 0.2)
        except TimeoutError:
            return True
        return False

    assert asyncio.run(main())


def test_the_limiter_describes_its_limits() -> None:
    assert RateLimiter(600, 90_000).describe() == "600 requests/min, 90000 tokens/min"
    assert RateLimiter().describe() == "no rate limit"
