"""The error tree: one root, and every error survives pickling.

Errors cross process boundaries: the model-input stage runs its chunks in worker processes,
and an error raised there reaches the run only as a pickle. Exception's own pickling replays
`cls(*args)`, which breaks for any constructor with another required or keyword-only
parameter (`SpecError(message, file=...)` raised `TypeError` on the way back, hiding the real
error). So every class under `GovernanceError`, found by walking its subclasses after importing
every module of the package, is built with a value for each constructor parameter and must come
back with the same type, message, args and attributes: a new error class is covered the day it
is written.
"""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil
import types
import typing
from pathlib import Path

import pytest

import governance_pipeline
from governance_pipeline.errors import GovernanceError, SpecError

SAMPLES: dict[object, object] = {
    str: "sample text",
    int: 7,
    bool: True,
    float: 1.5,
    Path: Path("specs/support_triage.yaml"),
}
"""A value per annotated type, for the constructor parameters of an error."""

OUTSIDE_THE_TREE = {
    "governance_pipeline.llm.retry.AnswerError": "a 200 without a usable answer: a ValueError "
    "that ends one call as `failed` (retry.CallFailure), never the run",
}
"""Exceptions of the package deliberately not under GovernanceError, each with its reason."""


def _import_every_module() -> list[types.ModuleType]:
    modules = [governance_pipeline]
    for info in pkgutil.walk_packages(governance_pipeline.__path__, "governance_pipeline."):
        modules.append(importlib.import_module(info.name))
    return modules


def _subclasses(cls: type[GovernanceError]) -> list[type[GovernanceError]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


_import_every_module()
ERRORS = sorted(set(_subclasses(GovernanceError)) | {GovernanceError}, key=lambda c: c.__name__)


def _sample(annotation: object, where: str) -> object:
    if annotation in SAMPLES:
        return SAMPLES[annotation]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        for member in typing.get_args(annotation):
            if member in SAMPLES:
                return SAMPLES[member]
    raise AssertionError(f"no sample value for {annotation!r} ({where}): add one to SAMPLES")


def build(cls: type[GovernanceError]) -> GovernanceError:
    """An instance of `cls` with a value for every constructor parameter, defaults included."""
    if cls.__init__ is BaseException.__init__:
        return cls("sample text")
    hints = typing.get_type_hints(cls.__init__)
    args: list[object] = []
    kwargs: dict[str, object] = {}
    for name, param in list(inspect.signature(cls.__init__).parameters.items())[1:]:
        value = _sample(hints.get(name, str), f"{cls.__name__}.__init__({name})")
        if param.kind is inspect.Parameter.KEYWORD_ONLY:
            kwargs[name] = value
        else:
            args.append(value)
    return cls(*args, **kwargs)


def test_the_walk_finds_the_whole_tree() -> None:
    names = {cls.__name__ for cls in ERRORS}
    assert {"SpecError", "StoreError", "DeliveryError", "SinkNotConfiguredError"} <= names


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_every_error_round_trips_through_pickle(cls: type[GovernanceError]) -> None:
    error = build(cls)
    error.add_note("a note added on the way")

    back = pickle.loads(pickle.dumps(error))

    assert type(back) is cls
    assert str(back) == str(error)
    assert back.args == error.args
    assert vars(back) == vars(error)


def test_a_spec_error_keeps_where_it_points() -> None:
    error = SpecError("unknown field 'x'", file="specs/a.yaml", field="job.x", line=4)

    back = pickle.loads(pickle.dumps(error))

    assert str(back) == "specs/a.yaml:4 (job.x): unknown field 'x'"
    assert (back.file, back.field, back.line, back.detail) == (
        Path("specs/a.yaml"),
        "job.x",
        4,
        "unknown field 'x'",
    )


def test_every_exception_of_the_package_is_in_the_tree_or_says_why_not() -> None:
    outside = {
        f"{obj.__module__}.{obj.__qualname__}"
        for module in _import_every_module()
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, BaseException)
        and obj.__module__ == module.__name__
        and not issubclass(obj, GovernanceError)
        and not any(issubclass(obj, base) for base in _classes(OUTSIDE_THE_TREE))
    }
    assert not outside, f"put these under GovernanceError (errors.py): {sorted(outside)}"


def _classes(names: dict[str, str]) -> list[type]:
    classes = []
    for dotted in names:
        module, _, name = dotted.rpartition(".")
        classes.append(getattr(importlib.import_module(module), name))
    return classes
