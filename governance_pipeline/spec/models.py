"""The spec's pydantic models: every field of the YAML files in specs/, with its description.

`extra="forbid"` everywhere, so a misspelt key is an error, not a silent default.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from governance_pipeline.alerting.config import AlertsConfig
from governance_pipeline.inputs.redaction import Entity
from governance_pipeline.inputs.redaction.ner import NerEntity
from governance_pipeline.inputs.redaction.operators import Operator
from governance_pipeline.inputs.redaction.phones import DEFAULT_PHONE_REGIONS, unknown_regions
from governance_pipeline.outputs.rules import Rule
from governance_pipeline.outputs.rules.fields import Regex
from governance_pipeline.spec.fields import OutputField
from governance_pipeline.spec.identifiers import table_problem, unquoted_name_problem
from governance_pipeline.spec.yaml_lines import Loc, line_of, load_with_lines


class Level(str, Enum):
    """Authority levels, highest first. Row data has no level: it carries no authority."""

    PLATFORM = "platform"
    DEVELOPER = "developer"
    USER = "user"
    GUIDELINE = "guideline"

    @property
    def rank(self) -> int:
        """0 for platform, the highest authority."""
        return list(Level).index(self)


class Severity(str, Enum):
    """What a broken rule does: ERROR quarantines (or blocks), WARN records and lets it through."""

    ERROR = "ERROR"
    WARN = "WARN"


def severity_of(level: Level) -> Severity:
    """Severity follows authority: guidelines warn, everything above them is an error."""
    return Severity.WARN if level is Level.GUIDELINE else Severity.ERROR


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Column(_Model):
    """A source column and the expectations it must meet before a row may reach the model."""

    type: Literal["string", "integer", "float", "boolean", "timestamp"] = Field(
        "string", description="Type the value must parse as (landing tables often hold text)."
    )
    description: str = Field("", description="What the column holds.")
    required: bool = Field(False, description="The value must not be null.")
    unique: bool = Field(False, description="No two rows share a value.")
    min_length: int | None = Field(None, ge=0, description="Minimum length of the text.")
    max_length: int | None = Field(None, gt=0, description="Maximum length of the text.")
    allowed: list[str] | None = Field(None, description="The value must be one of these.")
    pattern: Regex | None = Field(None, description="Regular expression the value must match.")
    min: float | None = Field(None, description="Smallest value allowed (integer and float).")
    max: float | None = Field(None, description="Largest value allowed (integer and float).")
    max_age_hours: float | None = Field(
        None,
        gt=0,
        description="Freshness of a timestamp column: the newest value must be at most this "
        "many hours old, or the run stops.",
    )

    @model_validator(mode="after")
    def _rules_fit_the_type(self) -> Column:
        if (self.min is not None or self.max is not None) and self.type not in ("integer", "float"):
            raise ValueError(f"min and max need type integer or float, not type={self.type!r}")
        if self.max_age_hours is not None and self.type != "timestamp":
            raise ValueError(f"max_age_hours needs type timestamp, not type={self.type!r}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min={self.min} is greater than max={self.max}")
        return self


class Source(_Model):
    """The raw table the job reads."""

    table: str = Field(description="Schema-qualified DuckDB table, e.g. raw.support_tickets.")
    key: str = Field(description="Column that identifies a row; carried through every stage.")
    columns: dict[str, Column] = Field(description="Columns the job reads, with expectations.")
    min_rows: int = Field(1, ge=0, description="Fewer rows than this stops the run.")
    allow_new_columns: bool = Field(
        False,
        description="A column the spec does not list is fine; otherwise it is schema drift and "
        "stops the run, as a missing column always does.",
    )

    @field_validator("table")
    @classmethod
    def _a_table_name(cls, table: str) -> str:
        if problem := table_problem(table):
            raise ValueError(f"{problem}; name the table, not a query")
        return table

    @field_validator("key")
    @classmethod
    def _a_plain_key(cls, key: str) -> str:
        if problem := unquoted_name_problem(key):  # the stages write the key unquoted
            raise ValueError(f"key={key!r}: {problem}; rename the column")
        return key

    @model_validator(mode="after")
    def _key_is_a_column(self) -> Source:
        if self.key not in self.columns:
            raise ValueError(
                f"key={self.key!r} is not one of the columns: {', '.join(self.columns)}"
            )
        return self


class Redaction(_Model):
    """What is redacted before text reaches the model."""

    columns: list[str] = Field(description="Source columns whose text is scanned and redacted.")
    entities: list[Entity] = Field(
        default_factory=lambda: list(Entity), description="Entity types to replace by placeholders."
    )
    known_values: list[str] = Field(
        default_factory=list,
        description="Columns holding a person's name; its occurrences become <NAME_n>.",
    )
    operators: list[Operator] = Field(
        default_factory=list,
        description="Per column and entity: placeholder, mask, hash, tokenize or drop; the "
        "first that matches applies, a placeholder otherwise.",
    )
    ner: list[NerEntity] = Field(
        default_factory=list,
        description="PERSON and LOCATION found by Presidio's spaCy recognizer in the scanned "
        "columns (optional: needs the presidio extra and a spaCy pipeline package).",
    )
    phone_regions: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PHONE_REGIONS),
        description="Regions the customers' phone numbers come from, as ISO 3166 codes the way "
        "phonenumbers spells them (GB, not UK). A bare run of digits is a phone when it is valid "
        "in one of them with its trunk prefix (or as a NANP number); numbers written with "
        "separators or a +CC are found whatever their region. Default: a broad list of 69.",
    )
    independent_check: Literal["quarantine", "redact"] = Field(
        "quarantine",
        description="What happens to a row in which the independent check (a second detector "
        "that shares no code with the redactor) still finds PII of the claimed entities after "
        "redaction: `quarantine` keeps it from the model as input_quarantined with the reason "
        "`pii.independent_check: ...`; `redact` replaces what it found by <PII_n>.",
    )

    @model_validator(mode="after")
    def _regions_are_known(self) -> Redaction:
        unknown = unknown_regions(self.phone_regions)
        if unknown:
            raise ValueError(
                f"phone_regions has unknown region(s) {', '.join(map(repr, unknown))}; use "
                "ISO 3166 alpha-2 codes as phonenumbers knows them (e.g. GB for the United "
                "Kingdom, not UK)"
            )
        return self

    @model_validator(mode="after")
    def _operators_name_scanned_columns(self) -> Redaction:
        for i, op in enumerate(self.operators):
            always_dropped = op.type == "drop" and not op.entities
            unknown = [c for c in op.columns if c not in self.columns]
            if unknown and not always_dropped:
                raise ValueError(
                    f"operators[{i}] names column(s) {', '.join(unknown)}, which redaction.columns "
                    f"does not scan; valid: {', '.join(self.columns)}"
                )
        return self


class ModelParams(_Model):
    """How the model is called."""

    name: str | None = Field(None, description="Model name; defaults to the endpoint's default.")
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(256, gt=0, description="Maximum output tokens per row.")
    concurrency: int = Field(4, gt=0, description="Calls in flight at once.")
    timeout_s: float = Field(
        60.0, gt=0, description="Wall-clock timeout of each attempt of a call, in seconds."
    )
    max_retries: int = Field(
        2, ge=0, description="Retries per call on 429, 5xx, timeouts and dropped connections."
    )
    backoff_s: float = Field(
        0.5,
        gt=0,
        description="Base of the exponential backoff: retry n waits backoff_s * 2^(n-1) plus up "
        "to backoff_s of jitter (at most 30 s), or what the server's Retry-After asks.",
    )
    requests_per_minute: int | None = Field(
        None,
        gt=0,
        description="Request rate limit of the job; the lower of it and GOVERNANCE_REQUESTS_PER_"
        "MINUTE holds.",
    )
    tokens_per_minute: int | None = Field(
        None,
        gt=0,
        description="Token rate limit of the job (prompt estimate plus max_tokens per call); the "
        "lower of it and GOVERNANCE_TOKENS_PER_MINUTE holds.",
    )
    repair: bool = Field(
        False,
        description="When an output breaks the contract, ask once more with the violations "
        "stated, within the budget; both calls are recorded.",
    )
    batch: bool = Field(
        False,
        description="Send the run's calls through the OpenAI Batch API (files and batches): "
        "cheaper, results within 24 hours.",
    )
    prompt_columns: list[str] = Field(description="Source columns the model sees, after redaction.")
    task: str = Field(description="What the model must do with each row, in plain words.")


class Policy(_Model):
    """A rule of behaviour: an instruction to the model, a check on its output, or both."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_.-]*$", description="Stable identifier.")
    level: Level = Field(description="Authority: platform, developer, user or guideline.")
    description: str = Field(description="What the policy asks, for people reading the contract.")
    instruction: str | None = Field(None, description="Text put in the prompt at this level.")
    check: Rule | None = Field(None, description="Rule every output is checked against.")
    overridable: bool = Field(False, description="A developer policy that users may override.")

    @model_validator(mode="after")
    def _enforced(self) -> Policy:
        if self.instruction is None and self.check is None:
            raise ValueError("a policy needs an instruction, a check, or both")
        return self


class Metric(str, Enum):
    """Metrics an SLA can hold, over its window of runs."""

    COMPLIANCE_RATE = "compliance_rate"  # outputs that meet the contract / outputs judged
    ERROR_RATE = "error_rate"  # model calls that failed after retries / calls
    LATENCY_P50_MS = "latency_p50_ms"
    LATENCY_P95_MS = "latency_p95_ms"
    LATENCY_P99_MS = "latency_p99_ms"
    COST_PER_1K_ROWS_USD = "cost_per_1k_rows_usd"
    COST_PER_RUN_USD = "cost_per_run_usd"
    TOKENS_PER_RUN = "tokens_per_run"  # the token budget: tokens in and out
    FRESHNESS_HOURS = "freshness_hours"  # age of the published table before this run publishes
    SCHEDULE_DELAY_MINUTES = "schedule_delay_minutes"  # start of a scheduled run after its tick

    @property
    def is_rate(self) -> bool:
        """A share of successes in a sample, for which a confidence bound makes sense."""
        return self in (Metric.COMPLIANCE_RATE, Metric.ERROR_RATE)


class RollingRuns(_Model):
    """A window of the job's last N runs, the current one included."""

    runs: int = Field(ge=2, description="How many runs, the current one included.")


class Sla(_Model):
    """A promise about a run, held like a vendor's SLA."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_.-]*$", description="Stable identifier.")
    level: Level = Field(description="Authority; guidelines warn, the rest are errors.")
    metric: Metric = Field(description="What is measured.")
    min: float | None = Field(None, description="The measured value must be at least this.")
    max: float | None = Field(None, description="The measured value must be at most this.")
    description: str = Field("", description="The promise in plain words.")
    window: Literal["run", "day"] | RollingRuns = Field(
        "run",
        description="What is measured: `run` (this run), `day` (runs of the last 24 hours) or "
        "`{runs: N}` (the last N runs).",
    )
    min_sample: int = Field(
        0, ge=0, description="Below this many rows, calls or runs, no breach is declared."
    )
    confidence: float | None = Field(
        None,
        gt=0.5,
        lt=1,
        description="For rates: hold the Wilson bound at this confidence (the lower bound for "
        "`min`, the upper for `max`) instead of the point estimate.",
    )
    blocking: bool = Field(
        False, description="A breach stops publication of the run's outputs (not for guidelines)."
    )

    @model_validator(mode="after")
    def _one_bound(self) -> Sla:
        if (self.min is None) == (self.max is None):
            raise ValueError("an SLA needs exactly one of min or max")
        if self.confidence is not None and not self.metric.is_rate:
            raise ValueError(
                f"confidence applies to rates (compliance_rate, error_rate), "
                f"not metric={self.metric.value!r}"
            )
        if self.blocking and self.level is Level.GUIDELINE:
            raise ValueError("a guideline only warns: it cannot be `blocking`")
        return self


class Budget(_Model):
    """Caps per run and per day; a row that would exceed one is not called and ends
    `over_budget`, with the cap it met as its reason."""

    max_tokens: int | None = Field(None, gt=0, description="Tokens in and out per run.")
    max_cost_usd: float | None = Field(None, gt=0, description="Cost per run, in US dollars.")
    max_tokens_per_day: int | None = Field(
        None,
        gt=0,
        description="Tokens in and out per day (UTC) for the job, all its runs and processes "
        "together (`governance.spend`).",
    )
    max_cost_usd_per_day: float | None = Field(
        None,
        gt=0,
        description="Cost per day (UTC) for the job, in US dollars, all its runs and processes "
        "together (`governance.spend`).",
    )

    @property
    def daily(self) -> bool:
        """Whether a daily cap is set."""
        return self.max_tokens_per_day is not None or self.max_cost_usd_per_day is not None


class BadOutput(_Model):
    """An output the contract must reject, and why."""

    output: dict[str, Any] = Field(description="The wrong answer.")
    reason: str = Field(description="Why it is wrong, in plain words.")


class Example(_Model):
    """A worked example: documentation, few-shot material and an eval."""

    input: dict[str, Any] = Field(description="A source row (prompt columns), already redacted.")
    good: dict[str, Any] = Field(description="An output the contract accepts.")
    bad: list[BadOutput] = Field(
        default_factory=list, description="Outputs the contract must reject, with the reason."
    )


class Schedule(_Model):
    """When the job runs."""

    cron: str = Field(description="Cron expression, e.g. '0 6 * * *'.")
    timezone: str = Field("UTC", description="IANA time zone of the cron expression.")


class Partitions(_Model):
    """Time-window partitions of a job over a source timestamp column: a run of a partition
    takes the source rows whose time falls in its window, [start, end)."""

    column: str = Field(
        description="Source column (declared `type: timestamp`) that places a row in a "
        "partition; a value without an offset is read as UTC."
    )
    granularity: Literal["daily", "hourly"] = Field(
        description="One partition per day (keys like 2026-11-30) or per hour (keys like "
        "2026-11-30-14:00)."
    )
    start: datetime = Field(
        description="The first partition's start (a date, or for hourly partitions a date and "
        "hour), in `timezone`."
    )
    timezone: str = Field("UTC", description="IANA time zone in which days and hours begin.")

    @field_validator("start", mode="before")
    @classmethod
    def _a_date_or_time(cls, value: Any) -> Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                raise ValueError(
                    f"start={value!r} is not a date or a date and time; write it like "
                    "2026-11-01 (or 2026-11-01T06:00 for hourly partitions)"
                ) from None
        return value

    @field_validator("start")
    @classmethod
    def _begins_a_partition(cls, start: datetime, info: ValidationInfo) -> datetime:
        if start.tzinfo is not None:
            raise ValueError(
                f"start={start.isoformat()} has an offset; give the local date (and hour) "
                "and name the zone in `timezone`"
            )
        daily = info.data.get("granularity") != "hourly"
        if (start.second, start.microsecond, start.minute) != (0, 0, 0) or (daily and start.hour):
            unit, example = ("day", "2026-11-01") if daily else ("hour", "2026-11-01T06:00")
            raise ValueError(
                f"start={start.isoformat()} is not the start of {'a day' if daily else 'an hour'}"
                f"; {'daily' if daily else 'hourly'} partitions begin on the {unit}, e.g. "
                f"{example}"
            )
        return start

    @field_validator("timezone")
    @classmethod
    def _a_known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"timezone={zone!r} is not an IANA time zone; use a name like UTC or Europe/Paris"
            ) from None
        return zone


class BaseSpec(_Model):
    """A platform or team spec: policies and SLAs that jobs inherit."""

    name: str = Field(description="Name of the organisation or team.")
    description: str = Field("", description="What this spec governs.")
    extends: list[str] = Field(default_factory=list, description="Base specs, relative paths.")
    policies: list[Policy] = Field(default_factory=list, description="Inherited policies.")
    slas: list[Sla] = Field(default_factory=list, description="Inherited SLAs.")
    alerts: AlertsConfig | None = Field(
        None, description="Where alerts go for the jobs that extend this spec and name none."
    )


class JobSpec(BaseSpec):
    """A job: what the model is for, what it sees, and how it must behave."""

    job: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Job name; also its DuckDB schema.")
    owner: str = Field(
        description="Who answers for the job (a team address): the contact the contract "
        "document names for questions, changes and incidents."
    )
    schedule: Schedule | None = Field(
        None,
        description="When the job runs, if on a schedule; with `partitions`, each tick runs "
        "the latest partition that has ended.",
    )
    partitions: Partitions | None = Field(
        None,
        description="Time-window partitions over a source timestamp column; without it, a "
        "run takes every new or changed row.",
    )
    source: Source = Field(description="The raw table the job reads.")
    redaction: Redaction = Field(description="What is redacted before the model sees it.")
    model: ModelParams = Field(description="How the model is called.")
    output: dict[str, OutputField] = Field(description="The fields of the model's JSON output.")
    budget: Budget = Field(default_factory=Budget, description="Caps per run.")
    examples: list[Example] = Field(default_factory=list, description="Worked examples.")
    alerts: AlertsConfig | None = Field(
        None,
        description="Where failed checks and runs are alerted; without it, the nearest spec "
        "it extends that says, else the log and $GOVERNANCE_ALERT_WEBHOOK_URL.",
    )
    name: str = Field("", description="Human-readable title of the job.")

    @field_validator("job")
    @classmethod
    def _a_schema_name(cls, job: str) -> str:
        if problem := unquoted_name_problem(job):  # the job's name is its DuckDB schema
            raise ValueError(f"job={job!r}: {problem}; choose another name")
        return job


T = TypeVar("T", "Policy", "Sla")


class Origin(_Model):
    """Where a resolved item was declared."""

    file: str
    line: int | None

    def __str__(self) -> str:
        path = Path(self.file)
        if path.is_absolute() and path.is_relative_to(Path.cwd()):
            path = path.relative_to(Path.cwd())
        return f"{path}:{self.line}" if self.line else str(path)


class Resolved(_Model, Generic[T]):
    """A policy or SLA in the effective set, with where it came from and what it replaced."""

    item: T
    origin: Origin
    overrides: Origin | None = None


class ResolvedSpec(_Model):
    """A job spec with its inheritance resolved: what a run enforces."""

    job: JobSpec
    path: str
    policies: list[Resolved[Policy]]
    slas: list[Resolved[Sla]]
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    spec_hash: str
    output_hash: str
    """The part of `spec_hash` a row's outcome depends on (see `loading.output_hash`)."""

    @property
    def name(self) -> str:
        """The job's name."""
        return self.job.job

    def line_of(self, loc: Loc) -> int | None:
        """The line of a field in the job's file, for errors found after loading."""
        return line_of(load_with_lines(Path(self.path))[1], loc)

    def policies_at(self, level: Level) -> list[Policy]:
        """Effective policies of one authority level, in declaration order."""
        return [rp.item for rp in self.policies if rp.item.level is level]
