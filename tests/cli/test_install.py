"""The library as a new user meets it: built as a wheel, installed non-editable into a fresh
venv, and used from a project `govern init` made in an empty folder far from this checkout.

This once failed at every step: `govern run` could not import `assets` outside the checkout,
and `govern validate` read this repository's specs/ wherever it was run, so a typo in the
user's own spec passed. The wheel's venv borrows the dependencies of the test venv (a `.pth`
line, which runs no code of this checkout); the package itself comes from the wheel only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from governance_pipeline import store
from governance_pipeline.demo.tickets import generate_support_tickets
from tests.conftest import PROJECT_ROOT
from tests.fake_openai import FakeOpenAI

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the project's wheel installed; its bin/ folder."""
    work = tmp_path_factory.mktemp("install")
    source = work / "source"  # a copy, so the build leaves nothing in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT_ROOT / name, source)
    shutil.copytree(
        PROJECT_ROOT / "governance_pipeline",
        source / "governance_pipeline",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    wheels = work / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
        + ["-w", str(wheels), str(source)],
        check=True,
    )
    (wheel,) = wheels.glob("governance_pipeline-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    purelib = Path(
        subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-c",
                "import sysconfig; print(sysconfig.get_path('purelib'))",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (purelib / "_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        check=True,
    )
    return venv / "bin"


def clean_env() -> dict[str, str]:
    """The environment without this checkout's settings or import path: a stranger's shell."""
    drop = ("GOVERNANCE_", "OPENAI_", "PYTHONPATH", "DAGSTER_HOME")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def govern(bin_dir: Path, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(bin_dir / "govern"), *args],
        cwd=cwd,
        env={**clean_env(), "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def _ticket_answer(body: dict) -> str:
    return json.dumps({"category": "billing", "urgency": "medium"})


def test_a_wheel_installed_project_validates_compiles_and_runs(
    installed: Path, tmp_path: Path
) -> None:
    where = subprocess.run(
        [
            str(installed / "python"),
            "-c",
            "import governance_pipeline; print(governance_pipeline.__file__)",
        ],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(installed.parent) in where and str(PROJECT_ROOT) not in where

    made = govern(installed, tmp_path, "init", "team-project")
    assert made.returncode == 0, made.stdout + made.stderr
    project = tmp_path / "team-project"
    for path in ("governance.yaml", "specs/platform.yaml", "specs/ticket_triage.yaml"):
        assert (project / path).is_file(), path
    assert (project / "expectations" / "ticket_triage.input.json").is_file()
    assert "data/" in (project / ".gitignore").read_text()

    nested = project / "specs"  # found by walking up, as dbt finds its project
    validated = govern(installed, nested, "validate")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "ok  ticket_triage" in validated.stdout and str(project) in validated.stdout
    checked = govern(installed, project, "compile", "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    with store.connect(project / "data" / "store.duckdb") as con:  # what a landing job does
        generate_support_tickets(con, 40, seed=7)
    with FakeOpenAI(_ticket_answer) as server:
        ran = govern(
            installed,
            project,
            "run",
            "ticket_triage",
            OPENAI_BASE_URL=server.base_url,
            OPENAI_API_KEY="sk-test",
        )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "rows in: 40" in ran.stdout
    assert server.calls > 0
    assert (project / "data" / "store.duckdb").is_file()
    assert (project / ".dagster").is_dir()  # the run is audited in the project's own instance


def test_a_typo_in_the_projects_own_spec_is_named(installed: Path, tmp_path: Path) -> None:
    assert govern(installed, tmp_path, "init", "p").returncode == 0
    job = tmp_path / "p" / "specs" / "ticket_triage.yaml"
    job.write_text(job.read_text().replace("  key: ticket_id", "  kee: ticket_id", 1))
    validated = govern(installed, tmp_path / "p", "validate")
    assert validated.returncode == 1
    out = validated.stdout + validated.stderr
    assert f"{job}:" in out and "unknown field 'kee'" in out


def test_outside_a_project_govern_says_how_to_start_one(installed: Path, tmp_path: Path) -> None:
    validated = govern(installed, tmp_path, "validate")
    assert validated.returncode == 1
    out = validated.stdout + validated.stderr
    assert "no governance project" in out and "govern init" in out
    assert "Traceback" not in out
