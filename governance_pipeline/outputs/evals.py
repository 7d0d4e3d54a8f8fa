"""`govern eval`: the spec's worked examples as evals.

Offline, the contract must accept every good answer and reject every bad one: a bad example the
contract lets through is a defect of the spec. Online, the example inputs go to a model (through
the same request building and openai client as a run) and each policy's compliance is reported;
with two models side by side, the report supports a model-upgrade decision.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass, field

import openai

from governance_pipeline import llm
from governance_pipeline.llm import prompts
from governance_pipeline.llm.budget import Budget
from governance_pipeline.llm.calls import CallRequest, CallResult, CallStatus
from governance_pipeline.llm.endpoint import Endpoint
from governance_pipeline.outputs.contracts import Contract
from governance_pipeline.spec import ResolvedSpec


@dataclass
class ExampleCheck:
    """The contract's verdict on one worked answer, against what the spec expects."""

    example: int
    kind: str  # "good" or "bad"
    expected: str  # "accept" or "reject"
    found: list[str]  # rule ids of the ERROR violations found
    passed: bool
    declared_reason: str = ""


def check_examples(spec: ResolvedSpec) -> list[ExampleCheck]:
    """Hold every good and bad example output against the contract, offline."""
    contract = Contract(spec)
    checks = []
    for i, example in enumerate(spec.job.examples, start=1):
        errors = [v.rule_id for v in contract.check(json.dumps(example.good)).errors]
        checks.append(ExampleCheck(i, "good", "accept", errors, not errors))
        for bad in example.bad:
            errors = [v.rule_id for v in contract.check(json.dumps(bad.output)).errors]
            checks.append(ExampleCheck(i, "bad", "reject", errors, bool(errors), bad.reason))
    return checks


@dataclass
class ModelEval:
    """One model's answers to the example inputs: compliance per rule of the contract, and
    agreement with the good answers on each enum field (an obeyed injection shows up there)."""

    model: str
    examples: int
    answered: int
    compliant: int
    by_rule: dict[str, float] = field(default_factory=dict)
    agreement: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        """A JSON-ready dict of the figures."""
        return asdict(self)


def run_model_eval(spec: ResolvedSpec, endpoint: Endpoint) -> ModelEval:
    """Send each example input to the model once and judge the answers by the contract."""
    contract = Contract(spec)
    builder = prompts.RequestBuilder(spec, endpoint)
    requests: list[CallRequest] = []
    for example in spec.job.examples:
        body = builder.body(example.input)
        requests.append(CallRequest(llm.request_hash(body), body, (len(requests),)))
    results: dict[int, CallResult] = {}

    def record(req: CallRequest, result: CallResult) -> None:
        results[req.keys[0]] = result

    async def go() -> None:
        async with openai.AsyncOpenAI(
            base_url=endpoint.base_url,
            api_key=endpoint.api_key.get_secret_value(),
            max_retries=spec.job.model.max_retries,
            timeout=spec.job.model.timeout_s,
        ) as client:
            await llm.call_all(
                client,
                requests,
                endpoint,
                concurrency=min(spec.job.model.concurrency, endpoint.max_concurrency or 64),
                budget=Budget(),
                on_result=record,
            )

    asyncio.run(go())
    rule_ids = ["output.schema", *(rule_id for rule_id, _, _ in contract.rules)]
    enum_fields = [name for name, f in spec.job.output.items() if f.enum]
    agreed: dict[str, int] = dict.fromkeys(enum_fields, 0)
    broken: dict[str, int] = dict.fromkeys(rule_ids, 0)
    evaluation = ModelEval(endpoint.model, len(requests), 0, 0)
    for i, result in sorted(results.items()):
        if result.status is not CallStatus.OK:
            evaluation.failures.append(f"example {i + 1}: call failed ({result.error_class})")
            continue
        evaluation.answered += 1
        verdict = contract.check(result.content)
        good = spec.job.examples[i].good
        for name in enum_fields:
            agreed[name] += bool(verdict.output and verdict.output.get(name) == good.get(name))
        for v in verdict.violations:
            broken[v.rule_id] = broken.get(v.rule_id, 0) + 1
        if not verdict.errors:
            evaluation.compliant += 1
        else:
            evaluation.failures.append(
                f"example {i + 1}: " + "; ".join(str(v) for v in verdict.errors)
            )
    if evaluation.answered:
        evaluation.by_rule = {
            rule: 1 - broken[rule] / evaluation.answered for rule in dict.fromkeys(rule_ids)
        }
        evaluation.agreement = {n: agreed[n] / evaluation.answered for n in enum_fields}
    return evaluation
