"""Benchmark: how long `govern --help` and `govern validate` take, against `python -c pass`.

Run by hand from the project root: `python bench/startup.py [--runs 10]`.

Each command runs as a fresh process, as a user's shell starts it, in turn with the baseline (an
interpreter that does nothing): baseline, command, baseline, command... so a machine that slows
down mid-run slows both alike. Each run's wall time is taken around the process, and its CPU time
(user + system) from the kernel's accounting of the finished child (`os.wait4`). One warm-up
pair first is not counted (cold file caches). The commands run this checkout's package
(`PYTHONPATH` is the project root), in the project root, so `validate` loads this project's
specs/.

It prints, per command, min / median / max of wall and CPU seconds, of the same for the
baseline, of the difference command - baseline (what the package adds), and of the ratio
command / baseline pair by pair; and the load average before and after. Targets (issue 17):
`--help` under 0.3 s, `validate` under 0.6 s. Quote medians; on a loaded machine read CPU
seconds rather than wall seconds, and a wide min-max means the machine was noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # this repository: a project

GOVERN = "import sys; from governance_pipeline.cli import app; sys.exit(app(prog_name='govern'))"
COMMANDS = {
    "govern --help": [sys.executable, "-c", GOVERN, "--help"],
    "govern validate": [sys.executable, "-c", GOVERN, "validate"],
}
BASELINE = [sys.executable, "-c", "pass"]
TARGETS = {"govern --help": 0.3, "govern validate": 0.6}


def timed(argv: list[str]) -> tuple[float, float]:
    """One run of `argv`: wall seconds and CPU seconds (user + system) of the process."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    start = time.perf_counter()
    process = subprocess.Popen(
        argv, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read() if process.stderr else b""
    if process.returncode != 0:
        raise SystemExit(f"{argv[-1]!r} exited {process.returncode}: {stderr.decode()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime


def spread(values: list[float], digits: int = 3) -> str:
    """min / median / max of `values`."""
    return " / ".join(
        f"{v:.{digits}f}" for v in (min(values), statistics.median(values), max(values))
    )


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="Counted pairs per command.")
    args = parser.parse_args()

    print(f"load average before: {load_average()}")
    print(f"python: {sys.executable}; {args.runs} pairs per command after 1 warm-up pair\n")
    for name, argv in COMMANDS.items():
        timed(BASELINE), timed(argv)  # warm-up
        pairs = []
        for _ in range(args.runs):
            base = timed(BASELINE)
            pairs.append((timed(argv), base))
        print(f"{name}  (target: under {TARGETS[name]} s)   min / median / max")
        for i, what in enumerate(("wall s", "cpu s")):
            command = [c[i] for c, _ in pairs]
            baseline = [b[i] for _, b in pairs]
            print(f"  {what:7}  command         {spread(command)}")
            print(f"  {what:7}  python -c pass  {spread(baseline)}")
            paired = pairs_of(pairs, i)
            print(f"  {what:7}  difference      {spread([c - b for c, b in paired])}")
            print(f"  {what:7}  ratio           {spread([c / b for c, b in paired], 1)}")
        print()
    print(f"load average after: {load_average()}")


def pairs_of(
    pairs: list[tuple[tuple[float, float], tuple[float, float]]], i: int
) -> list[tuple[float, float]]:
    """(command, baseline) of figure `i` (0 wall, 1 CPU) for each pair."""
    return [(command[i], baseline[i]) for command, baseline in pairs]


if __name__ == "__main__":
    main()
