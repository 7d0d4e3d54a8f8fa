"""Tests for the call journal (``journal``, ``call_log``): what a paid answer leaves on disk
before DuckDB holds it, and when it goes away.

Why these cases matter: the journal is what keeps a kill -9 from paying for an answer twice
(tests/test_resume.py kills a real stage), so it must hold each answer from the moment it is
recorded, hold it at rest (a journal with a made-up card number in it is one more copy of the
leak), never be folded away while its writer is alive, and be gone once the store has what it
held, whether the commit came in the same process or the next stage folded it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import duckdb
import pytest

from governance_pipeline import store
from governance_pipeline.demo.tickets import generate_support_tickets
from governance_pipeline.llm.call_log import CallLog, journal_dir, recover
from governance_pipeline.llm.calls import CallRequest, CallResult, CallStatus
from governance_pipeline.llm.journal import Journal
from tests.stage_helpers import triage_spec

CARD, EMAIL = "4000 0566 5566 5556", "leak.target@injected.example"
ANSWER = json.dumps(
    {
        "category": "billing",
        "urgency": "high",
        "sentiment": "negative",
        "summary": f"Charged on {CARD}; reply to {EMAIL}.",
    }
)
AT_REST = json.dumps(
    {
        "category": "billing",
        "urgency": "high",
        "sentiment": "negative",
        "summary": "Charged on <REDACTED_CREDIT_CARD_1>; reply to <REDACTED_EMAIL_1>.",
    }
)


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with store.connect(tmp_path / "governance.duckdb") as con:
        job = triage_spec().job
        generate_support_tickets(con, 2, seed=1)  # the job's tables take the source's shape
        store.ensure_job_schema(con, job, store.column_types(con, job.source.table))
        yield con


def log_for(con: duckdb.DuckDBPyConnection) -> CallLog:
    # the test holds the store: the log's commits use its connection
    return CallLog(
        lambda: nullcontext(con), "support_triage", "ticket_id", "run-1", "fake-model", total=1
    )


def paid(h: str = "h1", content: str = ANSWER) -> tuple[CallRequest, CallResult]:
    result = CallResult(h, CallStatus.OK, content=content, tokens_in=10, tokens_out=5)
    return CallRequest(h, {}, (1,)), result


def journal_text(con: duckdb.DuckDBPyConnection) -> str:
    directory = journal_dir(con)
    assert directory is not None
    return "".join(p.read_text() for p in sorted(directory.glob("*.jsonl")))


def cache(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.execute("SELECT request_hash, content FROM governance.llm_cache").fetchall()


def test_the_journal_lives_next_to_the_store(tmp_path: Path) -> None:
    with store.connect(tmp_path / "x.duckdb") as con:
        assert journal_dir(con) == tmp_path / "x.duckdb.journal"
    assert journal_dir(duckdb.connect()) is None  # in memory: nothing outlives the process


def test_an_answer_is_journaled_at_rest_and_folded_only_once_its_writer_is_gone(
    con: duckdb.DuckDBPyConnection,
) -> None:
    log = log_for(con)
    log.add(*paid())
    written = journal_text(con)
    assert json.loads(written)["content"] == AT_REST
    assert CARD not in written and EMAIL not in written
    assert cache(con) == []  # not committed: only the journal has it

    assert recover(con) == 0  # the writer still holds it: not folded from under it
    assert journal_text(con) == written

    assert log.journal is not None
    log.journal.release()  # what the kernel does when the process is killed
    assert recover(con) == 1
    assert cache(con) == [("h1", AT_REST)]
    assert journal_text(con) == ""  # folded, then deleted
    assert recover(con) == 0


def test_a_commit_writes_the_answer_at_rest_and_deletes_its_journal(
    con: duckdb.DuckDBPyConnection,
) -> None:
    log = log_for(con)

    async def stage() -> str:
        async with log.flushing():
            log.add(*paid())
            during = journal_text(con)
            await asyncio.sleep(0.3)  # one group commit
            assert journal_text(con) == ""  # committed: its segment is gone
            log.add(*paid("h2", ANSWER.replace("high", "low")))
        return during

    assert CARD not in asyncio.run(stage())
    assert journal_text(con) == ""
    assert dict(cache(con)) == {"h1": AT_REST, "h2": AT_REST.replace("high", "low")}
    assert con.execute(
        "SELECT ticket_id, status FROM support_triage.llm_call ORDER BY request_hash"
    ).fetchall() == [(1, "ok"), (1, "ok")]


def test_a_torn_line_is_skipped_and_a_known_answer_kept_as_it_was(
    con: duckdb.DuckDBPyConnection,
) -> None:
    log = log_for(con)
    log.add(*paid())
    log.add(*paid("h1", "a second answer to the same request"))
    assert log.journal is not None
    log.journal.release()
    directory = journal_dir(con)
    assert directory is not None
    (directory / "support_triage-run-1-torn.jsonl").write_text('{"request_hash": "h2", "con')
    assert recover(con) == 2
    assert cache(con) == [("h1", AT_REST)]  # the first answer journaled wins
    assert list(directory.glob("*.jsonl")) == []


def test_a_close_that_lands_between_the_syncers_wait_and_clear_still_ends_it(
    tmp_path: Path,
) -> None:
    """The syncer clears its wake-up flag after each wait. A close whose wake-up lands between
    that wait and the clear (the flag it set is the one cleared) must still end the syncer:
    once it did not, the stage hung on the join and CI ran out of time."""
    journal = Journal(tmp_path, "race", sync_s=0)

    class ClosedBeforeClear(threading.Event):
        """The wake-up flag, with the close landing just before the syncer clears it."""

        def clear(self) -> None:
            journal._stop.wait(10)  # the block has ended: the close set both flags
            time.sleep(0.05)
            super().clear()

    journal._unsynced = ClosedBeforeClear()

    def stage() -> None:
        with journal.syncing():
            journal.append({"answer": 1})
            time.sleep(0.05)  # the syncer wakes, waits its sync_s and reaches the clear

    worker = threading.Thread(target=stage, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "the syncer did not stop when the block ended"
    journal.release()
