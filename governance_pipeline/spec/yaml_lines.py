"""YAML loading that remembers where each value came from, so errors can point at file:line.

A spec file is written by people but read by every command, so reading one must stay cheap
whatever it holds. Three bounds keep it so, each a `SpecError` naming the file and line:

* size: a file of more than `MAX_FILE_BYTES` is refused before it is parsed;
* nesting: a node deeper than `MAX_DEPTH` is refused while the file is composed (PyYAML's
  composer recurses, so 20,000 `[` would otherwise end in a `RecursionError`);
* aliases: at most `MAX_ALIASES` of them, and the document they expand to may hold at most
  `MAX_EXPANDED` nodes and scalar characters, measured on the node graph without expanding
  it (a "billion laughs" file is a few hundred bytes that expand to gigabytes). An alias of
  a node inside itself is refused too.

A mapping that repeats a key is an error naming both lines: YAML would silently keep the last.
`top_level_keys` reads only the parser's events, for finding out what a file is (a job, a
base spec) without composing it at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from governance_pipeline.errors import SpecError

Loc = tuple[str | int, ...]

MAX_FILE_BYTES = 1 << 20
"""Largest spec file read (1 MiB): specs are a few kilobytes; worked examples fit many times."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and sequences, aliases expanded (the real specs need 8)."""
MAX_ALIASES = 1_000
"""Most aliases (`*name`) in one file."""
MAX_EXPANDED = 2 * MAX_FILE_BYTES
"""Most nodes plus scalar characters of a document with its aliases expanded: twice what the
largest file could hold written out."""

_MERGE_TAG = "tag:yaml.org,2002:merge"


def load_with_lines(path: Path) -> tuple[Any, dict[Loc, int]]:
    """Parse a YAML file; return its data and a map from each key path to its 1-based line.

    Raises:
        SpecError: the file is missing, unreadable, too big, not valid YAML, nested too deep,
            expands its aliases too far, or repeats a key in a mapping.
    """
    text = _read(path)
    loader = None
    try:  # one parse: the node tree gives the lines, and the data is constructed from it
        loader = _BoundedLoader(text, path)  # the reader checks the characters here
        node = loader.get_single_node()
        if node is not None:
            _measure(node, (), 1, _Measure(path))
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path) from None
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[Loc, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return data, lines


def top_level_keys(path: Path) -> dict[str, tuple[str | None, int]]:
    """The keys of a file's top-level mapping, each with its value when that is a scalar (None
    otherwise) and its line. Read from the parser's events: nothing is composed or expanded.

    Raises:
        SpecError: the file is missing, unreadable, too big or not valid YAML; it is empty, holds
            several documents, or its document is not a mapping.
    """
    text = _read(path)
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        loader.get_event()  # the stream's start
        if loader.check_event(yaml.StreamEndEvent):
            raise _not_a_mapping(path, "the file is empty", 1)
        loader.get_event()  # the document's start
        start = loader.get_event()
        line = _line(start)
        if isinstance(start, yaml.ScalarEvent):
            empty = start.value == "" or start.value in ("null", "~", "Null", "NULL")
            what = "its document is empty" if empty else "the file holds a single value"
            raise _not_a_mapping(path, what, line)
        if not isinstance(start, yaml.MappingStartEvent):
            raise _not_a_mapping(path, "the file holds a sequence", line)
        keys: dict[str, tuple[str | None, int]] = {}
        while not loader.check_event(yaml.MappingEndEvent):
            key = loader.peek_event()
            _skip_node(loader, path)
            value = loader.peek_event()
            _skip_node(loader, path)
            if isinstance(key, yaml.ScalarEvent):
                scalar = value.value if isinstance(value, yaml.ScalarEvent) else None
                keys.setdefault(key.value, (scalar, _line(key)))
        loader.get_event()  # the mapping's end
        loader.get_event()  # the document's end
        if not loader.check_event(yaml.StreamEndEvent):
            second = _line(loader.peek_event())
            raise SpecError(
                f"a second YAML document starts at line {second}; a spec file holds one: "
                "remove the `---` or split the file",
                file=path,
                line=second,
            )
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path) from None
    finally:
        if loader is not None:
            loader.dispose()
    return keys


def line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    """The line of `loc`, or of its nearest ancestor that has one."""
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def _read(path: Path) -> str:
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise SpecError("file not found", file=path) from None
    except OSError as exc:
        raise SpecError(f"cannot read the file: {exc}", file=path) from None
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError(
            f"the file is larger than {MAX_FILE_BYTES:,} bytes (1 MiB), the most a spec file "
            "may be: split it, or move bulky data (worked examples) into a smaller file",
            file=path,
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"cannot read the file: {exc}", file=path) from None


def _yaml_error(exc: yaml.YAMLError, path: Path) -> SpecError:
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc)
    return SpecError(f"invalid YAML: {problem}", file=path, line=line)


def _line(event: yaml.Event) -> int:
    """1-based line where a parser event starts; 0 (no line) for an event without a mark, which
    the parser never makes."""
    mark = event.start_mark
    return mark.line + 1 if mark is not None else 0


def _not_a_mapping(path: Path, what: str, line: int) -> SpecError:
    return SpecError(
        f"{what}; a spec must be a YAML mapping of fields (a job spec has "
        "`job:`, a base spec such as platform.yaml has `name:`): fill it in or delete it",
        file=path,
        line=line,
    )


def _skip_node(loader: yaml.SafeLoader, path: Path) -> None:
    """Consume the events of one node of the top-level mapping without composing it."""
    depth = 0
    while True:
        event = loader.get_event()
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth >= MAX_DEPTH:  # below the top-level mapping; also keeps the scanner linear
                raise _too_deep(path, _line(event))
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        if depth == 0:
            return


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader, refusing deep nesting and many aliases while it composes."""

    def __init__(self, text: str, path: Path) -> None:
        super().__init__(text)
        self._path = path
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        line = _line(self.peek_event())
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise SpecError(
                    f"more than {MAX_ALIASES:,} aliases (*name); write the values out instead",
                    file=self._path,
                    line=line,
                )
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _too_deep(self._path, line)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _too_deep(path: Path, line: int) -> SpecError:
    return SpecError(
        f"nested deeper than {MAX_DEPTH} levels (aliases expanded); a spec needs far fewer: "
        "flatten the structure",
        file=path,
        line=line,
    )


@dataclass
class _Measure:
    """What `_measure` knows: each node's expanded size and height, and the nodes on the path."""

    path: Path
    known: dict[int, tuple[int, int]] = field(default_factory=dict)
    on_path: set[int] = field(default_factory=set)


def _measure(node: yaml.Node, loc: Loc, depth: int, state: _Measure) -> tuple[int, int]:
    """Size (nodes plus scalar characters) and height of `node` with its aliases expanded.

    Each node is measured once (an alias is the node it names), so a document that would
    expand to gigabytes is measured in the time it takes to read it. Also refuses repeated
    keys, and an alias of a node inside itself.
    """
    line = node.start_mark.line + 1
    known = state.known.get(id(node))
    if known is None:
        if id(node) in state.on_path:
            raise SpecError(
                "an alias refers to the node that contains it, which would make the spec "
                "infinite: write the value out",
                file=state.path,
                line=line,
            )
        if depth > MAX_DEPTH:
            raise _too_deep(state.path, line)
        state.on_path.add(id(node))
        known = _measure_children(node, loc, depth, state)
        state.on_path.discard(id(node))
        state.known[id(node)] = known
    size, height = known
    if depth + height - 1 > MAX_DEPTH:
        raise _too_deep(state.path, line)
    if size > MAX_EXPANDED:
        raise SpecError(
            f"its aliases (*name) expand to more than {MAX_EXPANDED:,} values and characters "
            "(a YAML bomb?); a spec needs far fewer: write the values out",
            file=state.path,
            line=line,
        )
    return known


def _measure_children(node: yaml.Node, loc: Loc, depth: int, state: _Measure) -> tuple[int, int]:
    if isinstance(node, yaml.ScalarNode):
        return 1 + len(node.value), 1
    children: list[tuple[yaml.Node, Loc]] = []
    if isinstance(node, yaml.SequenceNode):
        children = [(item, (*loc, i)) for i, item in enumerate(node.value)]
    elif isinstance(node, yaml.MappingNode):
        _check_unique_keys(node, loc, state.path)
        for key, value in node.value:
            children.append((key, loc))
            children.append((value, (*loc, key.value) if isinstance(key.value, str) else loc))
    size, height = 1, 1
    for child, child_loc in children:
        child_size, child_height = _measure(child, child_loc, depth + 1, state)
        size += child_size
        height = max(height, child_height + 1)
        if size > MAX_EXPANDED:
            break  # the caller reports it
    return size, height


def _check_unique_keys(node: yaml.MappingNode, loc: Loc, path: Path) -> None:
    seen: dict[tuple[str, str], int] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE_TAG:
            continue
        line = key.start_mark.line + 1
        first = seen.get((key.tag, key.value))
        if first is not None:
            raise SpecError(
                f"duplicate key {key.value!r}: already at line {first}; YAML would keep only the "
                "last one, silently: remove or rename one of them",
                file=path,
                field=".".join(map(str, (*loc, key.value))),
                line=line,
            )
        seen[(key.tag, key.value)] = line


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    """Record lines of every key path (`_measure` has bounded the expanded tree)."""
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*loc, key.value)
            lines[child] = key.start_mark.line + 1
            _walk(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*loc, index), lines)
