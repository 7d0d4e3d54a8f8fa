"""What importing the package costs: checked in a fresh interpreter, since this test session
has long since imported everything.

`import governance_pipeline` loads its public names lazily, so a notebook, a code location or a
script that needs one error class pays for no dataframe, database, validation, orchestration or
HTTP client library. `govern` imports Great Expectations and Dagster inside the commands that
need them, and the spec imports the libraries its rules run on (DuckDB, pandas, jsonschema) only
when a rule is checked or run, so `govern --help` and `govern validate` start fast (issue 17;
`bench/startup.py` times them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent

HEAVY = ("pandas", "duckdb", "great_expectations", "dagster", "openai")
WATCHED = (*HEAVY, "httpx", "cryptography")


def imported_after(module: str) -> set[str]:
    """The top-level packages among WATCHED that a fresh interpreter holds after `import module`."""
    code = (
        "import json, sys\n"
        f"import {module}\n"
        "loaded = {m.partition('.')[0] for m in sys.modules}\n"
        f"print(json.dumps(sorted(loaded & {set(WATCHED)!r})))"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return set(json.loads(out))


@pytest.mark.parametrize(
    ("module", "never"),
    [
        ("governance_pipeline", HEAVY),
        # a spec names rules and alert sinks; the libraries that run them load when they run
        ("governance_pipeline.spec", ("pandas", "duckdb", "great_expectations", "dagster")),
        ("governance_pipeline.alerting", ("pandas", "duckdb", "httpx")),
        ("governance_pipeline.inputs.redaction", ("pandas", "duckdb", "cryptography")),
        ("governance_pipeline.cli", ("pandas", "duckdb", "great_expectations", "dagster")),
    ],
)
def test_import_does_not_load_heavy_dependencies(module: str, never: tuple[str, ...]) -> None:
    assert imported_after(module) & set(never) == set()


def test_govern_help_loads_no_settings_or_spec() -> None:
    """`govern --help` needs typer and rich only: not the settings, nor a spec."""
    code = (
        "import json, sys\n"
        "from governance_pipeline.cli import app\n"
        "try:\n"
        "    app(['--help'], prog_name='govern')\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = [m for m in ('governance_pipeline.settings', 'governance_pipeline.spec', "
        "'pydantic_settings') if m in sys.modules]\n"
        "print(json.dumps(loaded), file=sys.stderr)"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    err = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stderr
    assert json.loads(err.strip().splitlines()[-1]) == []
