"""Benchmark: production runs at scale, each figure a ratio measured in the same run.

Run by hand from the project root:
`python bench/scale.py [--rows 1000000] [--new 1000] [--processes 4] [--rpm 6000] [--each 250]`.

A fake OpenAI-compatible server (`python -m tests.fake_openai`, 0 ms) runs in a process of its
own, so it does not compete with the measured processes for the GIL.

1. Incremental runs. A store whose support_triage source holds `--rows` rows already settled
   (claimed and given an outcome by a set-up run, through `inputs.scope` itself) plus `--new`
   new ones; one `govern run` of the job (Dagster in process, every stage and check). Against
   it: the same run on a store whose source holds the `--new` rows only.
   Printed: the wall-time ratio, incremental / small (target at most 2: a run's cost follows
   what is new, not the table's size).
2. Limits across processes. `--processes` LLM stages start at once, each in its own process
   on its own store of `--each` rows, all paced through one shared pace file
   (`llm.pacing.SharedPacer`) at `--rpm` requests a minute, as the runs of a backfill are.
   Printed: their aggregate requests a second over the configured rate (target at least 0.95,
   never above 1), and the most requests the server saw in any second.

The PostgreSQL store is not built yet, so the PostgreSQL/DuckDB ratio is not measured.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # this repository: a project
sys.path.insert(0, str(PROJECT_ROOT))

from governance_pipeline import spec as spec_module  # noqa: E402
from governance_pipeline import store  # noqa: E402
from governance_pipeline.demo.tickets import generate_support_tickets  # noqa: E402
from governance_pipeline.inputs import scope, stages  # noqa: E402
from governance_pipeline.llm.endpoint import Endpoint, resolve_endpoint  # noqa: E402
from governance_pipeline.settings import Settings  # noqa: E402
from governance_pipeline.spec import ResolvedSpec  # noqa: E402
from governance_pipeline.store import runs  # noqa: E402

JOB = "support_triage"
SPEC = PROJECT_ROOT / "specs" / f"{JOB}.yaml"
ANSWER = json.dumps(
    {"category": "billing", "urgency": "high", "sentiment": "negative", "summary": "A charge."}
)

WORKER = """
import json, sys, time
from pathlib import Path
from governance_pipeline import spec as spec_module, store
from governance_pipeline.llm import calling
from governance_pipeline.llm.endpoint import resolve_endpoint
from governance_pipeline.llm.pacing import SharedPacer
from governance_pipeline.settings import Settings

db, pace, base_url, rpm, start_at = sys.argv[1:6]
spec = spec_module.load(sys.argv[6])
model = spec.job.model.model_copy(update={"requests_per_minute": int(rpm), "concurrency": 16})
spec = spec.model_copy(update={"job": spec.job.model_copy(update={"model": model})})
endpoint = resolve_endpoint(Settings(openai_base_url=base_url, openai_api_key="bench", prices={}))
time.sleep(max(0.0, float(start_at) - time.time()))
figures = calling.call_model(store.opener(db), spec, endpoint, "bench", pacer=SharedPacer(pace))
print(json.dumps({"calls": figures["calls_made"], "ended": time.time()}))
"""


def start_server() -> tuple[subprocess.Popen[str], str]:
    """The fake server in its own process, answering at once; its base URL."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_openai", "--latency", "0", "--content", ANSWER],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    base_url = server.stdout.readline().strip()
    if not base_url.startswith("http://127.0.0.1:"):
        server.kill()
        raise SystemExit(f"the fake server did not start (it printed {base_url!r})")
    return server, base_url


def settled_store(db: Path, spec: ResolvedSpec, endpoint: Endpoint, rows: int, new: int) -> None:
    """A source of `rows + new` rows whose first `rows` keys are settled, as a set-up run that
    published them would leave them (the run's claim by `inputs.scope`, then `row_state`)."""
    key = spec.job.source.key
    with store.connect(db) as con:
        generate_support_tickets(con, rows + new, seed=7)
        types = store.column_types(con, spec.job.source.table)
        store.ensure_job_schema(con, spec.job, types)
        runs.start(con, JOB, "setup", spec.spec_hash, endpoint.describe())
        scope.claim(con, spec, "setup", scope.state_hash(spec, endpoint.model), types)
        con.execute(
            f"INSERT INTO {JOB}.row_state ({key}, content_hash, state_hash, run_id, disposition, "
            f"settled_at) SELECT {key}, content_hash, state_hash, run_id, 'enriched', now() "
            f"FROM {JOB}.row_scope WHERE run_id = 'setup' AND {key} <= ?",
            [rows],
        )
        runs.finish(con, "setup", runs.RunStatus.SUCCEEDED)


def timed_run(db: Path, base_url: str) -> tuple[float, int]:
    """Wall seconds of one `govern run` of the job on `db`; the rows its ledger holds."""
    env = {**os.environ, "GOVERNANCE_DB": str(db), "OPENAI_BASE_URL": base_url}
    env["OPENAI_API_KEY"] = "bench"
    govern = Path(sys.executable).parent / "govern"
    start = time.perf_counter()
    done = subprocess.run([govern, "run", JOB], cwd=PROJECT_ROOT, env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):  # 1: an SLA breached, the run still finished
        raise SystemExit(f"govern run failed: {done.stderr.decode()[-500:]}")
    with store.connect(db, read_only=True) as con:
        rows = store.scalar(
            con,
            f"SELECT count(*) FROM {JOB}.row_ledger WHERE run_id = (SELECT run_id FROM "
            "governance.run WHERE run_id <> 'setup' ORDER BY started_at DESC LIMIT 1)",
        )
    return elapsed, int(rows)


def incremental(args: argparse.Namespace, spec: ResolvedSpec, base_url: str, folder: Path) -> None:
    endpoint = resolve_endpoint(
        Settings(openai_base_url=base_url, openai_api_key="bench"), spec.job.model.name
    )
    big, small = folder / "big.duckdb", folder / "small.duckdb"
    print(f"setting up {args.rows:,} settled rows and {args.new:,} new ones...", flush=True)
    settled_store(big, spec, endpoint, args.rows, args.new)
    with store.connect(small) as con:
        generate_support_tickets(con, args.new, seed=8)
    small_s, small_rows = timed_run(small, base_url)
    big_s, big_rows = timed_run(big, base_url)
    print(
        f"incremental run over {args.rows + args.new:,} rows ({big_rows:,} in its ledger): "
        f"{big_s:.1f} s; a run over {args.new:,} rows ({small_rows:,}): {small_s:.1f} s; "
        f"ratio {big_s / small_s:.2f} (target at most 2)"
    )


def limits(args: argparse.Namespace, spec: ResolvedSpec, base_url: str, folder: Path) -> None:
    settings = Settings(openai_base_url=base_url, openai_api_key="bench", prices={})
    endpoint = resolve_endpoint(settings)
    dbs = []
    for i in range(args.processes):
        db = folder / f"limits-{i}.duckdb"
        with store.connect(db) as con:
            generate_support_tickets(con, args.each * 10 // 8 + 20, seed=20 + i)
            stages.validate_input(con, spec, "bench", endpoint)
            stages.build_model_input(con, spec, endpoint, "bench")
        dbs.append(db)
    pace = folder / "shared.pace.sqlite"
    start_at = time.time() + 10  # after every worker's imports
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(db), str(pace), base_url, str(args.rpm)]
            + [str(start_at), str(SPEC)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for db in dbs
    ]
    results = [json.loads(w.communicate()[0]) for w in workers]
    calls = sum(r["calls"] for r in results)
    span = max(r["ended"] for r in results) - start_at
    rate = calls / span
    print(
        f"{args.processes} stages at once, {calls:,} calls in {span:.1f} s: {rate:.1f} requests/s "
        f"against a limit of {args.rpm / 60:.1f}/s: ratio {rate / (args.rpm / 60):.3f} "
        "(target at least 0.95, never above 1)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--rpm", type=int, default=6000)
    parser.add_argument("--each", type=int, default=250, help="rows of each parallel stage")
    parser.add_argument("--skip", choices=["incremental", "limits"], action="append", default=[])
    args = parser.parse_args()
    os.environ.setdefault("DAGSTER_HOME", tempfile.mkdtemp(prefix="bench-scale-dagster-"))
    spec = spec_module.load(SPEC)
    folder = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    server, base_url = start_server()
    try:
        if "limits" not in args.skip:
            limits(args, spec, base_url, folder)
        if "incremental" not in args.skip:
            incremental(args, spec, base_url, folder)
    finally:
        server.kill()
        server.wait()
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
