"""Every package the library imports is declared in pyproject.toml.

A dependency that arrives only because another one needs it today (Jinja2 through Dagster,
markdown-it-py through Rich) disappears the day that one stops needing it, and `govern docs`
breaks in a fresh install. So each third-party import in governance_pipeline/ must name a
distribution in `[project] dependencies` or in an extra (the optional stages import theirs
inside the function that needs them).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = PROJECT_ROOT / "governance_pipeline"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> set[str]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra, extra_requirements in project["optional-dependencies"].items():
        if extra != "test":
            requirements += extra_requirements
    names = set()
    for requirement in requirements:
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
        assert match, requirement
        names.add(canonical(match.group()))
    return names


def imported() -> dict[str, str]:
    """Top-level module imported by the package, to the first file that imports it."""
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                found.setdefault(top, f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
    return found


def test_every_third_party_import_is_a_declared_dependency() -> None:
    distributions = packages_distributions()
    allowed = declared()
    undeclared = []
    for module, where in imported().items():
        if module in sys.stdlib_module_names or module in ("__future__", "governance_pipeline"):
            continue
        candidates = {canonical(d) for d in distributions.get(module, [module])}
        if not candidates & allowed:
            undeclared.append(f"{module} ({where}; distribution {', '.join(sorted(candidates))})")
    assert not undeclared, f"declare these in pyproject.toml: {undeclared}"
