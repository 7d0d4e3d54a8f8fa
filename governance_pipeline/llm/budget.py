"""Caps on tokens and cost, per run and per day, reserved before a call is dispatched.

A call reserves its worst case before it is sent and settles to what it really used when it
returns, so concurrent calls can never together exceed a cap. A call whose worst case does not
fit is not sent: its row ends `over_budget`. An attempt the endpoint answers is paid for even
when its answer is unusable, so each attempt that follows a paid one reserves its worst case
again.

The worst case of a prompt is not the 4-characters-a-token rule of thumb: the endpoint counts
its own way (its tokenizer, its chat template, the response schema), and one that counted 1.5
times that estimate took a 50,000-token cap to 50,049. `TokenBound` bounds it instead:

    before any usage is reported -> 1 token per byte of the prompt (UTF-8, with an allowance
                                    for the chat template): a byte-level tokenizer, as GPT's,
                                    Llama's and SmolLM's are, cannot produce more
    once usage is reported       -> the most tokens per byte the endpoint has reported in the
                                    run, plus `margin`; no more than 1 a byte, unless the
                                    endpoint itself has reported more
    output                       -> `max_tokens`, which the endpoint enforces

The calibrated bound holds as long as no prompt of the run tokenizes more densely than the
densest one seen so far by more than `margin`; the byte bound holds for any byte-level tokenizer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from governance_pipeline.llm.spend import DailySpend

BYTE_LEVEL_TOKENS_PER_BYTE = 1.0
"""The most tokens a byte-level tokenizer makes of one byte of text."""


@dataclass
class TokenBound:
    """The most prompt tokens a request may be counted, calibrated by the usage of the run.

    Attributes:
        margin: Share added to the densest tokens-per-byte ratio the endpoint has reported.
        tokens_per_byte: That ratio; None until the endpoint reports usage.
    """

    margin: float = 0.25
    tokens_per_byte: float | None = None

    @property
    def ratio(self) -> float:
        """Tokens per prompt byte a reservation assumes."""
        seen = self.tokens_per_byte
        if seen is None:
            return BYTE_LEVEL_TOKENS_PER_BYTE
        padded = seen * (1 + self.margin)
        return padded if seen > BYTE_LEVEL_TOKENS_PER_BYTE else min(padded, 1.0)

    def prompt_tokens(self, prompt_bytes: int) -> int:
        """The most tokens a prompt of `prompt_bytes` may be counted."""
        return math.ceil(prompt_bytes * self.ratio)

    def observe(self, prompt_bytes: int, prompt_tokens: int) -> None:
        """Learn from the usage an endpoint reported for a prompt of `prompt_bytes`."""
        if prompt_bytes > 0 and prompt_tokens > 0:
            ratio = prompt_tokens / prompt_bytes
            self.tokens_per_byte = max(self.tokens_per_byte or 0.0, ratio)


@dataclass
class Budget:
    """Token and cost caps of one run; None means no cap.

    Attributes:
        max_tokens: Cap on the tokens the run is counted, prompt and completion.
        max_cost_usd: Cap on what the run costs.
        tokens: Tokens used or held by calls in flight.
        cost_usd: Cost used or held by calls in flight.
        bound: The worst case of a prompt, calibrated as the run's calls report usage.
    """

    max_tokens: int | None = None
    max_cost_usd: float | None = None
    tokens: int = 0
    cost_usd: float = 0.0
    bound: TokenBound = field(default_factory=TokenBound)
    daily: DailySpend | None = None
    """The job's daily caps, shared with its other runs (`llm.spend`); None for none."""
    refusal: str | None = None
    """Why the last reservation that did not fit was refused, naming the cap."""

    def reserve(self, tokens: int, cost_usd: float) -> bool:
        """Hold `tokens` and `cost_usd` for a call; False (holding nothing) if a cap would break."""
        if self.max_tokens is not None and self.tokens + tokens > self.max_tokens:
            self.refusal = f"the run's cap of {self.max_tokens} tokens was reached"
            return False
        if self.max_cost_usd is not None and self.cost_usd + cost_usd > self.max_cost_usd:
            self.refusal = f"the run's cap of {self.max_cost_usd:g} USD was reached"
            return False
        if self.daily is not None and (why := self.daily.reserve(tokens, cost_usd)) is not None:
            self.refusal = why
            return False
        self.tokens += tokens
        self.cost_usd += cost_usd
        return True

    def settle(self, reserved: tuple[int, float], used: tuple[int, float]) -> None:
        """Replace a reservation by what the call used (zero for a call that failed)."""
        self.tokens += used[0] - reserved[0]
        self.cost_usd += used[1] - reserved[1]
        if self.daily is not None:
            self.daily.settle(reserved, used)
