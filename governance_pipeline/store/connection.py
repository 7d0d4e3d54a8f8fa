"""Connections to the DuckDB file: short, and waiting their turn.

DuckDB lets one process at a time open a file to write, and no other process read it
meanwhile. So the store is opened for one short piece of work and closed again: a stage opens
it to read its inputs and to write its results, the LLM stage once per group commit (its call
journal keeps the answers that arrive in between), and the alert sensor, `govern report`,
`govern ui` and `duckdb -readonly data/store.duckdb` get their turn while a run is calling the
model.

    connect     open the file, waiting while another process or thread holds it (up to
                `$GOVERNANCE_STORE_WAIT_S`, 600 s), then say which process holds it
    opener      `connect` bound to a file: what a stage that opens the store per write takes

In a process, each file has one in-memory DuckDB that attaches it while a connection is open
and detaches it (a checkpoint, then the lock is released) when the last one closes: attaching
costs a few milliseconds where a fresh DuckDB costs tens. DuckDB allows one attachment of a
file per process, so the process's threads take turns on a lock; a connection opened inside
another on the same thread shares its attachment.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import duckdb

from governance_pipeline.errors import StoreError
from governance_pipeline.store.ddl import GOVERNANCE_DDL

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]
"""Opens the store for one short piece of work: `opener(path)`, a resource's `connect`, or, in
a test that holds a connection already, `lambda: nullcontext(con)`."""

POLL_S = 0.1
"""Between two attempts to attach a file another process holds."""


def opener(path: Path | str, **options: Any) -> Connect:
    """`connect` bound to a file (and options such as `read_only`)."""
    return functools.partial(connect, path, **options)


class _Host:
    """The in-memory DuckDB of one store file in this process, and whose turn it is."""

    def __init__(self) -> None:
        self.db: duckdb.DuckDBPyConnection | None = None
        self.lock = threading.RLock()
        self.depth = 0
        self.read_only = False


_HOSTS: dict[str, _Host] = {}
_HOSTS_LOCK = threading.Lock()


def _forget_hosts() -> None:
    """In a forked child: the parent's DuckDB and locks are not the child's to use."""
    global _HOSTS_LOCK
    _HOSTS.clear()
    _HOSTS_LOCK = threading.Lock()


def _close_hosts() -> None:
    """At exit: close the in-memory databases (their files are detached already)."""
    for host in list(_HOSTS.values()):
        if host.db is not None and host.lock.acquire(blocking=False):
            host.db.close()
            host.db = None


os.register_at_fork(after_in_child=_forget_hosts)
atexit.register(_close_hosts)


def _host(path: Path) -> _Host:
    with _HOSTS_LOCK:
        return _HOSTS.setdefault(os.path.realpath(path), _Host())


def _default_wait() -> float:
    from governance_pipeline.settings import Settings

    return Settings().store_wait_s


@contextmanager
def connect(
    path: Path | str, *, read_only: bool = False, wait_s: float | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the DuckDB file for one short piece of work, waiting while it is held.

    Args:
        path: The DuckDB file.
        read_only: Attach it read-only: other readers may share it, no writer may.
        wait_s: How long to wait for the file (default `$GOVERNANCE_STORE_WAIT_S`, 600 s).

    Raises:
        StoreError: the file cannot be opened, or not within `wait_s`; the message names the
            process that holds it.
    """
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    wait = _default_wait() if wait_s is None else wait_s
    deadline = time.monotonic() + wait
    host = _host(path)
    if not host.lock.acquire(timeout=max(wait, 0.001)):
        raise StoreError(
            f"cannot open the store {path}: another thread of this process (pid {os.getpid()}) "
            f"has held it for over {wait:g} s. Raise GOVERNANCE_STORE_WAIT_S, or let that work "
            "end first."
        )
    try:
        fresh = host.depth == 0
        if fresh:
            _attach(host, path, read_only, deadline, wait)
        elif host.read_only and not read_only:
            raise StoreError(
                f"cannot open the store {path} to write inside a read-only connection of the "
                "same thread; open the outer one writable"
            )
        host.depth += 1
        try:
            assert host.db is not None
            con = host.db.cursor()
            try:
                con.execute("USE store")
                if fresh and not read_only:
                    con.execute(GOVERNANCE_DDL)
                yield con
            finally:
                con.close()
        finally:
            host.depth -= 1
            if host.depth == 0:
                _detach(host)
    finally:
        host.lock.release()


def _attach(host: _Host, path: Path, read_only: bool, deadline: float, wait: float) -> None:
    """Attach the file as the catalog `store` (the default file is governance.duckdb, and a
    catalog named `governance` would make the `governance` schema ambiguous)."""
    quoted = str(path).replace("'", "''")
    mode = " (READ_ONLY)" if read_only else ""
    while True:
        if host.db is None:
            host.db = duckdb.connect()
        try:
            host.db.execute(f"ATTACH '{quoted}' AS store{mode}")
            break
        except duckdb.Error as exc:
            text = str(exc)
            busy = "lock" in text.lower() or "unique file handle conflict" in text.lower()
            if not busy or time.monotonic() > deadline:
                raise StoreError(_cannot_open(path, text, busy, wait)) from None
            time.sleep(POLL_S)
    host.read_only = read_only


def _detach(host: _Host) -> None:
    """Detach the file (a checkpoint, then its lock is released); should DuckDB refuse, close
    the whole in-memory database, which releases the file too."""
    if host.db is None:
        return
    try:
        host.db.execute("DETACH store")
    except duckdb.Error:
        host.db.close()
        host.db = None


def _cannot_open(path: Path, error: str, busy: bool, wait: float) -> str:
    """Why the store did not open: the process that holds it, and what to do."""
    if not busy:
        return (
            f"cannot open the store {path}: {error}. Set GOVERNANCE_DB to another file, or "
            "repair this one."
        )
    holder = re.search(r"\(PID (\d+)\)", error)
    who = "another connection of this process"
    if holder and int(holder[1]) != os.getpid():
        pid = int(holder[1])
        who = f"process {pid} ({command_of(pid)})"
    return (
        f"cannot open the store {path}: {who} has held it for over {wait:g} s. A run holds it "
        "only while it reads or writes; a DuckDB shell holds it until it exits. Close that "
        "shell or let the run end, raise GOVERNANCE_STORE_WAIT_S, or set GOVERNANCE_DB to "
        "another file."
    )


def command_of(pid: int) -> str:
    """A process's command line (`unknown command` where it cannot be read)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "unknown command"
    text = " ".join(raw.decode(errors="replace").replace("\0", " ").split())
    return text[:200] or "unknown command"
