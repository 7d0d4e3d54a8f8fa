"""Dagster resources: thin seams over the store and the model endpoint."""

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from governance_pipeline import spec as spec_module
from governance_pipeline import store
from governance_pipeline.llm.endpoint import Endpoint, resolve_endpoint
from governance_pipeline.llm.pacing import SharedPacer
from governance_pipeline.settings import Settings, StructuredOutput
from governance_pipeline.spec import ResolvedSpec


class GovernanceStore(dg.ConfigurableResource):
    """The DuckDB file every stage reads and writes; `$GOVERNANCE_DB` by default."""

    db_path: str | None = None

    @property
    def path(self) -> Path:
        """The store's file."""
        return Path(self.db_path) if self.db_path else Settings().db

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one stage, closed when the stage is done."""
        with store.connect(self.path) as con:
            yield con

    @contextmanager
    def pacer(self) -> Iterator[SharedPacer]:
        """The rate limits' lanes every process of this store shares (`llm.pacing`)."""
        pacer = SharedPacer.beside(self.path)
        try:
            yield pacer
        finally:
            pacer.close()


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


class RunInstructions(dg.ConfigurableResource):
    """User-level instructions of a run: the `user` level of the chain of command.

    Set per run (`govern run JOB --instruction "..."`, or the launchpad's resource config).
    `ID=TEXT` overrides policy ID where the spec allows it; plain text adds a user policy.
    """

    instructions: list[str] = []

    def apply(self, spec: ResolvedSpec) -> ResolvedSpec:
        """The job's spec resolved with this run's instructions (unchanged without any)."""
        return (
            _with_instructions(spec.path, tuple(self.instructions)) if self.instructions else spec
        )


@functools.lru_cache(maxsize=32)
def _with_instructions(path: str, instructions: tuple[str, ...]) -> ResolvedSpec:
    """Each step of a run resolves the same spec with the same instructions: once is enough."""
    return spec_module.load(path, list(instructions))
