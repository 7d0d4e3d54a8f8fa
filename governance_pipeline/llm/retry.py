"""Which failures of a call are worth another attempt, and how long to wait before it.

Retried: 408, 409, 429 and 5xx answers, timeouts, dropped connections, a 200 whose body is
not JSON (a response cut short in transit), and a 200 that brings no usable answer
(`AnswerError`: no choice, no content, or an answer cut short by `max_tokens` or by a content
filter; the endpoint bills such an answer, so the caller reserves and counts each attempt of
it). Not retried: other 4xx (the request itself is
wrong), a 429 whose code is `insufficient_quota` (no wait will help), an answer that says
`x-should-retry: false`, and a Retry-After longer than `max_retry_after_s`, which the openai
client does not wait for either. The wait is the server's Retry-After when it gives one, else
exponential backoff with jitter (tenacity's `wait_exponential_jitter`).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import openai
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

RETRY_STATUS = frozenset({408, 409, 429})


class AnswerError(ValueError):
    """A 200 that brings no usable answer; never cached, and paid for all the same.

    Attributes:
        tokens_in: Prompt tokens the endpoint reported for it.
        tokens_out: Completion tokens the endpoint reported for it.
    """

    def __init__(self, message: str, *, tokens_in: int = 0, tokens_out: int = 0) -> None:
        super().__init__(message)
        self.tokens_in = tokens_in
        self.tokens_out = tokens_out


class EmptyAnswer(AnswerError):
    """The answer has no choice, or its choice has no content (None or empty)."""


class TruncatedAnswer(AnswerError):
    """The answer stopped at `max_tokens` (`finish_reason: length`): cut short."""


class ContentFiltered(AnswerError):
    """The endpoint's content filter stopped the answer (`finish_reason: content_filter`)."""


CallFailure = (openai.APIError, ValueError, TimeoutError)
"""Exceptions that end a call as `failed` rather than crash the stage; ValueError is a body
that is not JSON or an `AnswerError`, TimeoutError the per-call timeout."""


@dataclass(frozen=True)
class RetryPolicy:
    """How one call is attempted.

    Attributes:
        max_retries: Attempts after the first; 0 leaves retrying to the client, if any.
        backoff_s: Base of the backoff: retry n waits backoff_s * 2^(n-1) plus up to
            backoff_s of jitter, at most `max_backoff_s`.
        max_backoff_s: Longest backoff between two attempts.
        timeout_s: Wall-clock limit of one attempt; None leaves it to the client.
        max_retry_after_s: A Retry-After longer than this is not waited for: the call fails.
        sleep: How a wait is slept; tests pass one that records the waits.
    """

    max_retries: int = 0
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    timeout_s: float | None = None
    max_retry_after_s: float = 60.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)

    def retrying(self, *, give_up: Callable[[], bool] = lambda: False) -> AsyncRetrying:
        """A tenacity loop (for the Batch API's few calls; the call layer's hot path loops on
        `wait_for` itself); `give_up()` True stops retrying (an open breaker)."""

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            after = retry_after(exc) if exc is not None else None
            return after if after is not None else self.backoff(state.attempt_number)

        def worth_it(exc: BaseException) -> bool:
            return self.retryable(exc) and not give_up()

        return AsyncRetrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=wait,
            retry=retry_if_exception(worth_it),
            reraise=True,
            sleep=self.sleep,
        )

    def wait_for(self, attempt: int, exc: BaseException) -> float | None:
        """Seconds to wait before the attempt after attempt number `attempt` (1 for the first)
        failed with `exc`; None when there is none to make."""
        if attempt > self.max_retries or not self.retryable(exc):
            return None
        after = retry_after(exc)
        return after if after is not None else self.backoff(attempt)

    def backoff(self, attempt: int) -> float:
        """The backoff after attempt number `attempt`: exponential, with jitter, capped."""
        exponential = self.backoff_s * 2.0 ** min(attempt - 1, 64)  # past 2^64: capped anyway
        jittered = exponential + random.uniform(0, self.backoff_s)
        return max(0.0, min(jittered, self.max_backoff_s))

    def retryable(self, exc: BaseException) -> bool:
        """True when another attempt may succeed where this one failed."""
        if isinstance(exc, openai.APIStatusError):
            headers = exc.response.headers
            if headers.get("x-should-retry") in ("true", "false"):
                return headers["x-should-retry"] == "true"
            if exc.code == "insufficient_quota":
                return False
            after = retry_after(exc)
            if after is not None and after > self.max_retry_after_s:
                return False
            return exc.status_code in RETRY_STATUS or exc.status_code >= 500
        return isinstance(
            exc, (openai.APIConnectionError, TimeoutError, json.JSONDecodeError, AnswerError)
        )


def retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked to wait (`retry-after-ms`, then `retry-after`), if it did."""
    if not isinstance(exc, openai.APIStatusError):
        return None
    headers = exc.response.headers
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) / scale)
        except ValueError:
            pass
    date = email.utils.parsedate_tz(headers.get("retry-after") or "")
    if date is None:
        return None
    return max(0.0, email.utils.mktime_tz(date) - time.time())
