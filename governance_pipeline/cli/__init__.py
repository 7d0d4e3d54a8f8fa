"""`govern`: the command line of governance-pipeline.

Heavy imports (Dagster, Great Expectations) happen inside the commands that need them, so
`govern --help` and `govern validate` start fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from governance_pipeline.errors import GovernanceError

if TYPE_CHECKING:
    from governance_pipeline.llm.endpoint import Endpoint
    from governance_pipeline.settings import Settings

_P = ParamSpec("_P")
_R = TypeVar("_R")

app = typer.Typer(
    help="Govern LLM enrichment jobs: specs, expectations, redaction, contracts and SLAs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
model_app = typer.Typer(help="The embedded local model.", no_args_is_help=True)
app.add_typer(model_app, name="model")
console = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print an error in one line and exit non-zero."""
    _error_line(message)
    raise typer.Exit(code)


def _error_line(message: str) -> None:
    err.print(Text.assemble(("error:", "red"), " ", message), highlight=False, soft_wrap=True)


def _guarded(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Turn the package's own errors into one clear line and a non-zero exit."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return fn(*args, **kwargs)
        except GovernanceError as exc:
            fail(str(exc))

    return wrapper


@app.command()
@_guarded
def init(
    directory: Annotated[Path, typer.Argument(help="Folder of the new project (created).")],
    name: Annotated[
        str | None, typer.Option(help="The project's name (default: the folder's).")
    ] = None,
) -> None:
    """Start a project in DIRECTORY: a platform spec, an example job, its compiled input suite,
    a Dagster code location and a workspace for `govern ui`."""
    from governance_pipeline import project, spec
    from governance_pipeline.inputs import expectations

    written = project.scaffold(directory, name)
    root = directory.resolve()
    for path in spec.discover(root / "specs"):
        job = spec.load(path).job
        target = expectations.suite_path(root / "expectations", job.job)
        target.write_text(expectations.render_suite(expectations.compile_suite(job)))
        written.append(target)
    for path in written:
        console.print(f"wrote  {path.relative_to(root.parent)}", highlight=False)
    console.print(
        f"\nA project in {root}. Next:\n  cd {directory}\n  govern validate\n"
        "  govern demo          (the example job on generated tickets)\n"
        "  govern ui            (the asset graph, checks and runs in Dagster)",
        highlight=False,
    )


@app.command()
@_guarded
def validate(
    explain: Annotated[
        str | None,
        typer.Option(
            "--explain", metavar="JOB", help="Print the job's effective policy set and origins."
        ),
    ] = None,
    instruction: Annotated[
        list[str] | None,
        typer.Option(help="A user-level instruction (ID=TEXT overrides policy ID); repeatable."),
    ] = None,
) -> None:
    """Load and resolve every spec in the spec folder; report each job, and every broken file
    in one line each (then exit 1)."""
    from governance_pipeline import spec
    from governance_pipeline.settings import Settings

    settings = Settings()
    if explain is not None:
        from governance_pipeline.spec.explain import render_explanation

        render_explanation(spec.load(job_path(explain), instruction), console)
        return
    loaded = spec.load_folder(settings.spec_dir)
    if not loaded.folder.jobs and not loaded.failed:
        fail(f"no job specs (YAML files with a `job:` field) in {settings.spec_dir}")
    for resolved in loaded.specs:
        console.print(
            f"ok  {resolved.name}  spec {resolved.spec_hash}  "
            f"{len(resolved.policies)} policies, {len(resolved.slas)} SLAs  ({resolved.path})",
            markup=False,
            soft_wrap=True,
        )
    errors = loaded.errors()
    for error in errors:
        _error_line(str(error))
    if errors:
        raise typer.Exit(1)


def job_path(job: str) -> Path:
    """The spec file of a job, or an error listing the jobs there are."""
    from governance_pipeline import spec
    from governance_pipeline.settings import Settings

    spec_dir = Settings().spec_dir
    path = spec_dir / f"{job}.yaml"
    if not path.exists():
        known = ", ".join(p.stem for p in spec.discover(spec_dir))
        raise GovernanceError(f"unknown job {job!r}; jobs in {spec_dir}: {known}")
    return path


@app.command(name="compile")
@_guarded
def compile_(
    check: Annotated[
        bool, typer.Option("--check", help="Fail if a checked-in suite differs.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder of the compiled suites (default: the project's expectations/)."),
    ] = None,
) -> None:
    """Compile each job's input rules to a Great Expectations suite in expectations/."""
    from governance_pipeline import spec
    from governance_pipeline.inputs import expectations
    from governance_pipeline.settings import Settings

    settings = Settings()
    out = out or settings.expectations_dir
    drifted = []
    for path in spec.discover(settings.spec_dir):
        job = spec.load(path).job
        target = expectations.suite_path(out, job.job)
        text = expectations.render_suite(expectations.compile_suite(job))
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if check:
            if current != text:
                drifted.append(str(target))
            continue
        out.mkdir(parents=True, exist_ok=True)
        if current != text:
            target.write_text(text, encoding="utf-8")
        console.print(f"{'wrote' if current != text else 'unchanged'}  {target}")
    if drifted:
        fail(f"suites out of date with the specs: {', '.join(drifted)}; run `govern compile`")
    if check:
        console.print("suites match the specs")


@app.command()
@_guarded
def run(
    job: Annotated[str, typer.Argument(help="Job name, as in specs/<job>.yaml.")],
    instruction: Annotated[
        list[str] | None,
        typer.Option(help="A user-level instruction (ID=TEXT overrides policy ID); repeatable."),
    ] = None,
    partition: Annotated[
        str | None,
        typer.Option(
            help="For a partitioned job: the partition to run, e.g. 2026-11-30 (default: the "
            "latest that has ended)."
        ),
    ] = None,
    first: Annotated[
        str | None,
        typer.Option("--from", help="For a partitioned job: the first partition of a range."),
    ] = None,
    last: Annotated[
        str | None,
        typer.Option("--to", help="The last partition of the range (inclusive); one run each."),
    ] = None,
) -> None:
    """Run a job end to end through Dagster and print its SLA report (for a partitioned job,
    one run per partition, in order)."""
    from governance_pipeline import spec as spec_module
    from governance_pipeline.dagster.partitions import keys_to_run

    keys = keys_to_run(spec_module.load(job_path(job)), partition, first, last)
    _run_and_report(job, instruction or [], partitions=keys)


@app.command()
@_guarded
def demo(
    job: Annotated[
        str | None,
        typer.Option(
            help="Demo job (default: support_triage, else the project's first job with a demo "
            "source); any job reading raw.support_tickets, raw.product_reviews or "
            "raw.contract_clauses."
        ),
    ] = None,
    rows: Annotated[int, typer.Option(min=1, help="Demo rows to generate.")] = 40,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the generator.")] = 7,
) -> None:
    """Generate a demo source table and run its job on it (support tickets by default)."""
    from governance_pipeline import spec, store
    from governance_pipeline.demo.sources import GENERATORS
    from governance_pipeline.settings import Settings

    settings = Settings()
    if job is None:
        tables = {p.stem: spec.load(p).job.source.table for p in spec.discover(settings.spec_dir)}
        demos = [j for j, table in tables.items() if table in GENERATORS]
        if not demos:
            fail(
                f"no job in {settings.spec_dir} reads a demo source "
                f"({', '.join(GENERATORS)}); name one with --job"
            )
        job = "support_triage" if "support_triage" in demos else demos[0]
    from governance_pipeline.dagster.partitions import keys_to_run

    job_spec = spec.load(job_path(job))
    table = job_spec.job.source.table
    if table not in GENERATORS:
        fail(
            f"no demo data for job {job!r}: its source {table} is not one of the demo sources "
            f"({', '.join(GENERATORS)})"
        )
    with store.connect(settings.db) as con:
        written = GENERATORS[table](con, rows, seed)
    console.print(f"generated {written} demo rows into {table} in {settings.db}")
    breached = _run_and_report(job, partitions=keys_to_run(job_spec), fail_on_breach=False)
    if breached:
        console.print(
            "The demo's small local model breaks the contract often: the breaches above are "
            "governance working, and `govern run` would exit 1 here. Point the job at a "
            "stronger model (see the README) to see it publish.",
            highlight=False,
        )


def _run_and_report(
    job: str,
    instructions: list[str] | None = None,
    *,
    partitions: Sequence[str | None] = (None,),
    fail_on_breach: bool = True,
) -> list[str]:
    """Run the job (once per partition, in order, for a partitioned job), print each run's
    report and alerts; fail once they are done if a run failed, or on an ERROR-level SLA
    breach unless told not to. Returns the breached ERROR-level SLAs."""
    from governance_pipeline.cli.progress import progress_bar
    from governance_pipeline.dagster.run import run_job
    from governance_pipeline.llm.endpoint import resolve_endpoint
    from governance_pipeline.settings import Settings
    from governance_pipeline.sla.report import render
    from governance_pipeline.spec import Severity

    settings = Settings()
    endpoint = resolve_endpoint(settings)
    console.print(f"model endpoint: {endpoint.describe()}")
    if instructions:  # a spec error in an instruction is reported before Dagster starts
        from governance_pipeline import spec as spec_module

        spec_module.load(job_path(job), instructions)
    problems: list[str] = []
    breached: list[str] = []
    for key in partitions:
        if key is not None:
            console.print(f"[bold]partition {key}[/bold]", highlight=False)
        with progress_bar(console):
            outcome = run_job(job, settings, instructions, key)
        if outcome.summary is not None:
            render(outcome.summary, console, settings.db)
        for alert in outcome.alerts:
            console.print(f"[yellow]alert[/yellow] {alert}", highlight=False)
        where = f"partition {key}: " if key is not None and len(partitions) > 1 else ""
        if not outcome.success and not outcome.blocked:
            problems.append(f"{where}run failed: {outcome.failure}")
            continue
        errors = [
            v.sla_id
            for v in (outcome.summary.breached if outcome.summary else [])
            if v.severity is Severity.ERROR
        ]
        breached += errors
        if errors and fail_on_breach:
            verb = "blocked publication" if outcome.blocked else "breached"
            problems.append(f"{where}ERROR-level SLA {verb}: {', '.join(errors)}")
    if problems:
        fail("; ".join(problems))
    return breached


@app.command()
@_guarded
def report(
    job: Annotated[str, typer.Argument(help="Job name.")],
    run_id: Annotated[
        str | None, typer.Option("--run", help="A run id (default: the job's latest run).")
    ] = None,
) -> None:
    """Print the SLA report of a run of the job (default: its latest run with a ledger)."""
    from governance_pipeline import store
    from governance_pipeline.settings import Settings
    from governance_pipeline.sla.report import render
    from governance_pipeline.sla.summary import summarize
    from governance_pipeline.store import runs

    job_path(job)  # an unknown job is named as such, with the jobs there are
    settings = Settings()
    if not settings.db.exists():
        fail(f"no store at {settings.db}; run `govern demo` or `govern run {job}` first")
    with store.connect(settings.db, read_only=True) as con:
        render(
            summarize(con, job, run_id or runs.latest_with_ledger(con, job)), console, settings.db
        )


@app.command()
@_guarded
def trace(
    job: Annotated[str, typer.Argument(help="Job name.")],
    key: Annotated[str, typer.Argument(help="The row's source key.")],
    run_id: Annotated[
        str | None,
        typer.Option("--run", help="A run id (default: the latest run whose ledger holds KEY)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the trace as JSON.")] = False,
) -> None:
    """Print one row's whole story: raw row (PII as entity types only), input verdict,
    redactions, the messages sent, each call, the answer, each rule's verdict, disposition and
    publication."""
    from governance_pipeline import store
    from governance_pipeline.settings import Settings
    from governance_pipeline.sla.trace import render, trace_row

    job_path(job)
    settings = Settings()
    if not settings.db.exists():
        fail(f"no store at {settings.db}; run `govern demo` or `govern run {job}` first")
    with store.connect(settings.db, read_only=True) as con:
        row = trace_row(con, job, key, run_id, settings)
    if as_json:
        print(row.as_json())
    else:
        render(row, console)


@app.command()
@_guarded
def docs(
    job: Annotated[str, typer.Argument(help="Job name.")],
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for <job>.md and <job>.html (default: build/contracts/)."),
    ] = None,
) -> None:
    """Render a job's contract as a document for stakeholders, in Markdown and HTML: what it
    reads, what the model sees, its output, policies and SLAs, where it is published, whom to
    ask, and what changed since the store's earlier version of the spec."""
    from governance_pipeline import spec, store
    from governance_pipeline.settings import Settings
    from governance_pipeline.spec.changes import History, history
    from governance_pipeline.spec.contract_doc import write_documents

    settings = Settings()
    resolved = spec.load(job_path(job))
    past = History()  # no store yet: it holds no earlier version
    if settings.db.exists():
        with store.connect(settings.db, read_only=True) as con:
            past = history(con, resolved)
    out = out or settings.root / "build" / "contracts"
    md, html = write_documents(resolved, out, root=settings.root, store=settings.db, history=past)
    console.print(f"wrote {md}\nwrote {html}")


@app.command(name="eval")
@_guarded
def eval_(
    job: Annotated[str, typer.Argument(help="Job name.")],
    offline: Annotated[bool, typer.Option(help="Only hold the examples to the contract.")] = False,
    compare: Annotated[
        tuple[str, str] | None,
        typer.Option(metavar="MODEL_A MODEL_B", help="Evaluate two models side by side."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Check the worked examples against the contract, then run their inputs through the model."""
    import json

    from governance_pipeline import spec as spec_module
    from governance_pipeline.outputs.evals import check_examples, run_model_eval
    from governance_pipeline.settings import Settings
    from governance_pipeline.sla.report import render_example_checks, render_model_evals

    spec = spec_module.load(job_path(job))
    checks = check_examples(spec)
    evaluations = []
    if not offline:
        settings = Settings()
        models = list(compare) if compare else [spec.job.model.name]
        for model in models:
            endpoint = resolve_endpoint_for(settings, model)
            with _serving(endpoint):
                evaluations.append(run_model_eval(spec, endpoint))
    if as_json:
        console.print_json(
            json.dumps(
                {
                    "examples": [c.__dict__ for c in checks],
                    "models": [e.as_json() for e in evaluations],
                }
            )
        )
    else:
        render_example_checks(checks, console)
        if evaluations:
            render_model_evals(evaluations, console)
    defects = [c for c in checks if not c.passed]
    if defects:
        fail(f"{len(defects)} worked example(s) are not judged as the spec says; fix the spec")


def resolve_endpoint_for(settings: Settings, model: str | None) -> Endpoint:
    """The run's endpoint, with another model name when one is asked for."""
    from dataclasses import replace

    from governance_pipeline.llm.endpoint import resolve_endpoint

    endpoint = resolve_endpoint(settings, model)
    return replace(endpoint, model=model) if model and endpoint.local else endpoint


def _serving(endpoint: Endpoint) -> AbstractContextManager[str | None]:
    """The embedded model for the length of the block when it is the endpoint."""
    from contextlib import nullcontext
    from urllib.parse import urlparse

    if not endpoint.local:
        return nullcontext()
    from governance_pipeline.llm.local_model import ensure_local_model

    return ensure_local_model(urlparse(endpoint.base_url).port or 8765)


@model_app.command()
@_guarded
def serve(
    port: Annotated[
        int | None,
        typer.Option(help="Port on 127.0.0.1 (default $GOVERNANCE_LOCAL_MODEL_PORT or 8765)."),
    ] = None,
) -> None:
    """Serve the embedded model (SmolLM2-135M-Instruct) on 127.0.0.1 until Ctrl-C or SIGTERM."""
    from governance_pipeline.llm.local_model import serve_forever
    from governance_pipeline.settings import Settings

    port = port or Settings().local_model_port
    console.print(f"starting the embedded model on 127.0.0.1:{port} ...")
    serve_forever(
        port,
        lambda url: console.print(
            f"serving at {url}\nuse it from another shell: OPENAI_BASE_URL={url} "
            "OPENAI_API_KEY=local GOVERNANCE_STRUCTURED_OUTPUT=json_object_schema ... "
            "(or leave both unset: `govern run` reuses this server)\nCtrl-C to stop"
        ),
    )
    console.print("stopped")


@app.command()
@_guarded
def ui(port: Annotated[int, typer.Option(help="Port of the web UI.")] = 3000) -> None:
    """Start Dagster's web UI on the workspace: the asset graph, checks, runs and schedules."""
    from governance_pipeline.settings import Settings, dagster_home

    settings = Settings()
    dagster_home(settings)
    os.chdir(settings.root)
    dagster = Path(sys.executable).with_name("dagster")
    console.print(f"Dagster UI on http://127.0.0.1:{port} (Ctrl-C to stop)")
    os.execv(
        str(dagster),
        [str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
    )


@app.command()
@_guarded
def reidentify(
    text: Annotated[
        str, typer.Argument(help="Text holding tokens like <EMAIL_T_...>; - reads stdin.")
    ],
    purpose: Annotated[
        str, typer.Option(help="Why the values are needed (required; logged with every use).")
    ] = "",
    actor: Annotated[
        str | None, typer.Option(help="Who asks (default: the login name); logged.")
    ] = None,
) -> None:
    """Restore the values behind tokenised PII, for authorised use; every use is logged.

    Needs GOVERNANCE_TOKEN_KEY, the key the tokens were made with. Each call, granted or
    refused, adds a row to governance.reidentification: who, why, how many tokens of which
    types; never the values.
    """
    import getpass

    from governance_pipeline import store
    from governance_pipeline.inputs.redaction import RedactionKeys
    from governance_pipeline.inputs.redaction import reidentify as restore
    from governance_pipeline.settings import Settings

    source = sys.stdin.read() if text == "-" else text
    with store.connect(Settings().db) as con:
        restored = restore(
            con, source, purpose=purpose, actor=actor or getpass.getuser(), keys=RedactionKeys()
        )
    print(restored, end="" if text == "-" else "\n")
