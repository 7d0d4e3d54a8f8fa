"""A spec folder: which of its files are jobs, which are base specs, and which are broken.

Every command starts by looking at the folder, so that look must be cheap and no one file may
stall it: `scan` reads only the top-level keys of each `*.yaml` from the parser's events, never
composing or expanding a document (a YAML bomb in one file costs what its bytes cost). A file
with `job:` is a job spec; any other mapping is a base spec (platform.yaml, a team spec). A file
that is neither (empty, not a mapping, not YAML, too big) is an error, as is a job name that two
files declare: nothing in the folder is skipped silently.

`load_folder` then loads every job and checks every base, and keeps going past a broken file,
so that one bad spec does not stop the jobs that do not depend on it; it says which failed and
why, for the caller to report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from governance_pipeline.errors import SpecError
from governance_pipeline.spec.loading import check_base, load
from governance_pipeline.spec.models import ResolvedSpec
from governance_pipeline.spec.yaml_lines import top_level_keys


@dataclass(frozen=True)
class SpecFolder:
    """What the `*.yaml` files of a spec folder are, read without loading them.

    Attributes:
        path: The folder.
        jobs: Each job spec file, with the name its `job:` declares (as written).
        bases: Mappings without `job:`: base specs that jobs extend.
        errors: Files that are neither, one error each.
    """

    path: Path
    jobs: dict[Path, str]
    bases: list[Path]
    errors: list[SpecError]


@dataclass(frozen=True)
class LoadedFolder:
    """The jobs of a folder that load, and why the other files do not.

    Attributes:
        folder: What `scan` found.
        specs: Every job that loads, resolved, in file order.
        failed: Each file that does not load (a job, a base, or neither), with its error;
            a job that extends a broken base fails with the base's error.
    """

    folder: SpecFolder
    specs: list[ResolvedSpec]
    failed: dict[Path, SpecError]

    def errors(self) -> list[SpecError]:
        """The distinct errors, in file order: a broken base shared by jobs is one error."""
        return list({str(e): e for e in self.failed.values()}.values())

    def failure_of(self, job: str) -> SpecError | None:
        """Why the job of this name did not load: a file declares it, or is named for it
        (`<job>.yaml`, when the file is too broken to tell)."""
        for path, name in self.folder.jobs.items():
            if name == job and path in self.failed:
                return self.failed[path]
        return self.failed.get(self.folder.path / f"{job}.yaml")


def scan(spec_dir: Path | str) -> SpecFolder:
    """Sort the `*.yaml` files of `spec_dir` into jobs, base specs and errors."""
    folder = Path(spec_dir)
    jobs: dict[Path, str] = {}
    bases: list[Path] = []
    errors: list[SpecError] = []
    declared: dict[str, Path] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            keys = top_level_keys(path)
        except SpecError as exc:
            errors.append(exc)
            continue
        if "job" not in keys:
            bases.append(path)
            continue
        name, line = keys["job"]
        name = name or ""  # not a scalar: `load` says what a job name must be
        if name and name in declared:
            errors.append(
                SpecError(
                    f"job={name!r} is declared by {declared[name].name} too; a job's name is "
                    "unique in its folder: rename one of them",
                    file=path,
                    field="job",
                    line=line,
                )
            )
            continue
        declared.setdefault(name, path)
        jobs[path] = name
    return SpecFolder(folder, jobs, bases, errors)


def discover(spec_dir: Path | str) -> list[Path]:
    """Job spec files in a folder: every *.yaml that declares a `job`.

    Raises:
        SpecError: the first file of the folder that is neither a job nor a base spec.
    """
    folder = scan(spec_dir)
    if folder.errors:
        raise folder.errors[0]
    return list(folder.jobs)


def load_folder(spec_dir: Path | str) -> LoadedFolder:
    """Load every job of `spec_dir` and check every base spec, past any broken file."""
    folder = scan(spec_dir)
    failed: dict[Path, SpecError] = {e.file: e for e in folder.errors}
    specs: list[ResolvedSpec] = []
    for path in folder.jobs:
        try:
            specs.append(load(path))
        except SpecError as exc:
            failed[path] = exc
    for path in folder.bases:
        try:
            check_base(path)
        except SpecError as exc:
            failed[path] = exc
    ordered = dict(sorted(failed.items()))
    return LoadedFolder(folder, specs, ordered)
