"""A terminal progress bar that follows the LLM stage's progress records."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

PROGRESS_LOGGER = "governance_pipeline.progress"


class _BarHandler(logging.Handler):
    def __init__(self, progress: Progress) -> None:
        super().__init__(logging.DEBUG)
        self.progress = progress
        self.task: TaskID | None = None

    def emit(self, record: logging.LogRecord) -> None:
        done, total = getattr(record, "done", None), getattr(record, "total", None)
        if done is None or total is None:
            return
        if self.task is None:
            self.task = self.progress.add_task("rows through the model", total=total)
        self.progress.update(self.task, completed=done, total=total)


@contextmanager
def progress_bar(console: Console) -> Iterator[None]:
    """Show a bar for rows through the LLM stage while the block runs (a spinner before)."""
    logger = logging.getLogger(PROGRESS_LOGGER)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        handler = _BarHandler(progress)
        logger.addHandler(handler)
        previous = logger.level
        logger.setLevel(logging.DEBUG)
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(previous)
