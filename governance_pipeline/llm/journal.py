"""The call journal: every paid answer in a file the moment it arrives, until DuckDB holds it.

`CallLog` writes to DuckDB by group commit, one commit per 0.1 s under load, because a commit
costs more than a call's share of the stage. Without the journal an answer that arrived since
the last commit lived only in memory, and a kill -9 had the rerun pay for it again. Now:

    <db>.journal/<job>-<run>-<segment>.jsonl    one line per answer, at rest (no raw PII)

* append: one unbuffered `write` per answer, on the event loop, before the answer goes into
  the commit buffer and before its call's slot goes to the next request (a few microseconds).
  From then on it survives the process: a kill -9, an OOM kill or a crash leaves it in the
  kernel, and so in the file.
* sync: while the stage runs, a thread fsyncs the journal in small groups: at most every
  `sync_s` (25 ms), each fsync covering every answer written before it, so a crash of the
  machine itself loses at most the answers of the last 25 ms and of the fsync under way (the
  commit interval is 0.1 s).
  An fsync per answer would cost more than the answers: 1.5 to 4 ms of waiting each on this
  project's disks, at a few hundred answers a second; every 10 ms cost the stage 3% of its
  CPU, every 25 ms 2%.
* fold: the commit writer starts a new segment when it takes a batch, so a segment holds
  exactly the answers of one commit, and deletes it once they are in the store. Segments a
  dead process left are folded into `governance.llm_cache` at the start of the next LLM stage
  (`call_log.recover`) and deleted, so the rerun finds their answers and pays for none.

A live segment is held under an exclusive `flock` until it is deleted; folding skips locked
files, so no stage folds (and deletes) a journal another process or connection is writing.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

__all__ = ["Journal", "Segment", "orphans"]

_sync_data = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync
_UNSAFE = re.compile(r"[^\w.-]")


class Segment:
    """One journal file, created and locked on the first answer of a commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        self.lock = threading.Lock()  # between the syncer's fsync and the writer's delete
        self.dirty = False
        self.listed = False  # its directory entry is synced

    def sync(self) -> bool:
        """Fsync what was written; True when the directory must be synced too (a new file)."""
        with self.lock:
            if self.fd < 0 or not self.dirty:
                return False
            self.dirty = False  # an append during the fsync sets it again
            _sync_data(self.fd)
            listed, self.listed = self.listed, True
            return not listed

    def close(self, *, delete: bool) -> None:
        """Close the file; with `delete`, remove it first (while still holding its lock)."""
        with self.lock:
            if self.fd < 0:
                return
            if delete:
                with suppress(FileNotFoundError):
                    self.path.unlink()
            os.close(self.fd)
            self.fd = -1


class Journal:
    """The journal of one `CallLog`: segments named for its job and run in `directory`.

    `append` and `take` run on the event loop; `delete` on the commit's worker thread, `sync`
    on the syncer's (while `syncing`).
    """

    def __init__(self, directory: Path, name: str, sync_s: float = 0.025) -> None:
        self.directory = directory
        self.name = _UNSAFE.sub("_", name)
        self.sync_s = sync_s
        self._current: Segment | None = None
        self._live: list[Segment] = []  # written and not yet deleted: the current and taken
        self._lock = threading.Lock()
        self._unsynced = threading.Event()
        self._stop = threading.Event()
        self._error: OSError | None = None

    def append(self, record: dict[str, Any]) -> None:
        """Write one answer to the current segment, unbuffered (in the kernel on return)."""
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        segment = self._current or self._start()
        view = memoryview(line)
        while view:
            view = view[os.write(segment.fd, view) :]
        segment.dirty = True
        self._unsynced.set()

    @contextmanager
    def syncing(self) -> Iterator[None]:
        """Fsync in the background while the block runs, and once more at its end.

        Raises:
            OSError: an fsync failed (the disk under the store is failing).
        """
        self._stop.clear()
        self._error = None
        thread = threading.Thread(target=self._sync_loop, name=f"journal {self.name}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            self._unsynced.set()
            thread.join()
            if self._error is not None:
                raise self._error
            self.sync()

    def _sync_loop(self) -> None:
        try:
            while True:
                self._unsynced.wait()
                if self._stop.wait(self.sync_s):  # gather what arrives: one fsync for all
                    return
                self._unsynced.clear()  # an append during the fsync sets it: synced next round
                if self._stop.is_set():  # the stop's wake-up may be the flag just cleared
                    return
                self.sync()
        except OSError as exc:
            self._error = exc

    def take(self) -> Segment | None:
        """The current segment, for the commit that writes its answers; appends go to a new one."""
        segment, self._current = self._current, None
        return segment

    def sync(self) -> None:
        """Fsync every segment with unsynced answers (and the directory, for new ones)."""
        with self._lock:
            live = list(self._live)
        if any([segment.sync() for segment in live]):
            fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def delete(self, segment: Segment | None) -> None:
        """Remove a segment whose answers the store now holds."""
        if segment is not None:
            segment.close(delete=True)
            with self._lock:
                self._live.remove(segment)

    def release(self) -> None:
        """Close every segment still open, keeping the files: answers no commit wrote are
        folded by the next stage."""
        self._current = None
        try:
            self.sync()
        finally:
            with self._lock:
                live, self._live = self._live, []
            for segment in live:
                segment.close(delete=False)

    def _start(self) -> Segment:
        self.directory.mkdir(parents=True, exist_ok=True)
        segment = Segment(self.directory / f"{self.name}-{uuid.uuid4().hex[:12]}.jsonl")
        with self._lock:
            self._live.append(segment)
        self._current = segment
        return segment


@contextmanager
def orphans(directory: Path) -> Iterator[list[dict[str, Any]]]:
    """The answers in the segments of `directory` that no one holds (a dead process's); the
    segments are deleted when the block ends without an error.

    A line that does not parse (the last one, torn by a crash of the machine) is skipped.
    """
    held: list[tuple[Path, int]] = []
    records: list[dict[str, Any]] = []
    try:
        for path in sorted(directory.glob("*.jsonl")) if directory.is_dir() else []:
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # live: its writer deletes it after its commit
                os.close(fd)
                continue
            held.append((path, fd))
            with open(fd, "rb", closefd=False) as file:
                for line in file:
                    with suppress(ValueError):
                        records.append(json.loads(line))
        yield records
        for path, _ in held:
            path.unlink(missing_ok=True)
    finally:
        for _, fd in held:
            os.close(fd)
