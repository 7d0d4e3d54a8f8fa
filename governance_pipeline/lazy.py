"""Lazy re-exports for package `__init__` files (PEP 562), so importing a package costs only
what its caller uses: `govern --help` loads no pandas, DuckDB, Great Expectations or Dagster."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def exports(
    package: str, names: Mapping[str, str], modules: Mapping[str, str] | None = None
) -> Callable[[str], Any]:
    """A module `__getattr__` that loads `names` (name -> module holding it) and `modules`
    (name -> module itself) on first use, and caches them in the package's namespace."""
    submodules = dict(modules or {})

    def __getattr__(name: str) -> Any:
        if name in submodules:
            value: Any = importlib.import_module(submodules[name])
        elif name in names:
            value = getattr(importlib.import_module(names[name]), name)
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(importlib.import_module(package), name, value)
        return value

    return __getattr__
