"""`govern run` in a real terminal shows its progress live.

Dagster captures a step's output by redirecting its file descriptors, so a bar written to
stdout during the run would land in the capture and appear (if at all) once the run is over.
Under a pseudo-terminal, against an endpoint slow enough for the stage to take a few seconds,
the bar must be seen at several row counts, and each stage's status line must be printed.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import PROJECT_ROOT, triage
from tests.fake_openai import FakeOpenAI

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _run_under_a_terminal(env: dict[str, str], timeout_s: float = 240.0) -> tuple[int, str]:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from governance_pipeline.cli import app; app()",
            "run",
            "support_triage",
        ],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=PROJECT_ROOT,
        close_fds=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    code = proc.wait(timeout=30)
    os.close(master)
    return code, ANSI.sub("", b"".join(chunks).decode(errors="replace"))


def test_the_bar_moves_while_the_llm_stage_runs(demo_db: Path, tmp_path: Path) -> None:
    with FakeOpenAI(triage, latency=0.2) as server:
        env = {
            **os.environ,
            "GOVERNANCE_DB": str(demo_db),
            "DAGSTER_HOME": os.environ["DAGSTER_HOME"],
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": "sk-test-not-a-real-key",
            "PYTHONPATH": str(PROJECT_ROOT),
            "COLUMNS": "160",
            "TERM": "xterm-256color",
        }
        code, out = _run_under_a_terminal(env)
    assert code == 0, out[-3000:]
    counts = {int(m) for m in re.findall(r"rows through the model\D+?(\d+)/36", out)}
    assert len(counts - {0, 36}) >= 2, (counts, out[-3000:])  # seen mid-stage, more than once
    assert "cache hits" in out and "rows/s" in out
    for status in ("validating", "redacting", "calling the model", "judging", "publishing"):
        assert status in out, status
