"""The call layer: requests by hash, bounded concurrency, rate limits, retries, a budget and a
circuit breaker.

Every request is identified by the hash of what is sent (model, messages, parameters), so the
same input under the same spec and model is the same request, served from the cache for free.
Calls go through the official `AsyncOpenAI` client. The stage builds it with `max_retries=0`, so
every attempt is ours (`retry.RetryPolicy`, tenacity): counted, paced by the run's rate limiter
(`ratelimit.RateLimiter`) and cut off by a per-attempt timeout. The order for one request:

    breaker open? -> fail fast    budget reserved? -> else over_budget
    then per attempt: rate limit (and any Retry-After pause) -> send under the timeout
        -> an answer is paid for: settle its usage, calibrate the budget's token bound
        -> no usable answer (`AnswerError`)? retried like a 5xx, its worst case reserved again

Only a usable answer is `ok` (and so cached): one with a choice, content, and a
`finish_reason` that is neither `length` (cut short) nor `content_filter`. The tokens of
every answered attempt count toward the call's usage and cost, usable or not.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from governance_pipeline.llm.budget import Budget, TokenBound
from governance_pipeline.llm.endpoint import Endpoint
from governance_pipeline.llm.failures import cause
from governance_pipeline.llm.ratelimit import RateLimiter
from governance_pipeline.llm.retry import (
    AnswerError,
    CallFailure,
    ContentFiltered,
    EmptyAnswer,
    RetryPolicy,
    TruncatedAnswer,
    retry_after,
)
from governance_pipeline.settings import StructuredOutput


class CallStatus(str, Enum):
    """How a request ended."""

    OK = "ok"
    CACHED = "cached"
    FAILED = "failed"
    OVER_BUDGET = "over_budget"
    SUPERSEDED = "superseded"  # an answer that broke the contract, replaced by its repair
    REPAIR_FAILED = "repair_failed"  # a repair that brought no answer; the first one stands


ANSWERED = (CallStatus.OK, CallStatus.CACHED)
"""The statuses of a call whose answer the row has: paid for now, or served from the cache."""


@dataclass(frozen=True)
class CallRequest:
    """One distinct request, and the row keys it serves."""

    request_hash: str
    body: dict[str, Any]
    keys: tuple[Any, ...]


@dataclass(frozen=True)
class CallResult:
    """What one request produced; `content` is None unless the call succeeded."""

    request_hash: str
    status: CallStatus
    content: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    cost_usd: float = 0.0
    attempts: int = 1
    error_class: str | None = None
    error: str | None = None
    """Why the call failed, in one line naming the endpoint's host (`llm.failures.cause`)."""
    served_model: str | None = None
    """The model the endpoint says answered (the response's `model`), when it answered."""
    system_fingerprint: str | None = None
    """The response's `system_fingerprint`, when the endpoint gives one."""


def request_body(
    endpoint: Endpoint,
    messages: list[dict[str, str]],
    *,
    temperature: float,
    max_tokens: int,
    schema: dict[str, Any],
) -> dict[str, Any]:
    """The chat-completions body, with `response_format` by the endpoint's declared capability."""
    body: dict[str, Any] = {
        "model": endpoint.model,
        "messages": messages,
        "temperature": temperature,
        "max_tokens": max_tokens,
    }
    if endpoint.structured_output is StructuredOutput.JSON_SCHEMA:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": schema, "strict": True},
        }
    elif endpoint.structured_output is StructuredOutput.JSON_OBJECT_SCHEMA:
        body["response_format"] = {"type": "json_object", "schema": schema}
    return body


def request_hash(body: dict[str, Any]) -> str:
    """Stable hash of a request body: same model, messages and parameters, same hash."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


TEMPLATE_BYTES = 16
"""Bytes counted for each message and for the reply's priming: the chat template's tokens
(OpenAI counts 3 a message and 3 for the reply; ChatML templates about 5 a message)."""


def prompt_bytes(body: dict[str, Any]) -> int:
    """The size a request's prompt is bounded by: the UTF-8 bytes of every message, plus
    `TEMPLATE_BYTES` for each and for the reply, plus the response format (a schema is part of
    the prompt the endpoint counts)."""
    size = sum(len(m["content"].encode()) + TEMPLATE_BYTES for m in body["messages"])
    if "response_format" in body:
        size += len(json.dumps(body["response_format"], separators=(",", ":")).encode())
    return size + TEMPLATE_BYTES


def reservation(
    body: dict[str, Any],
    endpoint: Endpoint,
    bound: TokenBound,
    *,
    batch: bool = False,
    size: int | None = None,
) -> tuple[int, float]:
    """What a request reserves of the budget before it is sent: its worst case, the prompt's
    bound (`budget.TokenBound`) plus `max_tokens`, with `max_tokens` priced as output.
    `size` is the body's `prompt_bytes`, when the caller has it already."""
    prompt = bound.prompt_tokens(prompt_bytes(body) if size is None else size)
    max_out = int(body.get("max_tokens", 0))
    return prompt + max_out, endpoint.cost(prompt, max_out, batch=batch)


def estimate_tokens(body: dict[str, Any]) -> int:
    """Tokens of a request by the rule of thumb, about 4 characters a token in and `max_tokens`
    out: how rate limits count a request. Not a bound: the budget reserves `reservation`."""
    chars = sum(len(m["content"]) for m in body["messages"])
    return chars // 4 + 1 + int(body.get("max_tokens", 0))


class CircuitBreaker:
    """Opens after `threshold` consecutive failures, so a dead endpoint is not hammered."""

    def __init__(self, threshold: int = 5) -> None:
        self.threshold = threshold
        self.consecutive_failures = 0

    @property
    def open(self) -> bool:
        """True once the endpoint is judged dead for the rest of the run."""
        return self.consecutive_failures >= self.threshold

    def record(self, ok: bool) -> None:
        """Count a call's outcome."""
        self.consecutive_failures = 0 if ok else self.consecutive_failures + 1


async def call_all(
    client: openai.AsyncOpenAI,
    requests: Sequence[CallRequest],
    endpoint: Endpoint,
    *,
    concurrency: int,
    budget: Budget,
    on_result: Callable[[CallRequest, CallResult], None],
    breaker: CircuitBreaker | None = None,
    retry: RetryPolicy | None = None,
    limiter: RateLimiter | None = None,
) -> None:
    """Send every request, at most `concurrency` at once; report each result as it arrives.

    `on_result` runs on the event loop thread right after each call returns, so a caller can
    persist each paid response at once: a crash loses no call that was paid for.

    Args:
        client: The client; build it with `max_retries=0` when `retry` retries.
        requests: Distinct requests, each sent at most once (plus its retries).
        endpoint: Prices the calls.
        concurrency: Calls in flight at once.
        budget: Reserved before each call is sent; a call that does not fit is not sent.
        on_result: Receives every request's result, in the order they end.
        breaker: Shared by the run; once open, calls fail fast and retries stop.
        retry: Attempts, backoff and per-attempt timeout; default one attempt, no timeout.
        limiter: Requests and tokens per minute; default none.
    """
    breaker = breaker or CircuitBreaker()
    retry = retry or RetryPolicy()
    limiter = limiter or RateLimiter()
    gate = asyncio.Semaphore(concurrency)

    async def one(req: CallRequest) -> None:
        async with gate:
            if breaker.open:
                on_result(
                    req,
                    CallResult(
                        req.request_hash,
                        CallStatus.FAILED,
                        error_class="CircuitOpen",
                        error=f"not sent: {breaker.threshold} calls in a row had failed",
                        attempts=0,
                    ),
                )
                return
            size = prompt_bytes(req.body)
            worst = reservation(req.body, endpoint, budget.bound, size=size)
            if not budget.reserve(*worst):
                refused = CallResult(
                    req.request_hash, CallStatus.OVER_BUDGET, attempts=0, error=budget.refusal
                )
                on_result(req, refused)
                return
            result = await _call(
                client, req, worst, budget, endpoint, retry, limiter, breaker, size
            )
            breaker.record(result.status is CallStatus.OK)
            on_result(req, result)

    await asyncio.gather(*(one(r) for r in requests))


async def _call(
    client: openai.AsyncOpenAI,
    req: CallRequest,
    worst: tuple[int, float],
    budget: Budget,
    endpoint: Endpoint,
    retry: RetryPolicy,
    limiter: RateLimiter,
    breaker: CircuitBreaker,
    size: int,
) -> CallResult:
    """One request (of `size` prompt bytes), attempted until it succeeds or the policy, the
    breaker or the budget gives up. A Retry-After holds every call of the run, not only this
    one.

    `worst` is held of `budget` on entry. Each answered attempt settles it to what it used; an
    attempt after a paid one holds `worst` again, and when that does not fit the last failure
    stands. What is still held at the end is given back.
    """
    attempts = 0
    latency_ms = 0.0
    completion: Any = None
    held, no_room = True, False
    spent_in = spent_out = 0  # answered attempts that brought nothing usable
    last: AnswerError | None = None
    pace = estimate_tokens(req.body)

    attempt = 0
    try:
        while True:  # a plain loop: no retry machinery is built for a call that succeeds
            attempt += 1
            try:
                if not held and last is not None:  # the last attempt was paid for, and useless
                    held = budget.reserve(*worst)
                    if not held:  # no room for another: its failure stands
                        no_room = True
                        raise last
                await limiter.acquire(pace)
                started = time.perf_counter()
                raw = None
                try:
                    async with asyncio.timeout(retry.timeout_s):
                        raw = await client.chat.completions.with_raw_response.create(**req.body)
                    completion = raw.parse()
                except CallFailure as exc:
                    attempts += _attempts(raw, exc)
                    latency_ms = (time.perf_counter() - started) * 1000
                    limiter.pause(min(retry_after(exc) or 0.0, retry.max_retry_after_s))
                    raise
                attempts += _attempts(raw)
                latency_ms = (time.perf_counter() - started) * 1000
                tokens_in, tokens_out = usage(completion)
                budget.bound.observe(size, tokens_in)
                budget.settle(worst, (tokens_in + tokens_out, endpoint.cost(tokens_in, tokens_out)))
                held = False
                last = unusable(completion)
                if last is not None:
                    spent_in, spent_out = spent_in + tokens_in, spent_out + tokens_out
                    raise last
                break
            except CallFailure as exc:
                wait = None if breaker.open or no_room else retry.wait_for(attempt, exc)
                if wait is None:
                    raise
                await retry.sleep(wait)
    except CallFailure as exc:
        return CallResult(
            req.request_hash,
            CallStatus.FAILED,
            tokens_in=spent_in,
            tokens_out=spent_out,
            latency_ms=latency_ms,
            cost_usd=endpoint.cost(spent_in, spent_out),
            attempts=attempts,
            error_class=type(exc).__name__,
            error=cause(exc, endpoint.base_url, retry.timeout_s),
        )
    finally:
        if held:
            budget.settle(worst, (0, 0.0))
    return answered(
        req.request_hash,
        completion,
        latency_ms,
        endpoint.cost,
        attempts=attempts,
        spent=(spent_in, spent_out),
    )


def usage(completion: ChatCompletion) -> tuple[int, int]:
    """Prompt and completion tokens the endpoint reported for an answer (0 when it did not)."""
    reported = getattr(completion, "usage", None)
    if reported is None:
        return 0, 0
    return int(reported.prompt_tokens or 0), int(reported.completion_tokens or 0)


def unusable(completion: ChatCompletion) -> AnswerError | None:
    """Why an answer cannot be used, or None when it can: no choice, a `finish_reason` of
    `content_filter` or `length`, or no content (None, empty or blank)."""
    tokens_in, tokens_out = usage(completion)
    tokens = {"tokens_in": tokens_in, "tokens_out": tokens_out}
    choices = getattr(completion, "choices", None)
    if not choices:
        return EmptyAnswer("the answer has no choice", **tokens)
    choice = choices[0]
    reason = getattr(choice, "finish_reason", None)
    if reason == "content_filter":
        return ContentFiltered("the endpoint's content filter stopped the answer", **tokens)
    if reason == "length":
        return TruncatedAnswer(
            f"the answer stopped at max_tokens after {tokens_out} tokens; raise "
            "`model.max_tokens` in the spec if answers need more",
            **tokens,
        )
    message = getattr(choice, "message", None)
    if not (getattr(message, "content", None) or "").strip():
        refusal = getattr(message, "refusal", None)
        why = f"the model refused: {refusal}" if refusal else "the answer has no content"
        return EmptyAnswer(why, **tokens)
    return None


def answered(
    request_hash: str,
    completion: ChatCompletion,
    latency_ms: float,
    cost: Callable[[int, int], float],
    *,
    attempts: int = 1,
    spent: tuple[int, int] = (0, 0),
) -> CallResult:
    """The result of a call the endpoint answered: its content, usage and what it cost, with
    `spent` (tokens in, out) of earlier attempts that were paid for. An answer that cannot be
    used (`unusable`) is `failed` with its reason's class, its tokens counted all the same."""
    tokens_in, tokens_out = usage(completion)
    tokens_in, tokens_out = tokens_in + spent[0], tokens_out + spent[1]
    problem = unusable(completion)
    return CallResult(
        request_hash,
        CallStatus.OK if problem is None else CallStatus.FAILED,
        content=completion.choices[0].message.content if problem is None else None,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        latency_ms=latency_ms,
        cost_usd=cost(tokens_in, tokens_out),
        attempts=attempts,
        error_class=None if problem is None else type(problem).__name__,
        served_model=getattr(completion, "model", None) or None,
        system_fingerprint=getattr(completion, "system_fingerprint", None) or None,
    )


def _attempts(raw: Any, exc: BaseException | None = None) -> int:
    """How many times the client sent the request in one of our attempts, its own retries
    included (none when it is built with `max_retries=0`).

    A response knows its `retries_taken`; an error does not, but the last request the client
    sent carries the count in its `x-stainless-retry-count` header.
    """
    if raw is not None:
        return 1 + int(getattr(raw, "retries_taken", 0) or 0)
    request = getattr(exc, "request", None)
    retries = request.headers.get("x-stainless-retry-count", "") if request is not None else ""
    return 1 + int(retries) if retries.isdigit() else 1
