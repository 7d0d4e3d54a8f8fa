"""A terminal progress display that follows the run's progress records: one status line per
stage as it starts, and a live bar for the LLM stage (rows, rate, ETA, calls, cache hits).

Dagster captures a step's output by redirecting its file descriptors, so a console writing to
`sys.stdout` during the run writes into the capture, not to the terminal. When standard output
is a terminal, the display writes to a duplicate of its descriptor made before the run starts,
which the capture does not touch; Dagster's captured logs stay as they are for the UI.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

PROGRESS_LOGGER = "governance_pipeline.progress"
"""Records with `done` and `total` move the bar (plus `calls` and `cached`); a record with
`stage` prints its status line."""


class _RateColumn(ProgressColumn):
    """Rows a second, once Rich has measured a speed."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:.1f} rows/s" if task.speed else "", style="progress.data.speed")


class _BarHandler(logging.Handler):
    def __init__(self, progress: Progress) -> None:
        super().__init__(logging.DEBUG)
        self.progress = progress
        self.task: TaskID | None = None

    def emit(self, record: logging.LogRecord) -> None:
        stage = getattr(record, "stage", None)
        if stage is not None:
            self.progress.console.print(f"[dim]…[/dim] {stage}", highlight=False)
            return
        done, total = getattr(record, "done", None), getattr(record, "total", None)
        if done is None or total is None:
            return
        calls, cached = getattr(record, "calls", 0), getattr(record, "cached", 0)
        if self.task is None:
            self.task = self.progress.add_task(
                "rows through the model", total=total, calls=calls, cached=cached
            )
        self.progress.update(self.task, completed=done, total=total, calls=calls, cached=cached)


@contextmanager
def _terminal(console: Console) -> Iterator[Console]:
    """A console on a duplicate of the terminal's descriptor, when `console` writes to one."""
    stream: IO[str] | None = None
    try:
        if console.file is sys.stdout and sys.stdout.isatty():
            stream = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    except (OSError, ValueError):  # no real descriptor (a test runner's stand-in)
        stream = None
    if stream is None:
        yield console
        return
    try:
        yield Console(file=stream, width=console.width)
    finally:
        stream.close()


@contextmanager
def progress_bar(console: Console) -> Iterator[None]:
    """Show the stages' status lines and the LLM stage's bar while the block runs."""
    logger = logging.getLogger(PROGRESS_LOGGER)
    with (
        _terminal(console) as shown,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("calls {task.fields[calls]}, cache hits {task.fields[cached]}"),
            TimeElapsedColumn(),
            console=shown,
            transient=False,
        ) as progress,
    ):
        handler = _BarHandler(progress)
        logger.addHandler(handler)
        previous = logger.level
        logger.setLevel(logging.DEBUG)
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(previous)
