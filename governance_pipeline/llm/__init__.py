"""The LLM stage: every model input served from the cache or the endpoint, within limits.

    endpoint     where calls go (OpenAI, a compatible server, the embedded model), prices
    prompts      the request of a row: the chain of command, the row as untrusted data
    calls        requests by hash, the call layer (`call_all`), the circuit breaker
    retry        which failures are retried and how long to wait (tenacity)
    ratelimit    requests and tokens per minute
    pacing       the limits' lanes, in this process or shared by the store's processes
    budget       caps on tokens and cost per run and per day, reserved before a call is sent
    spend        the job's daily caps, leased from the store by each run
    call_log     results written as they arrive: the cache and `llm_call`
    batch        the OpenAI Batch API, resumable
    repair       one more ask, with the violations stated, for an answer that broke the contract
    local_model  the embedded model (llama.cpp serving SmolLM2)
    calling      the stage itself, as the Dagster asset calls it

The call layer's names are re-exported here (`llm.request_hash`, `llm.call_all`...).
"""

from governance_pipeline.llm.calls import (
    CallRequest,
    CallResult,
    CallStatus,
    CircuitBreaker,
    answered,
    call_all,
    estimate_tokens,
    prompt_bytes,
    request_body,
    request_hash,
    reservation,
    unusable,
)

__all__ = [
    "CallRequest",
    "CallResult",
    "CallStatus",
    "CircuitBreaker",
    "answered",
    "call_all",
    "estimate_tokens",
    "prompt_bytes",
    "request_body",
    "request_hash",
    "reservation",
    "unusable",
]
