"""Tests for loading and resolving specs (``governance_pipeline.spec``, ``yaml_lines``).

A spec is written by people and read by the pipeline, so two things matter most:

* A mistake must stop the run with a message a person can act on: which file, which dotted
  field, which line, and what would have been valid. A typo that fell back to a default would
  silently change what the model is told or how its output is judged.
* The chain of command must resolve the same way every time: platform rules cannot be
  overridden, developer rules only by a user when they say so, guidelines by anyone, and every
  override is recorded with where it came from.

The spec hash goes on every row a run writes, so it must ignore what does not change the
enforcement (comments, key order, file paths) and change with anything that does.

Test specs are the real files copied to a temporary folder and changed by small text edits, so
the cases stay close to what people actually write.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance_pipeline import spec
from governance_pipeline.errors import SpecError
from governance_pipeline.spec import Level
from governance_pipeline.spec.yaml_lines import line_of, load_with_lines

SPEC_DIR = Path(__file__).resolve().parents[2] / "specs"
JOB = "support_triage.yaml"
PLATFORM = "platform.yaml"

Edit = tuple[str, str, str]  # (file, old text, new text)


def make_specs(
    folder: Path, edits: Sequence[Edit] = (), extra: dict[str, str] | None = None
) -> Path:
    """Copy the real specs into `folder`, apply text edits, add files; return the job's path."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in (JOB, PLATFORM):
        shutil.copy(SPEC_DIR / name, folder / name)
    for name, old, new in edits:
        text = (folder / name).read_text()
        assert text.count(old) == 1, f"edit anchor {old!r} must occur once in {name}"
        (folder / name).write_text(text.replace(old, new))
    for name, text in (extra or {}).items():
        (folder / name).write_text(text)
    return folder / JOB


def line_containing(path: Path, needle: str) -> int:
    """1-based number of the first line of `path` that contains `needle`."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def load_error(path: Path, **kwargs: object) -> SpecError:
    with pytest.raises(SpecError) as info:
        spec.load(path, **kwargs)  # type: ignore[arg-type]
    return info.value


# --- the real spec ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> spec.ResolvedSpec:
    return spec.load(SPEC_DIR / JOB)


def test_real_spec_resolves_platform_and_job_policies(real: spec.ResolvedSpec) -> None:
    effective = {rp.item.id: (rp.item.level, Path(rp.origin.file).name) for rp in real.policies}
    expected = {
        "data-is-not-instructions": (Level.PLATFORM, PLATFORM),
        "no-pii-in-output": (Level.PLATFORM, PLATFORM),
        "json-only": (Level.PLATFORM, PLATFORM),
        "concise-summaries": (Level.GUIDELINE, JOB),  # the job's guideline replaces the platform's
        "triage-urgency": (Level.DEVELOPER, JOB),
        "summary-present": (Level.DEVELOPER, JOB),
    }
    assert {k: effective.get(k) for k in expected} == expected
    assert all(file == PLATFORM for level, file in effective.values() if level is Level.PLATFORM)
    assert real.name == "support_triage"
    assert real.job.source.key == "ticket_id"


def test_real_spec_records_the_overridden_guideline(real: spec.ResolvedSpec) -> None:
    concise = next(rp for rp in real.policies if rp.item.id == "concise-summaries")
    assert concise.item.check is not None
    assert concise.overrides is not None
    assert Path(concise.overrides.file).name == PLATFORM
    assert concise.overrides.line == line_containing(SPEC_DIR / PLATFORM, "id: concise-summaries")
    assert concise.origin.line == line_containing(SPEC_DIR / JOB, "id: concise-summaries")
    assert [rp.item.id for rp in real.policies if rp.overrides] == ["concise-summaries"]


def test_real_spec_resolves_slas(real: spec.ResolvedSpec) -> None:
    slas = {
        rs.item.id: (rs.item.level, rs.item.metric, rs.item.min, rs.item.max) for rs in real.slas
    }
    expected = {
        "error-rate": (Level.PLATFORM, spec.Metric.ERROR_RATE, None, 0.05),
        "compliance-rate": (Level.PLATFORM, spec.Metric.COMPLIANCE_RATE, 0.5, None),
        "latency-p95": (Level.GUIDELINE, spec.Metric.LATENCY_P95_MS, None, 15000),
        "cost-per-1k-rows": (Level.GUIDELINE, spec.Metric.COST_PER_1K_ROWS_USD, None, 2.0),
        "triage-compliance": (Level.DEVELOPER, spec.Metric.COMPLIANCE_RATE, 0.9, None),
    }
    assert {k: slas.get(k) for k in expected} == expected


def test_user_instructions_become_user_policies() -> None:
    resolved = spec.load(SPEC_DIR / JOB, user_instructions=["Answer in French.", "Be brief."])
    users = [rp for rp in resolved.policies if rp.item.level is Level.USER]
    assert [(rp.item.id, rp.item.instruction) for rp in users] == [
        ("user.1", "Answer in French."),
        ("user.2", "Be brief."),
    ]
    assert {rp.origin.file for rp in users} == {"<run>"}
    assert [p.instruction for p in resolved.policies_at(Level.USER)] == [
        "Answer in French.",
        "Be brief.",
    ]


@pytest.mark.parametrize(
    ("level", "severity"),
    [
        (Level.PLATFORM, spec.Severity.ERROR),
        (Level.DEVELOPER, spec.Severity.ERROR),
        (Level.USER, spec.Severity.ERROR),
        (Level.GUIDELINE, spec.Severity.WARN),
    ],
)
def test_severity_follows_authority(level: Level, severity: spec.Severity) -> None:
    assert spec.severity_of(level) is severity


# --- errors point at file, field and line -------------------------------------------------------

CIRCLE = {"a.yaml": "name: A\nextends: [b.yaml]\n", "b.yaml": "name: B\nextends: [a.yaml]\n"}

# id, edits, extra files, (file at fault, line anchor in it or None), field, message fragments
ERROR_CASES = [
    (
        "misspelt column field",
        [(JOB, "customer_name: {description:", "customer_name: {descripton:")],
        None,
        (JOB, "customer_name: {descripton"),
        "source.columns.customer_name.descripton",
        ["unknown field 'descripton'", "valid fields here: type, description, required"],
    ),
    (
        "misspelt top-level field",
        [(JOB, "\nsource:\n", "\nsourc:\n")],
        None,
        (JOB, "sourc:"),
        "sourc",
        ["unknown field 'sourc'", "valid fields here:", "source", "redaction", "model"],
    ),
    (
        "misspelt key of a check (inside the rule union)",
        [(JOB, "field: summary, max: 280}", "field: summary, maxx: 280}")],
        None,
        (JOB, "maxx: 280"),
        "policies.2.check.maxx",
        ["unknown field 'maxx'", "valid fields here: type, field, max"],
    ),
    (
        "misspelt output field",
        [(JOB, "    max_length: 280\n\npolicies:", "    max_lenght: 280\n\npolicies:")],
        None,
        (JOB, "max_lenght: 280"),
        "output.summary.max_lenght",
        ["unknown field 'max_lenght'", "valid fields here: type, description, enum, max_length"],
    ),
    (
        "bad value of a field named like a rule type",
        [(JOB, "    max_length: 280\n\npolicies:", "    max_length: 0\n\npolicies:")],
        None,
        (JOB, "    max_length: 0"),
        "output.summary.max_length",
        ["greater than 0"],
    ),
    (
        "unknown authority level",
        [
            (
                JOB,
                "  - id: summary-present\n    level: developer",
                "  - id: summary-present\n    level: admin",
            )
        ],
        None,
        (JOB, "level: admin"),
        "policies.1.level",
        ["'admin'", "'platform', 'developer', 'user' or 'guideline'"],
    ),
    (
        "unknown rule type",
        [(JOB, "check: {type: not_empty,", "check: {type: nonempty,")],
        None,
        (JOB, "type: nonempty"),
        "policies.1.check",
        ["'nonempty'", "'not_empty'", "'no_pii'"],
    ),
    (
        "malformed YAML",
        [(JOB, "max_cost_usd: 5.0", "max_cost_usd: [5.0")],
        None,
        (JOB, "examples:"),
        None,
        ["invalid YAML"],
    ),
    (
        "missing extends file",
        [(JOB, "extends: [platform.yaml]", "extends: [team.yaml]")],
        None,
        (JOB, "extends:"),
        "extends",
        ["extends names 'team.yaml', which does not exist"],
    ),
    (
        "circular extends",
        [(JOB, "extends: [platform.yaml]", "extends: [a.yaml]")],
        CIRCLE,
        ("b.yaml", "extends:"),
        "extends",
        ["circular extends", "a.yaml -> b.yaml -> a.yaml"],
    ),
    (
        "check names an unknown output field",
        [
            (
                JOB,
                "check: {type: not_empty, fields: [summary]}",
                "check: {type: not_empty, fields: [summry]}",
            )
        ],
        None,
        (JOB, "id: summary-present"),
        "policies.summary-present.check",
        ["'summry'", "valid: category, urgency, sentiment, summary"],
    ),
    (
        "prompt_columns names an unknown source column",
        [
            (
                JOB,
                "prompt_columns: [channel, subject, body]",
                "prompt_columns: [channel, subjct, body]",
            )
        ],
        None,
        (JOB, "prompt_columns:"),
        "model.prompt_columns",
        ["'subjct' is not a source column", "valid: body, channel, created_at"],
    ),
    (
        "redaction names an unknown source column",
        [(JOB, "known_values: [customer_name]", "known_values: [customer]")],
        None,
        (JOB, "known_values:"),
        "redaction.known_values",
        ["'customer' is not a source column"],
    ),
    (
        "source key is not a column",
        [(JOB, "key: ticket_id", "key: id")],
        None,
        (JOB, "source:"),
        "source",
        ["key='id' is not one of the columns"],
    ),
    (
        "SLA with both bounds",
        [(JOB, "    min: 0.9\n", "    min: 0.9\n    max: 1.0\n")],
        None,
        (JOB, "id: triage-compliance"),
        "slas.0",
        ["exactly one of min or max"],
    ),
]


@pytest.mark.parametrize(
    ("edits", "extra", "at", "field", "fragments"),
    [pytest.param(*case[1:], id=case[0]) for case in ERROR_CASES],
)
def test_spec_errors_name_file_field_and_line(
    tmp_path: Path,
    edits: list[Edit],
    extra: dict[str, str] | None,
    at: tuple[str, str],
    field: str | None,
    fragments: list[str],
) -> None:
    job = make_specs(tmp_path, edits, extra)
    err = load_error(job)
    file, anchor = at
    line = line_containing(tmp_path / file, anchor)
    assert err.file.name == file
    assert err.field == field
    assert err.line == line
    message = str(err)
    assert message.startswith(f"{tmp_path / file}:{line}")
    if field is not None:
        assert f"({field})" in message
    for fragment in fragments:
        assert fragment in message


def test_a_spec_that_is_not_a_mapping_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text("- just\n- a list\n")
    err = load_error(path)
    assert "must be a YAML mapping" in str(err)
    assert err.file == path


def test_a_missing_job_file_is_an_error(tmp_path: Path) -> None:
    err = load_error(tmp_path / "nope.yaml")
    assert "file not found" in str(err)
    assert err.file.name == "nope.yaml"


# --- the chain of command -----------------------------------------------------------------------


def test_job_policy_reusing_a_platform_id_clashes_naming_both_places(tmp_path: Path) -> None:
    job = make_specs(tmp_path, [(JOB, "- id: triage-urgency", "- id: json-only")])
    err = load_error(job)
    platform_line = line_containing(tmp_path / PLATFORM, "id: json-only")
    job_line = line_containing(job, "id: json-only")
    assert (err.file, err.line, err.field) == (job, job_line, "policies.json-only")
    assert f"{tmp_path / PLATFORM}:{platform_line}" in str(err)
    assert "platform rules cannot be overridden" in str(err)


def test_a_developer_policy_may_override_a_guideline(tmp_path: Path) -> None:
    anchor = "  - id: concise-summaries\n    level: guideline\n    description: Summaries fit"
    job = make_specs(tmp_path, [(JOB, anchor, anchor.replace("guideline", "developer"))])
    resolved = spec.load(job)
    concise = [rp for rp in resolved.policies if rp.item.id == "concise-summaries"]
    assert len(concise) == 1
    assert concise[0].item.level is Level.DEVELOPER
    assert concise[0].origin == spec.Origin(
        file=str(job), line=line_containing(job, "id: concise-summaries")
    )
    assert concise[0].overrides == spec.Origin(
        file=str(tmp_path / PLATFORM),
        line=line_containing(tmp_path / PLATFORM, "id: concise-summaries"),
    )


TEAM = """\
name: Support team
policies:
  - id: tone
    level: {level}
    overridable: {overridable}
    description: The tone of summaries.
    instruction: Write formally.
"""

# The base level and flag of a team policy `tone`, and the level at which the job redeclares it.
OVERRIDES = [
    ("guideline", "false", "developer", True),
    ("guideline", "false", "user", True),
    ("developer", "true", "user", True),
    ("developer", "false", "user", False),
    ("developer", "true", "developer", False),  # overridable means by users, not other developers
    ("developer", "true", "guideline", False),
    ("platform", "true", "user", False),  # nothing overrides a platform rule, whatever it says
]


@pytest.mark.parametrize(("base_level", "overridable", "job_level", "allowed"), OVERRIDES)
def test_override_follows_the_chain_of_command(
    tmp_path: Path, base_level: str, overridable: str, job_level: str, allowed: bool
) -> None:
    redeclared = (
        f"policies:\n  - id: tone\n    level: {job_level}\n    description: Tone.\n"
        "    instruction: Write casually.\n"
    )
    job = make_specs(
        tmp_path,
        [
            (JOB, "extends: [platform.yaml]", "extends: [platform.yaml, team.yaml]"),
            (JOB, "policies:\n", redeclared),
        ],
        {"team.yaml": TEAM.format(level=base_level, overridable=overridable)},
    )
    team_line = line_containing(tmp_path / "team.yaml", "id: tone")
    if allowed:
        tone = next(rp for rp in spec.load(job).policies if rp.item.id == "tone")
        assert tone.item.level.value == job_level
        assert tone.item.instruction == "Write casually."
        assert tone.overrides == spec.Origin(file=str(tmp_path / "team.yaml"), line=team_line)
    else:
        err = load_error(job)
        assert err.field == "policies.tone"
        assert err.line == line_containing(job, "id: tone")
        assert f"team.yaml:{team_line} ({base_level})" in str(err)


# --- the spec hash ------------------------------------------------------------------------------

SAME_HASH = [
    ("comment", [(JOB, "budget:\n", "# caps per run\nbudget:  # in US dollars\n")]),
    ("platform comment", [(PLATFORM, "policies:\n", "policies:  # the hard rules\n")]),
    (
        "key order",
        [(JOB, "temperature: 0\n  max_tokens: 200", "max_tokens: 200\n  temperature: 0")],
    ),
    (
        "flow mapping key order",
        [
            (
                JOB,
                "{type: max_length, field: summary, max: 280}",
                "{max: 280, field: summary, type: max_length}",
            )
        ],
    ),
    (
        "mapping style",
        [
            (
                JOB,
                "check: {type: not_empty, fields: [summary]}",
                "check:\n      type: not_empty\n      fields:\n        - summary",
            )
        ],
    ),
]

CHANGED_HASH = [
    ("rule threshold", [(JOB, "field: summary, max: 280}", "field: summary, max: 200}")]),
    ("job SLA threshold", [(JOB, "min: 0.9", "min: 0.8")]),
    ("platform SLA threshold", [(PLATFORM, "max: 0.05", "max: 0.1")]),
    (
        "platform instruction",
        [(PLATFORM, "Answer with one JSON object and nothing else.", "Answer in JSON.")],
    ),
    ("output enum", [(JOB, "enum: [low, medium, high]", "enum: [low, high]")]),
    ("model parameter", [(JOB, "temperature: 0\n", "temperature: 0.5\n")]),
]


@pytest.fixture(scope="module")
def real_hash(real: spec.ResolvedSpec) -> str:
    return real.spec_hash


def test_spec_hash_does_not_depend_on_the_folder(tmp_path: Path, real_hash: str) -> None:
    assert spec.load(make_specs(tmp_path)).spec_hash == real_hash
    assert len(real_hash) == 16 and int(real_hash, 16) >= 0


@pytest.mark.parametrize("edits", [pytest.param(e, id=i) for i, e in SAME_HASH])
def test_spec_hash_ignores_what_does_not_change_enforcement(
    tmp_path: Path, real_hash: str, edits: list[Edit]
) -> None:
    assert spec.load(make_specs(tmp_path, edits)).spec_hash == real_hash


@pytest.mark.parametrize("edits", [pytest.param(e, id=i) for i, e in CHANGED_HASH])
def test_spec_hash_changes_with_what_is_enforced(
    tmp_path: Path, real_hash: str, edits: list[Edit]
) -> None:
    assert spec.load(make_specs(tmp_path, edits)).spec_hash != real_hash


def test_user_instructions_change_the_hash(real_hash: str) -> None:
    with_user = spec.load(SPEC_DIR / JOB, user_instructions=["Answer in French."])
    assert with_user.spec_hash != real_hash


# --- yaml_lines ---------------------------------------------------------------------------------

YAML = """\
# a comment
name: Demo
source:
  columns:
    body: {required: true}
policies:
  - id: first
  - id: second
    level: developer
"""

LINES = [
    ((), 2),
    (("name",), 2),
    (("source",), 3),
    (("source", "columns", "body"), 5),
    (("source", "columns", "body", "required"), 5),
    (("policies", 0), 7),
    (("policies", 1), 8),
    (("policies", 1, "level"), 9),
    (("policies", 1, "nonexistent"), 8),  # falls back to the nearest ancestor
    (("missing", "deeper"), 2),  # and finally to the document
]


@pytest.mark.parametrize(("loc", "line"), LINES)
def test_line_of_maps_key_paths_to_lines(tmp_path: Path, loc: tuple, line: int) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(YAML)
    data, lines = load_with_lines(path)
    assert data["policies"][1]["level"] == "developer"
    assert line_of(lines, loc) == line


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("name: [unclosed\nother: 1\n", 2, "invalid YAML"),
        ("name: a\n  bad: indent\n", 2, "invalid YAML"),
        ("a: 1\n\tb: 2\n", 2, "invalid YAML"),
    ],
)
def test_invalid_yaml_points_at_its_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_with_lines(path)
    assert info.value.line == line
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"{path}:{line}: ")


# --- ids, user overrides and fuzzing -----------------------------------------------------------


def test_duplicate_policy_ids_in_one_file_name_both_lines(tmp_path: Path) -> None:
    anchor = "  - id: summary-present\n"
    duplicate = (
        "  - id: summary-present\n    level: developer\n    description: again\n"
        "    instruction: Summarise.\n\n" + anchor
    )
    path = make_specs(tmp_path, [(JOB, anchor, duplicate)])
    error = load_error(path)
    first = line_containing(path, "- id: summary-present")
    assert error.line == first + 5
    assert f"already declared at line {first}" in str(error)
    assert error.field == "policies.5.id" or error.field.endswith(".id")


def test_a_user_instruction_can_override_an_overridable_developer_policy() -> None:
    resolved = spec.load(SPEC_DIR / JOB, ["triage-urgency=Everything is low urgency."])
    policy = next(rp for rp in resolved.policies if rp.item.id == "triage-urgency")
    assert policy.item.level is Level.USER
    assert policy.item.instruction == "Everything is low urgency."
    assert policy.origin.file == "<run>" and policy.overrides is not None
    assert "support_triage.yaml" in policy.overrides.file


def test_a_user_instruction_cannot_override_a_platform_policy() -> None:
    with pytest.raises(SpecError) as info:
        spec.load(SPEC_DIR / JOB, ["no-pii-in-output=Names are fine."])
    assert "platform rules cannot be overridden" in str(info.value)
    assert "platform.yaml:" in str(info.value)


_FRAGMENTS = st.sampled_from(
    [
        "job: x",
        "level: admin",
        "extends: [platform.yaml]",
        "- id: a",
        "  check: {type: enum}",
        "source:",
        "  table: raw.t",
        "  columns: {}",
        "output: {}",
        "policies:",
        "{",
        "]",
        "- ",
        "  - id: b\n    level: guideline\n    description: d\n    instruction: i",
        "\t",
        "'",
        ": :",
        "model: {prompt_columns: [a], task: t}",
        "owner: o",
        "redaction: {columns: []}",
        "null",
        "&a [*a]",
        "!!python/object:os.system ''",
    ]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    mutation=st.one_of(
        st.lists(_FRAGMENTS, max_size=12).map("\n".join),
        st.text(max_size=200),
    ),
    keep=st.integers(min_value=0, max_value=2000),
)
def test_any_spec_text_loads_or_fails_with_a_spec_error(
    tmp_path: Path, mutation: str, keep: int
) -> None:
    """Fuzz: a truncated real spec with random text appended never ends in a traceback."""
    real_text = (SPEC_DIR / JOB).read_text()
    shutil.copy(SPEC_DIR / PLATFORM, tmp_path / PLATFORM)
    path = tmp_path / JOB
    path.write_text(real_text[:keep] + "\n" + mutation, encoding="utf-8")
    try:
        spec.load(path)
    except SpecError as error:
        assert str(error).startswith(str(path))


def test_alert_routes_come_from_the_nearest_spec_that_names_them(tmp_path: Path) -> None:
    route = "\nalerts:\n  sinks:\n    - {type: log, name: platform-log}\n"
    path = make_specs(tmp_path, extra={PLATFORM: (SPEC_DIR / PLATFORM).read_text() + route})
    own = spec.load(path)  # the job names its own sinks: they win
    assert "platform-log" not in [s.label for s in own.alerts.sinks]
    text = path.read_text()
    start = text.index("\nalerts:")
    path.write_text(text[:start] + text[text.index("\nbudget:", start) :])  # the job names none
    inherited = spec.load(path)
    assert [s.label for s in inherited.alerts.sinks] == ["platform-log"]
    assert inherited.spec_hash == own.spec_hash  # routing is not enforcement
