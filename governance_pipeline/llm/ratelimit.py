"""Rate limits of a run: requests and tokens per minute, and a pause when the server asks for one.

Every attempt of every call acquires one request and its worst-case tokens (the prompt estimate
plus `max_tokens`, which is how OpenAI counts a request against its token limit) before it is
sent. The limits are leaky buckets (aiolimiter) over the shortest period that holds the largest
single acquisition, at least one second: OpenAI enforces a per-minute limit over such short
periods too ("60,000 requests/minute may be enforced as 1,000 requests/second").

Each bucket starts full, so a run paces at its limit from its first call and never bursts past
it, even straight after a previous run that used the same quota. A 429 (or 503) that carries
Retry-After pauses every attempt of the run, not only the one that got it: the quota is shared.
"""

from __future__ import annotations

import asyncio
import math

from aiolimiter import AsyncLimiter


def effective_limit(*limits: int | None) -> int | None:
    """The tightest of the limits that are set; None when none is."""
    values = [limit for limit in limits if limit is not None]
    return min(values) if values else None


def _bucket(per_minute: int, largest: float) -> AsyncLimiter:
    """A bucket of `per_minute` whose period (1 to 60 s) holds `largest` in one acquisition."""
    per_second = per_minute / 60
    period = min(60.0, max(1.0, math.ceil(largest / per_second)))
    return AsyncLimiter(per_second * period, period)


class RateLimiter:
    """Requests and tokens per minute shared by every call of a run; None means no limit.

    Args:
        requests_per_minute: Requests the endpoint accepts a minute.
        tokens_per_minute: Tokens (prompt estimate plus max_tokens) it accepts a minute.
        largest_request_tokens: The most tokens one request may acquire; sizes the token bucket.
    """

    def __init__(
        self,
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
        largest_request_tokens: int = 1,
    ) -> None:
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self._requests = _bucket(requests_per_minute, 1) if requests_per_minute else None
        self._tokens = (
            _bucket(tokens_per_minute, largest_request_tokens) if tokens_per_minute else None
        )
        self._filled = False
        self._resume_at = 0.0

    def describe(self) -> str:
        """The limits in one line, for the stage's metadata."""
        limits = (("requests", self.requests_per_minute), ("tokens", self.tokens_per_minute))
        parts = [f"{limit} {unit}/min" for unit, limit in limits if limit]
        return ", ".join(parts) or "no rate limit"

    async def acquire(self, tokens: int) -> None:
        """Wait until one more request of `tokens` fits every limit and no pause is running.

        A request larger than the token bucket waits for the whole bucket: it cannot be sent
        within the limit at all, and the server will say so.
        """
        loop = asyncio.get_running_loop()
        if not self._filled:  # start full: pace from the first call, never burst
            self._filled = True
            for bucket in (self._requests, self._tokens):
                if bucket is not None:
                    await bucket.acquire(bucket.max_rate)
        while (wait := self._resume_at - loop.time()) > 0:
            await asyncio.sleep(wait)
        if self._requests is not None:
            await self._requests.acquire(1)
        if self._tokens is not None:
            await self._tokens.acquire(min(float(tokens), self._tokens.max_rate))

    def pause(self, seconds: float) -> None:
        """Hold every attempt for `seconds` from now (the server's Retry-After)."""
        if seconds > 0:
            resume_at = asyncio.get_running_loop().time() + seconds
            self._resume_at = max(self._resume_at, resume_at)
