"""What importing the package costs: checked in a fresh interpreter, since this test session
has long since imported everything.

`import governance_pipeline` loads its public names lazily, so a notebook, a code location or a
script that needs one error class pays for no dataframe, database, validation, orchestration or
HTTP client library. `govern` imports Great Expectations and Dagster inside the commands that
need them, so `govern --help` and `govern validate` start fast (issue 17 builds on this).
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


def imported_after(module: str) -> set[str]:
    """The top-level packages among HEAVY that a fresh interpreter holds after `import module`."""
    code = (
        "import json, sys\n"
        f"import {module}\n"
        f"print(json.dumps(sorted({{m.partition('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))"
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
        ("governance_pipeline.cli", ("great_expectations", "dagster")),
    ],
)
def test_import_does_not_load_heavy_dependencies(module: str, never: tuple[str, ...]) -> None:
    assert imported_after(module) & set(never) == set()
