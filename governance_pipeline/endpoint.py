"""The model endpoint a run talks to: OpenAI, any compatible server, or the embedded model."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from governance_pipeline.settings import Settings, StructuredOutput

LOCAL_MODEL_NAME = "smollm2-135m-instruct"


@dataclass(frozen=True)
class Endpoint:
    """Where calls go, with what model, and what the endpoint can do.

    Attributes:
        base_url: OpenAI-compatible base URL, ending in /v1.
        api_key: The key; never printed, logged or stored.
        model: Model name sent with every request.
        structured_output: How the endpoint is asked for schema-shaped JSON.
        local: True for the embedded model, which `govern run` starts on demand.
        price_per_1k_input_usd: Price of 1,000 input tokens.
        price_per_1k_output_usd: Price of 1,000 output tokens.
        max_concurrency: Calls the endpoint serves at once, when it is known to be limited;
            more in flight would only queue there and inflate the measured latency.
    """

    base_url: str
    api_key: SecretStr
    model: str
    structured_output: StructuredOutput
    local: bool
    price_per_1k_input_usd: float
    price_per_1k_output_usd: float
    max_concurrency: int | None = None

    def describe(self) -> str:
        """One line for people: which endpoint and model, never the key."""
        kind = "embedded local model" if self.local else "configured endpoint"
        return f"{kind} {self.base_url} (model {self.model})"

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        """Cost in US dollars of one call."""
        return (
            tokens_in * self.price_per_1k_input_usd + tokens_out * self.price_per_1k_output_usd
        ) / 1000


def resolve_endpoint(settings: Settings, spec_model: str | None = None) -> Endpoint:
    """The endpoint of a run: the configured one, or the embedded model when none is."""
    if settings.uses_local_model:
        return Endpoint(
            base_url=f"http://127.0.0.1:{settings.local_model_port}/v1",
            api_key=SecretStr("local"),
            model=LOCAL_MODEL_NAME,
            structured_output=settings.structured_output or StructuredOutput.JSON_OBJECT_SCHEMA,
            local=True,
            price_per_1k_input_usd=0.0,
            price_per_1k_output_usd=0.0,
            max_concurrency=1,  # llama.cpp's server decodes one request at a time
        )
    return Endpoint(
        base_url=settings.openai_base_url or "https://api.openai.com/v1",
        api_key=settings.openai_api_key or SecretStr("unset"),
        model=spec_model or settings.model,
        structured_output=settings.structured_output or StructuredOutput.JSON_SCHEMA,
        local=False,
        price_per_1k_input_usd=settings.price_per_1k_input_usd,
        price_per_1k_output_usd=settings.price_per_1k_output_usd,
    )
