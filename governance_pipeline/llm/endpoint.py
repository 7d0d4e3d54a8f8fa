"""The model endpoint a run talks to: OpenAI, any compatible server, or the embedded model.

A base URL may carry credentials (`http://user:password@host/v1`, `?api-key=...`), so it is
never shown as configured: `safe_url` is what is printed, logged, stored and put in metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from pydantic import SecretStr

from governance_pipeline.settings import Settings, StructuredOutput

LOCAL_MODEL_NAME = "smollm2-135m-instruct"
HIDDEN = "***"
_SECRET_NAME = re.compile(r"key|token|secret|sig|pass|pwd|auth|credential|session", re.IGNORECASE)
"""A query parameter whose name contains one of these holds a secret: api-key, key, token,
sig, signature, password, auth, client_secret, X-Amz-Credential..."""


def safe_url(url: str) -> str:
    """`url` fit to show: user info replaced by `***`, the value of every query parameter whose
    name looks secret (key, token, sig, password...) replaced by `***`, no fragment.

    Works on the text, not on a parsed URL, so a URL that does not parse (no scheme, an
    unescaped `@` in the password) is made safe all the same.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    rest = rest.split("#", 1)[0]
    authority_and_path, question, query = rest.partition("?")
    if "@" in authority_and_path:  # the last @ before the query ends the user info
        authority_and_path = f"{HIDDEN}@{authority_and_path.rpartition('@')[2]}"
    pairs = []
    for pair in re.split(r"([&;])", query):
        name, equals, _ = pair.partition("=")
        pairs.append(f"{name}={HIDDEN}" if equals and _SECRET_NAME.search(unquote(name)) else pair)
    return f"{scheme}{sep}{authority_and_path}{question}{''.join(pairs)}"


@dataclass(frozen=True)
class Endpoint:
    """Where calls go, with what model, and what the endpoint can do.

    Attributes:
        base_url: OpenAI-compatible base URL, ending in /v1.
        api_key: The key; never printed, logged or stored.
        model: Model name sent with every request.
        structured_output: How the endpoint is asked for schema-shaped JSON.
        local: True for the embedded model, which `govern run` starts on demand.
        price_per_1k_input_usd: Price of 1,000 input tokens of this model.
        price_per_1k_output_usd: Price of 1,000 output tokens of this model.
        max_concurrency: Calls the endpoint serves at once, when it is known to be limited;
            more in flight would only queue there and inflate the measured latency.
        requests_per_minute: The endpoint's request rate limit, when configured.
        tokens_per_minute: The endpoint's token rate limit, when configured.
        batch_price_factor: Share of the price a Batch API call costs.
    """

    base_url: str
    api_key: SecretStr
    model: str
    structured_output: StructuredOutput
    local: bool
    price_per_1k_input_usd: float
    price_per_1k_output_usd: float
    max_concurrency: int | None = None
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    batch_price_factor: float = 0.5

    def __repr__(self) -> str:
        """The dataclass's repr with the base URL made safe (the key is a SecretStr)."""
        fields = {**vars(self), "base_url": self.display_url}
        return f"Endpoint({', '.join(f'{k}={v!r}' for k, v in fields.items())})"

    @property
    def display_url(self) -> str:
        """The base URL fit to show: user info and secret query values hidden (`safe_url`)."""
        return safe_url(self.base_url)

    def describe(self) -> str:
        """One line for people: which endpoint and model, never the key nor any credential
        the base URL carries."""
        kind = "embedded local model" if self.local else "configured endpoint"
        return f"{kind} {self.display_url} (model {self.model})"

    def cost(self, tokens_in: int, tokens_out: int, *, batch: bool = False) -> float:
        """Cost in US dollars of one call; `batch` for one sent through the Batch API."""
        full = tokens_in * self.price_per_1k_input_usd + tokens_out * self.price_per_1k_output_usd
        return full / 1000 * (self.batch_price_factor if batch else 1.0)


def resolve_endpoint(settings: Settings, spec_model: str | None = None) -> Endpoint:
    """The endpoint of a run: the configured one, or the embedded model when none is.

    A configured endpoint's model is priced from `settings.prices`, else the flat prices; the
    embedded model costs nothing.
    """
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
            requests_per_minute=settings.requests_per_minute,
            tokens_per_minute=settings.tokens_per_minute,
        )
    model = spec_model or settings.model
    price = settings.price_of(model)
    return Endpoint(
        base_url=settings.openai_base_url or "https://api.openai.com/v1",
        api_key=settings.openai_api_key or SecretStr("unset"),
        model=model,
        structured_output=settings.structured_output or StructuredOutput.JSON_SCHEMA,
        local=False,
        price_per_1k_input_usd=price.input,
        price_per_1k_output_usd=price.output,
        requests_per_minute=settings.requests_per_minute,
        tokens_per_minute=settings.tokens_per_minute,
        batch_price_factor=settings.batch_price_factor,
    )
