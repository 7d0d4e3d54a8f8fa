"""Helpers for tests of the LLM stage on a real store: a spec with changed parameters, the stages
before the LLM stage, the stage itself, and an endpoint on a fake server.

Run as a script (`python -m tests.stage_helpers DB BASE_URL`), it runs the LLM stage of
support_triage on the store DB against BASE_URL: the kill -9 test runs it in a process it can
kill.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from governance_pipeline import spec as spec_module
from governance_pipeline import store
from governance_pipeline.inputs import stages
from governance_pipeline.llm import calling
from governance_pipeline.llm.endpoint import Endpoint, resolve_endpoint
from governance_pipeline.settings import Settings
from governance_pipeline.spec import ResolvedSpec

SPEC_FILE = Path(__file__).resolve().parent.parent / "specs" / "support_triage.yaml"


def triage_spec(**model: Any) -> ResolvedSpec:
    """support_triage with some `model` parameters replaced."""
    return with_job(spec_module.load(SPEC_FILE), model=model)


def with_job(
    spec: ResolvedSpec, *, model: dict[str, Any] | None = None, **job: Any
) -> ResolvedSpec:
    """The spec with `model` parameters and job fields replaced (tests only: the hash stays)."""
    params = spec.job.model.model_copy(update=model or {})
    return spec.model_copy(update={"job": spec.job.model_copy(update={**job, "model": params})})


def endpoint_for(base_url: str, **settings: Any) -> Endpoint:
    """The endpoint a run resolves for a configured base URL (and any other settings)."""
    settings.setdefault("openai_api_key", SecretStr("sk-test"))
    return resolve_endpoint(Settings(openai_base_url=base_url, **settings))


def prepare(
    db: Path, spec: ResolvedSpec, endpoint: Endpoint, run_id: str = "run-1", validate: bool = True
) -> None:
    """Validate the demo source (unless `validate` is False: the last run's batch stands) and
    build the model inputs: what the LLM stage reads."""
    with store.connect(db) as con:
        if validate:
            stages.validate_input(con, spec, run_id, endpoint)
        stages.build_model_input(con, spec, endpoint, run_id)


def run_stage(
    db: Path, spec: ResolvedSpec, endpoint: Endpoint, run_id: str = "run-1", **options: Any
) -> dict[str, Any]:
    """The LLM stage of run `run_id` (`options`: `calling.call_model`'s); its figures."""
    return calling.call_model(store.opener(db), spec, endpoint, run_id, **options)


if __name__ == "__main__":
    db_path, base_url = sys.argv[1], sys.argv[2]
    run_stage(Path(db_path), triage_spec(concurrency=2), endpoint_for(base_url))
