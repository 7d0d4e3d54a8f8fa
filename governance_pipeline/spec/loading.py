"""Loading a spec: parsing with line numbers, inheritance (`extends`), resolution of the
effective policy set by the chain of command, and the content hash.

A job spec (specs/<job>.yaml) `extends` base specs (specs/platform.yaml, team specs) inside its
folder. Policies and SLAs carry an authority level; `load` merges them deterministically and
records where each came from and what it replaced. Every problem is a `SpecError` naming file,
field and line, and `load` finds every problem it can before a run starts: regular expressions
compile, custom rules import, SQL rules parse, and the names a run writes into SQL are names.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from governance_pipeline.alerting.config import AlertsConfig
from governance_pipeline.errors import SpecError
from governance_pipeline.spec.identifiers import PIPELINE_COLUMNS, quoted_name_problem
from governance_pipeline.spec.models import (
    BaseSpec,
    JobSpec,
    Level,
    Origin,
    Policy,
    Resolved,
    ResolvedSpec,
    Sla,
)
from governance_pipeline.spec.yaml_lines import Loc, line_of, load_with_lines


def _parse(path: Path, model: type[BaseSpec]) -> tuple[BaseSpec, dict[Loc, int]]:
    data, lines = load_with_lines(path)
    if not isinstance(data, dict):
        raise SpecError("a spec must be a YAML mapping of fields", file=path, line=1)
    try:
        return model.model_validate(data), lines
    except ValidationError as exc:
        errors = exc.errors()
        # A misspelt key shows up twice: as an unknown field and as a missing one. The unknown
        # field is the one to report: it points at the typo and lists the valid names.
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc, parent = _yaml_loc(model, err["loc"])
        field = ".".join(str(p) for p in loc) or None
        if err["type"] == "extra_forbidden":
            valid = ", ".join(parent.model_fields) if parent else "see the docs"
            msg = f"unknown field {loc[-1]!r}; valid fields here: {valid}"
        elif err["type"] == "enum":
            msg = f"{field}={err['input']!r}: {err['msg'].lower()}"
        else:
            msg = err["msg"].removeprefix("Value error, ")
        extra = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise SpecError(msg + extra, file=path, field=field, line=line_of(lines, loc)) from None


def _yaml_loc(
    model: type[BaseModel], loc: tuple[str | int, ...]
) -> tuple[Loc, type[BaseModel] | None]:
    """Pydantic's error `loc` as a path in the YAML, and the model of the mapping holding its
    last key (for listing valid fields).

    Pydantic puts the tag of a discriminated union in `loc` (`check.max_length.max`); the YAML has
    no such key, so tags are dropped, but only where the model has such a union: `max_length` and
    `enum` are also plain field names (`output.summary.max_length`).
    """
    annotation: Any = model
    path: list[str | int] = []
    owner: type[BaseModel] | None = None
    for part in loc:
        variant = _union_variant(annotation, part)
        if variant is not None:  # the union's tag, not a key of the YAML
            annotation = variant
            continue
        path.append(part)
        if get_origin(annotation) in (list, dict):  # a list index or a mapping key
            annotation = get_args(annotation)[-1]
            continue
        owner = _inner_model(annotation)
        field = owner.model_fields.get(part) if owner and isinstance(part, str) else None
        annotation = field.annotation if field is not None else None
    return tuple(path), owner


def _union_variant(annotation: Any, tag: str | int) -> type[BaseModel] | None:
    """The member of a union of models whose `type` is the literal `tag`, if any."""
    if isinstance(annotation, type) or get_origin(annotation) in (list, dict):
        return None
    if annotation is None or not isinstance(tag, str):
        return None
    for member in _models_in(annotation):
        type_field = member.model_fields.get("type")
        if type_field is not None and get_args(type_field.annotation) == (tag,):
            return member
    return None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type):
        return [annotation] if issubclass(annotation, BaseModel) else []
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def load(path: Path | str, user_instructions: list[str] | None = None) -> ResolvedSpec:
    """Load a job spec and everything it extends, and resolve the effective policy set.

    Args:
        path: The job's YAML file.
        user_instructions: User-level instructions for this run (run config or CLI).

    Raises:
        SpecError: naming the file, field and line of the first problem found.
    """
    path = Path(path)
    job, job_lines = _parse(path, JobSpec)
    assert isinstance(job, JobSpec)
    _check_job(job, path, job_lines)
    layers = _layers(path, job, job_lines)
    policies, slas = _resolve(layers, user_instructions or [])
    _check_rule_fields(job, path, job_lines, policies)
    resolved = [policies[k] for k in policies]
    alerts = next((spec.alerts for _, spec, _ in reversed(layers) if spec.alerts is not None), None)
    return ResolvedSpec(
        job=job,
        alerts=alerts or AlertsConfig(),
        path=str(path),
        policies=resolved,
        slas=list(slas.values()),
        spec_hash=spec_hash(job, resolved, list(slas.values())),
        output_hash=output_hash(job, resolved),
    )


def check_base(path: Path | str) -> BaseSpec:
    """Load a base spec (platform.yaml, a team spec) and what it extends, as a job would.

    Raises:
        SpecError: naming the file, field and line of the first problem found.
    """
    path = Path(path)
    base, lines = _parse(path, BaseSpec)
    _resolve(_layers(path, base, lines), [])
    return base


def _layers(
    path: Path, spec: BaseSpec, lines: dict[Loc, int]
) -> list[tuple[Path, BaseSpec, dict[Loc, int]]]:
    """The spec and everything it extends, bases first; `extends` stays inside its folder."""
    resolved = path.resolve()
    bases = _bases(path, spec.extends, (resolved,), lines, resolved.parent)
    return [*bases, (path, spec, lines)]


def _resolve(
    layers: list[tuple[Path, BaseSpec, dict[Loc, int]]], user_instructions: list[str]
) -> tuple[dict[str, Resolved[Policy]], dict[str, Resolved[Sla]]]:
    """The effective policies and SLAs of the layers, by the chain of command."""
    policies: dict[str, Resolved[Policy]] = {}
    slas: dict[str, Resolved[Sla]] = {}
    for file, spec, lines in layers:
        _check_unique_ids(file, lines, "policies", [p.id for p in spec.policies])
        _check_unique_ids(file, lines, "slas", [s.id for s in spec.slas])
        for i, policy in enumerate(spec.policies):
            origin = Origin(file=str(file), line=line_of(lines, ("policies", i)))
            _merge(policies, policy, origin, "policies")
        for i, sla in enumerate(spec.slas):
            _merge(slas, sla, Origin(file=str(file), line=line_of(lines, ("slas", i))), "slas")
    for i, text in enumerate(user_instructions, start=1):
        policy = user_policy(i, text)
        if not policy.id.startswith("user.") and policy.id not in policies:
            overridable = [
                k
                for k, rp in policies.items()
                if rp.item.level is Level.GUIDELINE
                or (rp.item.level is Level.DEVELOPER and rp.item.overridable)
            ]
            raise SpecError(
                f"instruction {policy.id}=... names no policy of this job, so it would add a new "
                f"one instead of overriding; ids a run may override: {', '.join(overridable)} "
                "(plain text without `ID=` adds a user instruction)",
                file="<run>",
                field=f"instruction.{policy.id}",
            )
        _merge(policies, policy, Origin(file="<run>", line=None), "policies")
    return policies, slas


def user_policy(index: int, text: str) -> Policy:
    """A user-level instruction of a run. `ID=TEXT` overrides the policy ID (when it allows it);
    plain text becomes a new policy `user.<index>`."""
    match = re.fullmatch(r"([a-z][a-z0-9_.-]*)=(.+)", text.strip(), flags=re.DOTALL)
    policy_id, body = (match[1], match[2].strip()) if match else (f"user.{index}", text.strip())
    return Policy(id=policy_id, level=Level.USER, description=body, instruction=body)


def _check_unique_ids(file: Path, lines: dict[Loc, int], kind: str, ids: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, item_id in enumerate(ids):
        if item_id in seen:
            first = line_of(lines, (kind, seen[item_id]))
            raise SpecError(
                f"duplicate id {item_id!r}: already declared at line {first} of this file; "
                "ids must be unique within a file (to change an inherited rule, declare it in "
                "the file that extends this one)",
                file=file,
                field=f"{kind}.{i}.id",
                line=line_of(lines, (kind, i, "id")),
            )
        seen[item_id] = i


def _bases(
    path: Path, extends: list[str], chain: tuple[Path, ...], lines: dict[Loc, int], root: Path
) -> list[tuple[Path, BaseSpec, dict[Loc, int]]]:
    layers: list[tuple[Path, BaseSpec, dict[Loc, int]]] = []
    for name in extends:
        base_path = (path.parent / name).resolve()
        if not base_path.is_relative_to(root):
            raise SpecError(
                f"extends names {name!r}, which is outside the spec folder {root}; a base spec "
                "must be in that folder or below it: copy it there",
                file=path,
                field="extends",
                line=line_of(lines, ("extends",)),
            )
        if base_path in chain:
            cycle = " -> ".join(p.name for p in (*chain, base_path))
            raise SpecError(
                f"circular extends: {cycle}",
                file=path,
                field="extends",
                line=line_of(lines, ("extends",)),
            )
        if not base_path.exists():
            raise SpecError(
                f"extends names {name!r}, which does not exist",
                file=path,
                field="extends",
                line=line_of(lines, ("extends",)),
            )
        base, base_lines = _parse(base_path, BaseSpec)
        layers += _bases(base_path, base.extends, (*chain, base_path), base_lines, root)
        layers.append((base_path, base, base_lines))
    return layers


def _merge(held: dict[str, Resolved[Any]], item: Policy | Sla, origin: Origin, kind: str) -> None:
    """Add a policy or SLA to the effective set, applying the chain of command to a clash of ids."""
    previous = held.get(item.id)
    if previous is None:
        held[item.id] = Resolved(item=item, origin=origin)
        return
    old = previous.item
    may_override = old.level is Level.GUIDELINE or (
        isinstance(old, Policy)
        and old.level is Level.DEVELOPER
        and old.overridable
        and item.level is Level.USER
    )
    if not may_override:
        why = (
            "platform rules cannot be overridden"
            if old.level is Level.PLATFORM
            else f"a {old.level.value} rule can be overridden only by a user-level one "
            "when it says `overridable: true`"
        )
        raise SpecError(
            f"{item.id!r} ({item.level.value}) clashes with the one at {previous.origin} "
            f"({old.level.value}): {why}",
            file=origin.file,
            field=f"{kind}.{item.id}",
            line=origin.line,
        )
    held[item.id] = Resolved(item=item, origin=origin, overrides=previous.origin)


def _check_job(job: JobSpec, path: Path, lines: dict[Loc, int]) -> None:
    columns = set(job.source.columns)
    refs: list[tuple[Loc, str]] = [
        *((("model", "prompt_columns"), c) for c in job.model.prompt_columns),
        *((("redaction", "columns"), c) for c in job.redaction.columns),
        *((("redaction", "known_values"), c) for c in job.redaction.known_values),
    ]
    for loc, column in refs:
        if column not in columns:
            raise SpecError(
                f"{column!r} is not a source column; valid: {', '.join(sorted(columns))}",
                file=path,
                field=".".join(map(str, loc)),
                line=line_of(lines, loc),
            )
    for name in job.source.columns:
        if problem := quoted_name_problem(name):
            loc = ("source", "columns", name)
            raise SpecError(
                f"source column {problem}; rename it",
                file=path,
                field=".".join(loc),
                line=line_of(lines, loc),
            )
    _check_partitions(job, path, lines)
    _check_output_names(job, path, lines)


def _check_partitions(job: JobSpec, path: Path, lines: dict[Loc, int]) -> None:
    """A partitioned job's column is a declared timestamp column of its source."""
    if job.partitions is None:
        return
    name, columns = job.partitions.column, job.source.columns
    loc: Loc = ("partitions", "column")
    column = columns.get(name)
    if column is None or column.type != "timestamp":
        timestamps = [c for c, col in columns.items() if col.type == "timestamp"]
        problem = (
            f"partitions.column={name!r} is not a source column"
            if column is None
            else f"partitions.column={name!r} is declared type {column.type!r}, not timestamp"
        )
        raise SpecError(
            f"{problem}; a partition needs a source column of type timestamp: "
            + (", ".join(timestamps) if timestamps else "declare one in source.columns"),
            file=path,
            field="partitions.column",
            line=line_of(lines, loc),
        )


def _check_output_names(job: JobSpec, path: Path, lines: dict[Loc, int]) -> None:
    """Output fields become columns beside the key and the pipeline's own columns; DuckDB's
    names are case-insensitive, so `Summary` and `summary` are one column."""
    taken = {c: "a column the pipeline adds" for c in PIPELINE_COLUMNS}
    taken[job.source.key.lower()] = "the source key, also a column of the outputs"
    for name in job.output:
        problem = quoted_name_problem(name)
        if problem is None and name.lower() in taken:
            problem = f"{name!r} is {taken[name.lower()]}"
        if problem is not None:
            raise SpecError(
                f"output field {problem}; rename the field",
                file=path,
                field=f"output.{name}",
                line=line_of(lines, ("output", name)),
            )
        taken[name.lower()] = "already an output field, in another case"


def _check_rule_fields(
    job: JobSpec, path: Path, lines: dict[Loc, int], policies: dict[str, Resolved[Policy]]
) -> None:
    for rp in policies.values():
        rule = rp.item.check
        if rule is None:
            continue
        for name in rule.fields():
            if name not in job.output:
                raise SpecError(
                    f"policy {rp.item.id!r} checks output field {name!r}, which the job's "
                    f"output does not have; valid: {', '.join(job.output)}",
                    file=rp.origin.file,
                    field=f"policies.{rp.item.id}.check",
                    line=rp.origin.line,
                )


def spec_hash(job: JobSpec, policies: list[Resolved[Policy]], slas: list[Resolved[Sla]]) -> str:
    """Content hash of what a run enforces: comments, order of keys and file paths do not count."""
    content = {
        # where alerts go and where the spec came from do not change what a run enforces
        "job": job.model_dump(mode="json", exclude={"extends", "alerts"}),
        "policies": [rp.item.model_dump(mode="json") for rp in policies],
        "slas": [rs.item.model_dump(mode="json") for rs in slas],
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


_NOT_OUTPUTS: dict[str, Any] = {
    # what neither the rows a model sees nor the verdicts on its answers depend on
    "extends": True,
    "alerts": True,
    "slas": True,
    "policies": True,  # the resolved ones count, below
    "schedule": True,
    "partitions": True,  # which run takes a row, not what the row gets
    "budget": True,
    "name": True,
    "description": True,
    "owner": True,
    "source": {
        "min_rows": True,  # batch-level rules stop a run; they do not judge a row
        "allow_new_columns": True,
        "columns": {"__all__": {"description", "max_age_hours"}},
    },
    "model": {
        "concurrency",
        "timeout_s",
        "max_retries",
        "backoff_s",
        "requests_per_minute",
        "tokens_per_minute",
        "batch",
    },
}


def output_hash(job: JobSpec, policies: list[Resolved[Policy]]) -> str:
    """Content hash of what a row's outcome depends on: the spec without its SLAs, schedule,
    budget, alerts, pacing and descriptive fields (a row settled under one output hash and
    model is not processed again; see `inputs.scope`). Where in doubt a field counts: a row
    done again costs a cache hit, a row wrongly left alone keeps a stale verdict."""
    content = {
        "job": job.model_dump(mode="json", exclude=_NOT_OUTPUTS),
        "policies": [rp.item.model_dump(mode="json", exclude={"description"}) for rp in policies],
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
