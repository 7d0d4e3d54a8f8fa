"""Benchmark of the input stage: validation and redaction of a million rows, against Presidio.

    python bench/input_stage.py [--rows 1000000] [--sample 5000] [--labelled 3000] [--public 3000]

1. Generates `--rows` demo tickets into a temporary store and runs the stage as a run does:
   validation (GX suite in chunks, quarantine), model input (redaction, names, prompts,
   request hashes, across worker processes), then the no_pii scan of every model input.
2. Redaction alone, head to head on `--sample` rows of the same table (subject and body):
   our Redactor in one process against Presidio's AnalyzerEngine + AnonymizerEngine with its
   regex recognizers (blank spaCy pipeline: no model download) for the same seven types.
3. Recall and precision of both on `--labelled` generated texts with known spans (see
   bench/pii_corpus.py), in the formats the detectors were written for. A span counts as found
   when a finding overlaps it; a finding is correct when it overlaps a labelled span.
4. The same on `--public` texts of the second corpus, written from public formats the
   detectors were not written against (`pii_corpus.public_corpus`), per entity type and for
   the row's known names (ours only: Presidio's regex recognizers have no names); throughput
   on those texts as a ratio to Presidio's; and the independent check (the no_pii check's
   second line): how much of the raw PII it would see, what it still flags after our
   redaction (misses it catches), and what it flags among the negatives (false alarms).

Prints every figure and the ratios; the targets are 20x Presidio's throughput, recall per type
of at least 0.97 on the second corpus and never below Presidio's, precision at least
Presidio's, and peak memory under 2 GiB. Needs the `presidio` extra.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import pii_corpus  # noqa: E402
from bench.pii_corpus import Row, corpus, public_corpus  # noqa: E402
from governance_pipeline import spec, store  # noqa: E402
from governance_pipeline.demo.tickets import generate_support_tickets  # noqa: E402
from governance_pipeline.inputs import (
    model_input,  # noqa: E402
    names,  # noqa: E402
    stages,  # noqa: E402
)
from governance_pipeline.inputs.redaction import ALL_ENTITIES, Redactor, detect, independent  # noqa: E402
from governance_pipeline.llm.endpoint import resolve_endpoint  # noqa: E402
from governance_pipeline.settings import Settings  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # this repository: a project

PRESIDIO = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CREDIT_CARD",
    "US_SSN": "US_SSN",
    "IBAN_CODE": "IBAN",
    "IP_ADDRESS": "IP_ADDRESS",
    "URL": "URL",
}
MIB = 1024


class PeakRss(threading.Thread):
    """Samples the resident memory of this process and all its descendants (the workers) every
    50 ms and keeps the peak of the sum. `ru_maxrss` cannot: a spawned worker inherits the
    parent's high-water mark across fork and exec."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = self.workers = 0
        self._stop_event = threading.Event()

    @staticmethod
    def _rss(pid: int) -> int:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return 0
        kb = next((int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmRSS")), 0)
        return kb + sum(PeakRss._rss(int(k)) for k in kids)

    def run(self) -> None:
        while not self._stop_event.wait(0.05):
            self.peak = max(self.peak, self._rss(os.getpid()))
            self.workers = max(self.workers, self._rss(os.getpid()) - self._own())

    @staticmethod
    def _own() -> int:
        status = Path("/proc/self/status").read_text().splitlines()
        return next(int(ln.split()[1]) for ln in status if ln.startswith("VmRSS"))

    def reset(self) -> str:
        """The peak so far (MiB: total and the workers' share), and start again."""
        text = f"{self.peak // MIB:,} ({self.workers // MIB:,} in workers)"
        self.peak, self.workers = self._rss(os.getpid()), 0
        return text


def presidio() -> tuple[Any, Any]:
    """Presidio's engines, offline: a blank spaCy pipeline and tldextract's bundled list."""
    import spacy
    import tldextract
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers.generic import email_recognizer
    from presidio_anonymizer import AnonymizerEngine

    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=tempfile.mkdtemp())
    email_recognizer.tldextract = SimpleNamespace(extract=offline)  # type: ignore[attr-defined]
    blank = tempfile.mkdtemp()
    spacy.blank("en").to_disk(blank)
    config = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": blank}]}
    nlp = NlpEngineProvider(nlp_configuration=config).create_engine()
    return AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"]), AnonymizerEngine()


def stage(
    rows: int, db: Path, sample: int, memory_limit: str | None
) -> tuple[dict[str, Any], list[Any]]:
    """The input stage on `rows` demo tickets, timed step by step; and `sample` rows of the
    table's subject and body, spread over it."""
    resolved = spec.load(PROJECT_ROOT / "specs" / "support_triage.yaml")
    os.environ.setdefault("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # never called
    os.environ.setdefault("OPENAI_API_KEY", "unused")
    endpoint = resolve_endpoint(Settings())
    out: dict[str, Any] = {}
    rss = PeakRss()
    rss.start()
    with store.connect(db) as con:
        if memory_limit:  # DuckDB's buffer cache otherwise grows to 80% of RAM
            con.execute(f"SET memory_limit = '{memory_limit}'")
        t = time.perf_counter()
        generate_support_tickets(con, rows, seed=7)
        out["generate_s"] = time.perf_counter() - t
        out["generate_mib"] = rss.reset()
        t = time.perf_counter()
        figures = stages.validate_input(con, resolved, "bench", endpoint)
        out["validate_s"] = time.perf_counter() - t
        out["quarantined"] = figures["quarantined"]
        out["validated"] = figures["validated"]
        out["validate_mib"] = rss.reset()
        t = time.perf_counter()
        built = stages.build_model_input(con, resolved, endpoint, "bench")
        out["model_input_s"] = time.perf_counter() - t
        out["redactions"] = sum(built["redactions"].values())
        out["held"] = built["independent_check_quarantined"]
        out["model_input_mib"] = rss.reset()
        t = time.perf_counter()
        scanned = model_input.scan(con, resolved, "bench")
        out["scan_s"] = time.perf_counter() - t
        out["rows_with_pii"] = scanned["rows_with_pii"]
        out["scan_mib"] = rss.reset()
        texts = con.execute(
            "SELECT subject, body FROM raw.support_tickets WHERE ticket_id % ? = 0",
            [max(1, rows // sample)],
        ).fetchall()
    return out, texts


def ours_throughput(texts: list[tuple[str | None, str | None]]) -> float:
    redactor = Redactor(ALL_ENTITIES)
    t = time.perf_counter()
    for subject, body in texts:
        redactor.redact_row({"subject": subject, "body": body})
    return len(texts) / (time.perf_counter() - t)


def presidio_throughput(texts: list[tuple[str | None, str | None]], engines: Any) -> float:
    analyzer, anonymizer = engines
    t = time.perf_counter()
    for row in texts:
        for text in row:
            if text:
                found = analyzer.analyze(text, language="en", entities=list(PRESIDIO))
                anonymizer.anonymize(text, found)
    return len(texts) / (time.perf_counter() - t)


def score(rows: list[Row], predict: Any, kinds: set[str] | None = None) -> dict[str, float]:
    """Recall per type and overall, and precision overall and per predicted type, of typed
    span predictions `predict(row) -> [(entity, start, end)]`; labels of `kinds` only."""
    found, total, correct, predicted = Counter(), Counter(), Counter(), Counter()
    for row in rows:
        labels = [sp for sp in row.spans if kinds is None or sp[0] in kinds]
        spans = predict(row)
        for kind, s, e in spans:
            predicted[kind] += 1
            correct[kind] += any(s < e2 and s2 < e for _, s2, e2 in labels)
        for kind, s, e in labels:
            total[kind] += 1
            found[kind] += any(s2 < e and s < e2 for _, s2, e2 in spans)
    out = {f"recall_{k}": found[k] / total[k] for k in sorted(total)}
    out["recall"] = sum(found.values()) / max(1, sum(total.values()))
    out["precision"] = sum(correct.values()) / max(1, sum(predicted.values()))
    for k in sorted(predicted):
        out[f"precision_{k}"] = correct[k] / predicted[k]
    return out


def ours_spans(row: Row) -> list[tuple[str, int, int]]:
    return [(f.entity.value, f.start, f.end) for f in detect(row.text)]


def name_spans(row: Row) -> list[tuple[str, int, int]]:
    known = names.KnownNames.of(row.names)
    return [("NAME", s, e) for s, e in known.spans(row.text)] if known else []


def presidio_spans(analyzer: Any) -> Any:
    def predict(row: Row) -> list[tuple[str, int, int]]:
        found = analyzer.analyze(row.text, language="en", entities=list(PRESIDIO))
        return [(PRESIDIO[r.entity_type], r.start, r.end) for r in found]

    return predict


def public_throughput(rows: list[Row], engines: Any) -> tuple[float, float, float]:
    """Texts per second: ours for the seven types (what Presidio does here), ours with the
    row's known names too, and Presidio's (analyse, anonymise)."""
    redactor = Redactor(ALL_ENTITIES)
    t = time.perf_counter()
    for row in rows:
        redactor.redact_text(row.text)
    entities = len(rows) / (time.perf_counter() - t)
    t = time.perf_counter()
    for row in rows:
        text, _ = redactor.redact_text(row.text)
        names.redact_names(text, names.KnownNames.of(row.names))
    with_names = len(rows) / (time.perf_counter() - t)
    analyzer, anonymizer = engines
    t = time.perf_counter()
    for row in rows:
        found = analyzer.analyze(row.text, language="en", entities=list(PRESIDIO))
        anonymizer.anonymize(row.text, found)
    return entities, with_names, len(rows) / (time.perf_counter() - t)


def second_line(rows: list[Row]) -> dict[str, Any]:
    """The independent check on the second corpus: share of raw labelled values it flags (per
    type), rows it still flags after our redaction, and flags among the negatives."""
    claimed = [e.value for e in ALL_ENTITIES]
    seen, total = Counter(), Counter()
    for row in rows:
        hits = independent.suspects(row.text, claimed)
        for kind, s, e in row.spans:
            if kind == "NAME":
                continue
            total[kind] += 1
            seen[kind] += any(h.start < e and s < h.end for h in hits)
    redactor = Redactor(ALL_ENTITIES)
    after = 0
    for row in rows:
        text, _ = redactor.redact_text(row.text)
        text, _ = names.redact_names(text, names.KnownNames.of(row.names))
        after += bool(independent.suspects(text, claimed))
    rng = random.Random(5)
    negatives = [pii_corpus.public_negative(rng) for _ in range(2000)]
    alarms = sum(bool(independent.suspects(n, claimed)) for n in negatives)
    return {
        "seen": {k: seen[k] / total[k] for k in sorted(total)},
        "flagged_after": after,
        "alarms": alarms,
        "negatives": len(negatives),
    }


def _table(ours: dict[str, float], theirs: dict[str, float]) -> None:
    print(f"  {'':22} {'ours':>7} {'presidio':>9}")
    for k in sorted(set(ours) | set(theirs), key=lambda k: (not k.startswith("recall"), k)):
        mine = f"{ours[k]:7.3f}" if k in ours else f"{'-':>7}"
        other = f"{theirs[k]:9.3f}" if k in theirs else f"{'n/a':>9}"
        print(f"  {k:22} {mine} {other}")
    print(
        f"  recall ratio {ours['recall'] / theirs['recall']:.3f}, "
        f"precision ratio {ours['precision'] / theirs['precision']:.3f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=5000)
    parser.add_argument("--labelled", type=int, default=3000)
    parser.add_argument("--public", type=int, default=3000)
    parser.add_argument(
        "--duckdb-memory-limit",
        default="1GB",
        help="DuckDB's memory_limit for the stage ('' for DuckDB's default, 80%% of RAM)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        s, texts = stage(
            args.rows, Path(tmp) / "bench.duckdb", args.sample, args.duckdb_memory_limit
        )
    workers = model_input.workers()
    n = args.rows
    print(f"input stage on {n:,} rows ({workers} worker processes for redaction)")
    print(f"  generate     {s['generate_s']:7.1f} s")
    print(
        f"  validate     {s['validate_s']:7.1f} s  {n / s['validate_s']:9,.0f} rows/s  "
        f"quarantined {s['quarantined']:,.0f}, validated {s['validated']:,.0f}"
    )
    print(
        f"  model input  {s['model_input_s']:7.1f} s  {s['validated'] / s['model_input_s']:9,.0f}"
        f" rows/s  {s['redactions']:,.0f} redactions, {s['held']:,} rows held back by the "
        "independent check"
    )
    print(
        f"  no_pii scan  {s['scan_s']:7.1f} s  {s['validated'] / s['scan_s']:9,.0f} rows/s  "
        f"rows with PII left: {s['rows_with_pii']:,.0f}"
    )
    stage_rate = n / (s["validate_s"] + s["model_input_s"])
    print(f"  validate + model input: {stage_rate:,.0f} rows/s")
    steps = ("generate", "validate", "model_input", "scan")
    limit = args.duckdb_memory_limit or "DuckDB's default"
    print(f"  peak memory in MiB, this process and its workers (DuckDB memory_limit {limit}):")
    for k in steps:
        print(f"    {k:12} {s[k + '_mib']}")
    print("    target < 2,048")

    engines = presidio()
    ours = ours_throughput(texts)
    theirs = presidio_throughput(texts, engines)
    print(f"\nredaction of subject+body, one process, {len(texts):,} rows of the same table")
    print(f"  ours      {ours:9,.0f} rows/s")
    print(f"  presidio  {theirs:9,.0f} rows/s")
    print(f"  ratio (one process)           {ours / theirs:6.1f}x  (target >= 20x)")
    stage_ratio = s["validated"] / s["model_input_s"] / theirs
    print(f"  ratio (the stage, {workers} workers)   {stage_ratio:6.1f}x  (+ names, prompts)")

    labelled = corpus(args.labelled)
    analyzer = engines[0]
    ours_q = score(labelled, ours_spans)
    theirs_q = score(labelled, presidio_spans(analyzer))
    print(f"\nrecall and precision on {len(labelled):,} labelled texts (first corpus)")
    _table(ours_q, theirs_q)

    public = public_corpus(args.public)
    claimed = set(PRESIDIO.values())
    ours_p = score(public, ours_spans, kinds=claimed)
    theirs_p = score(public, presidio_spans(analyzer), kinds=claimed)
    print(f"\nrecall and precision on {len(public):,} texts of public formats (second corpus)")
    _table(ours_p, theirs_p)
    named = score(public, name_spans, kinds={"NAME"})
    print(
        f"  known names (ours only; Presidio's regex recognizers have none): recall "
        f"{named['recall']:.3f}, precision {named['precision']:.3f}"
    )
    types = sorted(k for k in theirs_p if k.startswith("recall_"))
    worst = min(ours_p[k] for k in types)
    below = [k[7:] for k in types if ours_p[k] < theirs_p[k]]
    print(
        f"  lowest recall of a claimed type {worst:.3f} (target >= 0.97); types below "
        f"Presidio: {', '.join(below) or 'none'}; precision ratio "
        f"{ours_p['precision'] / theirs_p['precision']:.3f} (target >= 1)"
    )
    ours_rate, named_rate, theirs_rate = public_throughput(public, engines)
    print(
        f"  throughput on these texts, one process: ours {ours_rate:,.0f}/s (with known names "
        f"{named_rate:,.0f}/s), presidio {theirs_rate:,.0f}/s; ratio {ours_rate / theirs_rate:.1f}x"
        f" ({named_rate / theirs_rate:.1f}x with names; target >= 20x)"
    )
    check = second_line(public)
    seen = ", ".join(f"{k} {v:.3f}" for k, v in check["seen"].items())
    print("\nthe independent check (the no_pii check's second line) on the second corpus")
    print(f"  raw values it flags: {seen}")
    print(f"  rows it flags after our redaction (misses it catches): {check['flagged_after']}")
    print(f"  negatives it flags (false alarms): {check['alarms']} of {check['negatives']:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
