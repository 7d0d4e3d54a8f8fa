"""A job's daily caps (`budget.max_tokens_per_day`, `budget.max_cost_usd_per_day`), shared by
every run and process of the job through the store's `governance.spend`.

A run never asks the store for each call: it leases a share of what is left of the day
(`LEASE_SHARE` of the cap, or what a call needs if more), spends the lease locally as its
calls reserve and settle (`Budget`), and leases again when the lease is used up. The store
holds one row per day, job and run: what the run leased, and, once its LLM stage ends, what it
used. The day's spend is the sum of `used`, or of `leased` for a run whose stage has not ended
or died: so parallel runs together never pass the cap, and a killed run costs the day at
most its unused lease. Days are UTC; a stage counts against the day it started.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from governance_pipeline.store import Connect, first, transaction
from governance_pipeline.store.runs import now

LEASE_SHARE = 0.02
"""Share of a daily cap one lease takes: about fifty trips to the store a day at most."""


@dataclass
class DailySpend:
    """What one run may still spend of its job's day, leased from the store.

    Attributes:
        connect: Opens the store (short connections: a lease is one transaction).
        job: The job whose day it is.
        run_id: The run that leases.
        max_tokens: The day's cap on tokens; None for none.
        max_cost_usd: The day's cap on cost; None for none.
    """

    connect: Connect
    job: str
    run_id: str
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    day: date = field(default_factory=lambda: datetime.now(UTC).date())
    leased: tuple[int, float] = (0, 0.0)
    held: tuple[int, float] = (0, 0.0)
    """Reserved or used by this run's calls, of what it leased."""

    def __post_init__(self) -> None:
        with self.connect() as con:  # a retried stage of the run goes on from its row
            row = first(
                con,
                "SELECT tokens_leased, cost_leased, coalesce(tokens_used, tokens_leased), "
                "coalesce(cost_used, cost_leased) FROM governance.spend "
                "WHERE day = ? AND job = ? AND run_id = ?",
                [self.day, self.job, self.run_id],
            )
        if row is not None:
            self.leased, self.held = (int(row[0]), float(row[1])), (int(row[2]), float(row[3]))

    def reserve(self, tokens: int, cost_usd: float) -> str | None:
        """Hold `tokens` and `cost_usd` for a call; None when they fit, else why not."""
        need = (self.held[0] + tokens - self.leased[0], self.held[1] + cost_usd - self.leased[1])
        if (need[0] > 0 and self.max_tokens is not None) or (
            need[1] > 0 and self.max_cost_usd is not None
        ):
            why = self._lease(max(need[0], 0), max(need[1], 0.0))
            if why is not None:
                return why
        self.held = (self.held[0] + tokens, self.held[1] + cost_usd)
        return None

    def settle(self, reserved: tuple[int, float], used: tuple[int, float]) -> None:
        """Replace a reservation by what the call used."""
        self.held = (self.held[0] + used[0] - reserved[0], self.held[1] + used[1] - reserved[1])

    def close(self) -> None:
        """Record what the run used (its lease's rest goes back to the day)."""
        with self.connect() as con:
            con.execute(
                "UPDATE governance.spend SET tokens_used = ?, cost_used = ?, updated_at = ? "
                "WHERE day = ? AND job = ? AND run_id = ?",
                [*self.held, now(), self.day, self.job, self.run_id],
            )

    def _lease(self, tokens: int, cost_usd: float) -> str | None:
        """Lease at least what is needed, a share of the cap if it is left; else why not."""
        with self.connect() as con, transaction(con):
            others = first(
                con,
                "SELECT coalesce(sum(coalesce(tokens_used, tokens_leased)), 0), "
                "coalesce(sum(coalesce(cost_used, cost_leased)), 0) FROM governance.spend "
                "WHERE day = ? AND job = ? AND run_id <> ?",
                [self.day, self.job, self.run_id],
            )
            spent = (int(others[0]), float(others[1])) if others else (0, 0.0)
            grant = [0, 0.0]
            for i, (cap, need) in enumerate(
                ((self.max_tokens, tokens), (self.max_cost_usd, cost_usd))
            ):
                if cap is None:
                    continue
                left = cap - spent[i] - self.leased[i]
                if need > left:
                    unit = "tokens" if i == 0 else "USD"
                    return (
                        f"the job's daily cap of {cap:g} {unit} for {self.day} (UTC) is spent "
                        f"({spent[i] + self.held[i]:g} used or held by its runs today)"
                    )
                grant[i] = min(left, max(need, cap * LEASE_SHARE))
            self.leased = (self.leased[0] + int(grant[0]), self.leased[1] + grant[1])
            con.execute(
                "INSERT INTO governance.spend (day, job, run_id, tokens_leased, cost_leased, "
                "updated_at) VALUES ($day, $job, $run, $tokens, $cost, $now) "
                "ON CONFLICT (day, job, run_id) DO UPDATE SET tokens_leased = $tokens, "
                "cost_leased = $cost, tokens_used = NULL, cost_used = NULL, updated_at = $now",
                {
                    "day": self.day,
                    "job": self.job,
                    "run": self.run_id,
                    "tokens": self.leased[0],
                    "cost": self.leased[1],
                    "now": now(),
                },
            )
        return None
