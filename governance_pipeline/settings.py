"""Settings from the environment: `GOVERNANCE_*`, plus the openai client's own variables."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class StructuredOutput(str, Enum):
    """How an endpoint can be asked for JSON that follows a schema.

    This is a declared capability of the endpoint, never guessed from an error:
    - `json_schema`: OpenAI's `{"type": "json_schema", "json_schema": {...}}` (OpenAI, Azure, vLLM).
    - `json_object_schema`: llama.cpp's `{"type": "json_object", "schema": {...}}`.
    - `none`: no response_format; the JSON is validated afterwards (Ollama and the rest).
    """

    JSON_SCHEMA = "json_schema"
    JSON_OBJECT_SCHEMA = "json_object_schema"
    NONE = "none"


class ModelPrice(BaseModel):
    """What a model costs, in US dollars per 1,000 tokens."""

    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0, description="Price of 1,000 input (prompt) tokens.")
    output: float = Field(ge=0, description="Price of 1,000 output (completion) tokens.")


class Settings(BaseSettings):
    """Configuration of a run. Every field can be set as `GOVERNANCE_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="GOVERNANCE_", extra="ignore")

    db: Path = Field(
        PROJECT_ROOT / "data" / "governance.duckdb", description="The DuckDB file of every table."
    )
    spec_dir: Path = Field(PROJECT_ROOT / "specs", description="Folder of the spec files.")
    openai_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("OPENAI_API_KEY"),
        description="Key of the model endpoint; with no base URL either, the local model serves.",
    )
    openai_base_url: str | None = Field(
        None,
        validation_alias=AliasChoices("OPENAI_BASE_URL"),
        description="Base URL of an OpenAI-compatible endpoint.",
    )
    model: str = Field("gpt-4o-mini", description="Model name when the spec names none.")
    structured_output: StructuredOutput | None = Field(
        None,
        description="Endpoint capability for JSON output; default json_schema for a configured "
        "endpoint and json_object_schema for the embedded model.",
    )
    price_per_1k_input_usd: float = Field(
        0.00015, ge=0, description="Price of 1,000 input tokens of a model not in `prices`."
    )
    price_per_1k_output_usd: float = Field(
        0.0006, ge=0, description="Price of 1,000 output tokens of a model not in `prices`."
    )
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict,
        description='Price table, JSON: {"gpt-4o-mini": {"input": 0.00015, "output": 0.0006}}, '
        "US dollars per 1,000 tokens; models not in it take the two flat prices above.",
    )
    batch_price_factor: float = Field(
        0.5, ge=0, le=1, description="Share of the price a Batch API call costs (OpenAI: half)."
    )
    requests_per_minute: int | None = Field(
        None, gt=0, description="The endpoint's request rate limit; a spec may only lower it."
    )
    tokens_per_minute: int | None = Field(
        None, gt=0, description="The endpoint's token rate limit; a spec may only lower it."
    )
    batch_poll_s: float = Field(
        30.0, gt=0, description="Seconds between polls of a running Batch API job."
    )
    local_model_port: int = Field(8765, gt=0, lt=65536, description="Port of the embedded model.")

    def price_of(self, model: str) -> ModelPrice:
        """The price of `model`: its entry in `prices`, else the two flat prices."""
        if model in self.prices:
            return self.prices[model]
        return ModelPrice(input=self.price_per_1k_input_usd, output=self.price_per_1k_output_usd)

    @property
    def uses_local_model(self) -> bool:
        """True when no endpoint is configured, so the embedded model serves."""
        return self.openai_api_key is None and self.openai_base_url is None


def dagster_home() -> Path:
    """Dagster's home for runs launched here: `$DAGSTER_HOME`, default .dagster/ in the project.

    Sets the variable (and telemetry off) for this process and its children, and creates the
    folder with a dagster.yaml that turns telemetry off (no banner, no calls home).
    """
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / ".dagster")))
    os.environ["DAGSTER_DISABLE_TELEMETRY"] = "1"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or not config.read_text().strip():
        config.write_text("telemetry:\n  enabled: false\n")
    return home
