"""YAML loading that remembers where each value came from, so errors can point at file:line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from governance_pipeline.errors import SpecError

Loc = tuple[str | int, ...]


def load_with_lines(path: Path) -> tuple[Any, dict[Loc, int]]:
    """Parse a YAML file; return its data and a map from each key path to its 1-based line.

    Raises:
        SpecError: the file is missing, unreadable, or not valid YAML.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("file not found", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read the file: {exc}", file=path) from None
    loader = None
    try:  # one parse: the node tree gives the lines, and the data is constructed from it
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"invalid YAML: {problem}", file=path, line=line) from None
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[Loc, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return data, lines


def line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    """The line of `loc`, or of its nearest ancestor that has one."""
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def _walk(
    node: yaml.Node, loc: Loc, lines: dict[Loc, int], on_path: frozenset[int] = frozenset()
) -> None:
    """Record lines of every key path; an alias that contains itself is walked only once."""
    lines.setdefault(loc, node.start_mark.line + 1)
    if id(node) in on_path:
        return
    on_path = on_path | {id(node)}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*loc, key.value)
            lines[child] = key.start_mark.line + 1
            _walk(value, child, lines, on_path)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*loc, index), lines, on_path)
