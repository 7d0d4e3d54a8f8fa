"""Per-run caps on tokens and cost, reserved before a call is dispatched.

A call reserves its worst case (estimated input tokens plus `max_tokens` out) before it is sent
and settles to what it really used when it returns, so concurrent calls can never together
exceed a cap. A call that cannot reserve is not sent: its row ends `over_budget`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Budget:
    """Token and cost caps of one run; None means no cap."""

    max_tokens: int | None = None
    max_cost_usd: float | None = None
    tokens: int = 0
    cost_usd: float = 0.0

    def reserve(self, tokens: int, cost_usd: float) -> bool:
        """Hold `tokens` and `cost_usd` for a call; False (holding nothing) if a cap would break."""
        if self.max_tokens is not None and self.tokens + tokens > self.max_tokens:
            return False
        if self.max_cost_usd is not None and self.cost_usd + cost_usd > self.max_cost_usd:
            return False
        self.tokens += tokens
        self.cost_usd += cost_usd
        return True

    def settle(self, reserved: tuple[int, float], used: tuple[int, float]) -> None:
        """Replace a reservation by what the call used (zero for a call that failed)."""
        self.tokens += used[0] - reserved[0]
        self.cost_usd += used[1] - reserved[1]
