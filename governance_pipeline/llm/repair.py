"""Repair: an answer that breaks the contract is asked for once more, with the violations stated.

The repair request is the original conversation, the model's answer, and a user message that
names each broken rule and asks for one JSON object that keeps every rule. It is a request like
any other: hashed (so a rerun serves it from the cache), budgeted, rate limited and retried.
The answer and the reasons are redacted before they go back to the model, so a repair never
sends the model personal data, not even what the model itself wrote.

Recorded in `llm_call`: the first answer ends `superseded` when the repair answers (the repair's
own row then carries the row's outcome), and the repair ends `repair_failed` when it does not
(the first answer stands and the contract quarantines it).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

from governance_pipeline.inputs.redaction import Redactor
from governance_pipeline.llm.calls import CallRequest, request_hash
from governance_pipeline.outputs.contracts import Contract, Violation

REPAIR_PROMPT = (
    "Your answer above breaks the output contract:\n{violations}\n"
    "Answer again with one JSON object that fixes every point above and keeps every rule of "
    "the system message. Do not explain."
)


_REDACTOR = Redactor()
"""Redacts the answer and reasons shown back to the model (placeholders only: no keys, no
state)."""


def repair_body(
    body: dict[str, Any], answer: str, violations: Sequence[Violation]
) -> dict[str, Any]:
    """The request that asks again: `body`'s messages, the answer, then the violations."""
    redactor = _REDACTOR
    shown = redactor.redact_text(answer)[0] or ""
    reasons = "\n".join(f"- {redactor.redact_text(str(v))[0]}" for v in violations)
    repaired = copy.deepcopy(body)
    repaired["messages"] = [
        *repaired["messages"],
        {"role": "assistant", "content": shown},
        {"role": "user", "content": REPAIR_PROMPT.format(violations=reasons)},
    ]
    return repaired


def repairs_needed(
    contract: Contract,
    answers: Sequence[tuple[str, str, tuple[Any, ...], str]],
    bodies: dict[str, dict[str, Any]],
) -> list[tuple[CallRequest, str]]:
    """Repair requests for the answers that break the contract, each with the hash it repairs.

    Args:
        contract: The run's contract.
        answers: (request hash, content, row keys, redacted input as JSON) of each distinct
            answered request.
        bodies: The request body of each hash.
    """
    todo = []
    for h, content, keys, data in answers:
        verdict = contract.check(content, json.loads(data), keys[0])
        if verdict.errors:
            body = repair_body(bodies[h], content, verdict.errors)
            todo.append((CallRequest(request_hash(body), body, keys), h))
    return todo
