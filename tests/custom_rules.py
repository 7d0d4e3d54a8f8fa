"""Custom checks named by import path in the rule tests (`tests.custom_rules:...`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from governance_pipeline.outputs.rules import RowContext

TEAMS = {"billing", "account", "shipping"}


def team_exists(output: dict[str, Any], context: RowContext, teams: list[str] | None = None) -> Any:
    """A reason when the category names no team; None when it does."""
    known = set(teams) if teams else TEAMS
    category = output.get("category")
    return None if category in known else f"no team handles category {category!r}"


def mentions_channel(output: dict[str, Any], context: RowContext) -> bool:
    """True when the summary names the channel the ticket came in through."""
    return str(context.input.get("channel", "")) in str(output.get("summary", ""))


def broken(output: dict[str, Any], context: RowContext) -> None:
    """A custom check with a bug."""
    raise KeyError("urgency_level")


NOT_CALLABLE = 42


class Triage(BaseModel):
    """A pydantic model of an output."""

    model_config = ConfigDict(extra="forbid")

    category: str
    urgency: int
