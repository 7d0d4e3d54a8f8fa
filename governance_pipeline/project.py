"""A project is a folder, found from where the user stands, as dbt finds `dbt_project.yml`.

    my-project/
      governance.yaml     the marker: `govern` walks up from the current folder to it
      specs/              platform.yaml, one YAML per job
      expectations/       the compiled Great Expectations suites, checked in
      assets/             the Dagster code location (`defs = governed_definitions(...)`)
      workspace.yaml      what `govern ui` and `dagster dev` load
      data/store.duckdb   the store (`$GOVERNANCE_DB` overrides it)
      .dagster/           Dagster's run history (`$DAGSTER_HOME` overrides it)

`$GOVERNANCE_PROJECT_DIR` names the project outright (a Dagster code location whose working
directory is elsewhere); relative paths in settings resolve against the project's root, never
against the folder the library is installed in.
"""

from __future__ import annotations

from pathlib import Path

from governance_pipeline.errors import ProjectError

MARKER = "governance.yaml"


def find_root(start: Path | None = None) -> Path | None:
    """The nearest folder at or above `start` (default: the current folder) holding the marker."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MARKER).is_file():
            return folder
    return None


def require_root(start: Path | None = None) -> Path:
    """The project's root, or an error saying where it was looked for and what to do.

    Raises:
        ProjectError: no folder at or above `start` holds the marker.
    """
    root = find_root(start)
    if root is None:
        here = (start or Path.cwd()).resolve()
        raise ProjectError(
            f"no governance project in {here} or any folder above it (a project's root holds "
            f"{MARKER}): run `govern init DIR` to start one, or cd into one; "
            "GOVERNANCE_PROJECT_DIR names one from elsewhere"
        )
    return root


def check_root(root: Path) -> Path:
    """`root` if it holds the marker (a project named outright must be one).

    Raises:
        ProjectError: it does not.
    """
    root = root.resolve()
    if not (root / MARKER).is_file():
        raise ProjectError(
            f"GOVERNANCE_PROJECT_DIR={root} is not a governance project (it has no {MARKER}); "
            "run `govern init` there, or point at the folder that has one"
        )
    return root


TEMPLATE = Path(__file__).resolve().parent / "project_template"
"""The files `govern init` writes (`gitignore` becomes `.gitignore`)."""


def scaffold(target: Path, name: str | None = None) -> list[Path]:
    """Write a new project into `target` (created if missing); the files written, in order.

    Raises:
        ProjectError: `target` is already a project, or a file would be overwritten.
    """
    target = target.resolve()
    if (target / MARKER).exists():
        raise ProjectError(f"{target} is already a governance project (it has {MARKER})")
    files = sorted(p for p in TEMPLATE.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    destinations = {
        source: target
        / source.relative_to(TEMPLATE).with_name(
            ".gitignore" if source.name == "gitignore" else source.name
        )
        for source in files
    }
    taken = [str(d.relative_to(target)) for d in destinations.values() if d.exists()]
    if taken:
        raise ProjectError(
            f"{target} already has {', '.join(taken)}: `govern init` never overwrites a file; "
            "choose an empty folder, or move those files away"
        )
    written = []
    for source, destination in destinations.items():
        destination.parent.mkdir(parents=True, exist_ok=True)
        text = source.read_text(encoding="utf-8")
        if source.name == MARKER:
            text = text.replace("{name}", name or target.name)
        destination.write_text(text, encoding="utf-8")
        written.append(destination)
    (target / "expectations").mkdir(exist_ok=True)
    return written
