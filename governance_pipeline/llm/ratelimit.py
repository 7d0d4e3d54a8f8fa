"""Rate limits of a run: requests and tokens per minute, and a pause when the server asks for one.

Every attempt of every call acquires one request and its worst-case tokens (the prompt estimate
plus `max_tokens`, which is how OpenAI counts a request against its token limit) before it is
sent. Each limit is a lane (`llm.pacing`): a request claims its share of the lane's timeline,
60/R seconds a unit for a limit of R a minute, and waits for the start of its slot. So a run
paces at its limit from its first call and never bursts past it, even straight after another
run that used the same quota; and with a `SharedPacer`, runs in other processes of the same
store claim from the same lanes, so four parallel runs together keep to the limit, not four
times it.

A 429 (or 503) that carries Retry-After pauses every attempt of the run, not only the one that
got it, and with limits set, every run that shares the lanes: the quota is shared.
"""

from __future__ import annotations

import asyncio
import time

from governance_pipeline.llm.pacing import LocalPacer, Pacer, lane_name


def effective_limit(*limits: int | None) -> int | None:
    """The tightest of the limits that are set; None when none is."""
    values = [limit for limit in limits if limit is not None]
    return min(values) if values else None


class RateLimiter:
    """Requests and tokens per minute shared by every call of a run; None means no limit.

    Args:
        requests_per_minute: Requests the endpoint accepts a minute.
        tokens_per_minute: Tokens (prompt estimate plus max_tokens) it accepts a minute.
        pacer: Where the lanes are kept; default this process only (`LocalPacer`).
        quota: What identifies the quota the limits belong to (the endpoint's URL and model):
            runs with the same `quota` and a shared pacer share the limits.
    """

    def __init__(
        self,
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
        *,
        pacer: Pacer | None = None,
        quota: tuple[str, ...] = (),
    ) -> None:
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self._pacer = pacer or LocalPacer()
        self._lanes = [  # (lane, seconds a unit, whether a unit is a token)
            (lane_name(*quota, unit), 60.0 / limit, unit == "tokens")
            for unit, limit in (("requests", requests_per_minute), ("tokens", tokens_per_minute))
            if limit
        ]
        self._resume_at = 0.0

    def describe(self) -> str:
        """The limits in one line, for the stage's metadata."""
        limits = (("requests", self.requests_per_minute), ("tokens", self.tokens_per_minute))
        parts = [f"{limit} {unit}/min" for unit, limit in limits if limit]
        return ", ".join(parts) or "no rate limit"

    async def acquire(self, tokens: int) -> None:
        """Wait until one more request of `tokens` fits every limit and no pause is running."""
        now = time.time()
        start = max(now, self._resume_at)
        for lane, seconds, by_tokens in self._lanes:
            units = max(tokens, 1) if by_tokens else 1
            start = max(start, self._pacer.claim(lane, seconds * units, now))
        if (wait := start - now) > 0:
            await asyncio.sleep(wait)

    def pause(self, seconds: float) -> None:
        """Hold every attempt for `seconds` from now (the server's Retry-After)."""
        if seconds > 0:
            until = time.time() + seconds
            self._resume_at = max(self._resume_at, until)
            for lane, _, _ in self._lanes:
                self._pacer.hold(lane, until)
