"""Dagster resources: thin seams over the store and the model endpoint."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from governance_pipeline import store
from governance_pipeline.endpoint import Endpoint, resolve_endpoint
from governance_pipeline.settings import Settings, StructuredOutput


class GovernanceStore(dg.ConfigurableResource):
    """The DuckDB file every stage reads and writes; `$GOVERNANCE_DB` by default."""

    db_path: str | None = None

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one stage, closed when the stage is done."""
        with store.connect(self.db_path or Settings().db) as con:
            yield con


class ModelEndpoint(dg.ConfigurableResource):
    """The OpenAI-compatible endpoint. Unset fields come from the environment
    (`OPENAI_BASE_URL`, `OPENAI_API_KEY`, `GOVERNANCE_*`); with neither set, the embedded model.
    """

    base_url: str | None = None
    model: str | None = None
    structured_output: StructuredOutput | None = None

    def resolve(self, spec_model: str | None) -> Endpoint:
        """The endpoint for a job whose spec may name a model."""
        overrides = {
            k: v
            for k, v in {
                "openai_base_url": self.base_url,
                "structured_output": self.structured_output,
            }.items()
            if v is not None
        }
        settings = Settings().model_copy(update=overrides)
        endpoint = resolve_endpoint(settings, self.model or spec_model)
        return endpoint
