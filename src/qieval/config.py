"""Project params: ``params/<project>.yaml`` → a typed, validated :class:`ProjectConfig`.

The schema is declarative (pydantic models); every problem is reported as
``params/<project>.yaml:LINE:key.path: message`` with the YAML line of the offending key, so an
analyst can fix the file without reading a traceback.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .disclosure import DisclosureParams
from .errors import InputError, Problem
from .format import unsafe_name

DEFAULT_CATEGORIES = ["education", "staffing", "IT", "process", "other"]


def display_path(path: Path | str) -> str:
    """Path as a user should see it: relative to the working directory when below it."""
    p = Path(path)
    try:
        rel = os.path.relpath(p.resolve(), Path.cwd())
    except ValueError:  # different drive (Windows)
        return str(p)
    return str(p) if rel.startswith("..") else rel


def find_params(params_path: str | Path) -> Path:
    """The params file a user means: ``params_path`` itself when it exists or is absolute; a relative
    path not found from the working directory is looked up from each parent folder in turn, so a
    notebook whose kernel starts in ``notebooks/`` (JupyterLab's Run All) finds
    ``params/<project>.yaml`` at the project root. Returns the path as given when nothing matches."""
    path = Path(params_path)
    if path.is_absolute() or path.exists():
        return path
    for parent in Path.cwd().resolve().parents:
        if (parent / path).is_file():
            return parent / path
    return path


def project_path(root: Path, path: str | Path | None) -> Path | None:
    """An output folder given in a notebook's parameters: absolute as given, relative to the project
    ``root`` (the folder above ``params/``), not to the working directory; ``None`` stays ``None``."""
    return None if path is None else Path(root) / path


def _month(value: Any) -> dt.date:
    """Parse ``YYYY-MM`` or an ISO date (YAML may already have made it a date) to a month start."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.replace(day=1)
    text = str(value).strip()
    for fmt in ("%Y-%m", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).date().replace(day=1)
        except ValueError:
            pass
    raise ValueError(f"expected a month as YYYY-MM or a date as YYYY-MM-DD, got {text!r}")


def _safe_id(value: str) -> str:
    """An id that becomes a file name (site, project): see :func:`qieval.format.unsafe_name`."""
    why = unsafe_name(value)
    if why:
        shown = value[:40] + ("…" if len(value) > 40 else "")
        raise ValueError(f"unsafe id ({why}), got {shown!r}")
    return value


#: Ids that become file names (``reports/<project>/sites/<site>.html``).
SafeId = Annotated[str, AfterValidator(_safe_id)]


def require_unique(ids: list[str], what: str) -> None:
    """Raise ValueError naming every id given more than once (for pydantic validators)."""
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"duplicate {what}: {', '.join(dupes)}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(_Model):
    """An inclusive range of months (start and end are month starts)."""

    #: First month of the period, ``YYYY-MM``.
    start: dt.date
    #: Last month of the period (included), ``YYYY-MM``.
    end: dt.date

    _parse = field_validator("start", "end", mode="before")(lambda v: _month(v))

    @model_validator(mode="after")
    def _ordered(self) -> "Period":
        if self.end < self.start:
            raise ValueError(f"end {self.end:%Y-%m} is before start {self.start:%Y-%m}")
        return self


class Aim(_Model):
    """The aim statement of the Model for Improvement: what, how much, by when."""

    #: The aim in one or two sentences (shown at the top of the reports).
    statement: str
    #: What is to improve, in a few words.
    what: str
    #: How much, e.g. "100% of register patients" or "50% fewer".
    how_much: str
    #: By when, ``YYYY-MM``.
    by_when: dt.date

    _parse = field_validator("by_when", mode="before")(lambda v: _month(v))


class Reference(_Model):
    """A fixed comparison line, e.g. the expected register prevalence of 1% (GSF estimate)."""

    #: The reference value, in the measure's unit (e.g. 1.0 for 1%).
    value: float
    #: What the line is, as shown on the chart and in the text.
    label: str


class Aggregate(_Model):
    """One aggregate over the record-level rows of a site and period (see :mod:`qieval.records`).

    Exactly one of ``count_distinct`` (a column or a name in ``records.columns``, e.g. ``patient``),
    ``count`` (``true``: rows), ``sum``/``mean``/``median`` (a SQL expression over the columns) or
    ``list_size`` (``true``: the site's registered list size from sites.csv); ``where`` is an
    optional SQL condition (DuckDB dialect) restricting the rows counted.
    """

    #: Count distinct values of this column (or ``records.columns`` role, e.g. ``patient``).
    count_distinct: str | None = None
    #: ``true``: count the rows.
    count: bool | None = None
    #: Sum of this SQL expression over the rows.
    sum: str | None = None
    #: Mean of this SQL expression over the rows.
    mean: str | None = None
    #: Median of this SQL expression over the rows.
    median: str | None = None
    #: ``true``: the site's ``list_size`` from sites.csv (an error for a site whose list size is blank).
    list_size: bool | None = None
    #: SQL condition (DuckDB dialect) restricting the rows aggregated.
    where: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> "Aggregate":
        kinds = [k for k in ("count_distinct", "count", "sum", "mean", "median", "list_size")
                 if getattr(self, k) not in (None, False)]
        if len(kinds) != 1:
            raise ValueError("give exactly one of count_distinct, count, sum, mean, median or "
                             f"list_size (got {', '.join(kinds) or 'none'})")
        if self.list_size and self.where:
            raise ValueError("list_size takes no 'where' (it is the site's registered list size)")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("count_distinct", "count", "sum", "mean", "median", "list_size")
                    if getattr(self, k) not in (None, False))


class RecordDefinition(_Model):
    """How a measure is derived from record-level rows: ``numerator`` (and ``denominator``) for
    percent, rate and count measures; ``value`` (a mean or median) for continuous ones."""

    #: The numerator (percent, rate and count measures).
    numerator: Aggregate | None = None
    #: The denominator (percent and rate measures).
    denominator: Aggregate | None = None
    #: The value (continuous measures), e.g. ``{mean: minutes}``.
    value: Aggregate | None = None


class RecordCheck(_Model):
    """A data-quality rule on the records: ``require`` must hold on every row (SQL condition)."""

    #: The column the rule is about (named in the problem report).
    column: str
    #: SQL condition every row must satisfy.
    require: str
    #: What a failing row is told (default: the condition).
    message: str | None = None


class RecordSource(_Model):
    """Record-level input (one row per patient per period, or per referral …).

    Either ``file`` (CSV or Parquet, relative to the data directory) or ``sql`` + ``url`` (a
    SQLAlchemy URL; ``${ENV_VAR}`` is expanded from the environment, so passwords stay out of the
    params). ``columns`` maps the roles ``site``, ``period`` (and optionally ``patient``) to source
    columns; ``derive`` adds named SQL expressions (e.g. ``day_type``) usable in definitions and
    breakdowns; ``checks`` are extra data-quality rules.
    """

    #: CSV or Parquet file of records, relative to the data directory.
    file: str | None = None
    #: SQL query returning the records (with ``url``).
    sql: str | None = None
    #: SQLAlchemy URL of the database; ``${ENV_VAR}`` is expanded from the environment.
    url: str | None = None
    #: Source column of each role: ``site``, ``period`` (required) and ``patient``.
    columns: dict[str, str] = Field(default_factory=dict)
    #: Named SQL expressions added as columns, usable in definitions and breakdowns.
    derive: dict[str, str] = Field(default_factory=dict)
    #: Extra data-quality rules on the records.
    checks: list[RecordCheck] = Field(default_factory=list)

    @model_validator(mode="after")
    def _source(self) -> "RecordSource":
        if bool(self.file) == bool(self.sql):
            raise ValueError("give either 'file' or 'sql' (with 'url'), not both or neither")
        if self.sql and not self.url:
            raise ValueError("'sql' needs 'url' (a SQLAlchemy URL, e.g. postgresql+psycopg://…)")
        missing = [r for r in ("site", "period") if r not in self.columns]
        if missing:
            raise ValueError(f"'columns' must name the source column of: {', '.join(missing)}")
        return self


class PlanItem(_Model):
    """A measure of the measure plan that is not charted (e.g. qualitative patient feedback)."""

    #: What is measured, e.g. "Patient experience interviews".
    title: str
    #: Outcome, process or balancing measure.
    type: Literal["outcome", "process", "balancing"]
    #: How the data are collected.
    collection: str


#: The ``chart:`` values that fit each unit: run (median, Anhøj rules), i (XmR: I chart with its
#: moving-range chart), p and pp (Laney p′) for percentages, u and up (Laney u′) for rates, c for counts.
CHARTS_FOR_UNIT = {"percent": ("run", "i", "p", "pp"), "rate": ("run", "i", "u", "up"),
                   "count": ("run", "i", "c"), "continuous": ("run", "i")}


class AttributionSettings(_Model):
    """How the attribution section fits each measure (``qieval.attribution.fit``).

    Given once per project (``attribution:``) and, where a measure needs something else, per measure
    (``measures[i].attribution:``, only the keys it changes). ``docs/attribution_methods.md`` explains
    the choices and the simulation behind the defaults.
    """

    #: How a change's effect may develop: auto (effect by month since the start, with several sites),
    #: step (a level change), ramp (level and slope change) or event_time.
    impact: Literal["auto", "step", "ramp", "event_time"] = "auto"
    #: auto/calendar: site and calendar-month effects with several sites; trend: an interrupted time
    #: series against one linear trend (labelled so, never quoted in the abstract).
    time_effects: Literal["auto", "calendar", "trend"] = "auto"
    #: auto (the wider of quasi-likelihood and cluster-robust by site with 3+ sites; for one site's
    #: series the wider of quasi-likelihood and Newey–West), model, cluster, model+cluster or model+hac.
    interval: Literal["auto", "model", "cluster", "model+cluster", "model+hac"] = "auto"
    #: Seasonality for single series (site reports) and trend models: pairs of monthly sin/cos terms.
    harmonics: int = Field(default=0, ge=0, le=5)
    #: Months needed before and after a category's start; a site report makes no claim for a
    #: category with fewer at that site (it shows the pooled estimate instead).
    min_points: int = Field(default=8, ge=1, le=120)

    def merged(self, override: "AttributionSettings | None") -> "AttributionSettings":
        """These settings with the keys ``override`` sets replaced."""
        if override is None:
            return self
        return self.model_copy(update={k: getattr(override, k) for k in override.model_fields_set})


class Measure(_Model):
    """One measure of the IHI Model for Improvement.

    ``unit``: ``percent`` (numerator/denominator × 100), ``rate`` (numerator/denominator × ``per``),
    ``count`` (numerator only, denominator blank) or ``continuous`` (the ``value`` column).
    """

    #: Short id: letters, digits, '_' or '-' (used in measure_values.csv and file names).
    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$", max_length=64)
    #: Title shown on the charts and tables.
    title: str
    #: Outcome, process or balancing measure (IHI Model for Improvement).
    type: Literal["outcome", "process", "balancing"]
    #: Definition of the numerator in words (required for percent, rate and count measures).
    numerator: str | None = None
    #: Definition of the denominator in words (required for percent and rate measures).
    denominator: str | None = None
    #: percent (numerator/denominator × 100), rate (× ``per``; the denominator may be a
    #: non-integer population such as person-years), count (numerator only) or continuous (``value``).
    unit: Literal["percent", "rate", "count", "continuous"]
    #: Rates are given per this many units of the denominator, e.g. 1000.
    per: int = Field(default=1, ge=1)
    #: How the unit is written after a number, e.g. "medicines per patient" or "attendances"
    #: (default: %, "per <per>", none for counts).
    unit_label: str | None = None
    #: Which way is better: increase, decrease, or neutral (no better direction).
    improvement_direction: Literal["increase", "decrease", "neutral"]
    #: Target value in the measure's unit (drawn on the charts; MDC assurance icon).
    target: float | None = None
    #: When the target should be met, ``YYYY-MM``.
    target_date: dt.date | None = None
    #: A fixed comparison line such as an expected prevalence.
    reference: Reference | None = None
    #: Decimal places shown (a count measure that does not set it shows whole numbers); more are
    #: used where an interval would otherwise print with equal ends, or a value below 1 with fewer
    #: than two significant figures.
    decimals: int = Field(default=1, ge=0, le=6)
    #: Attribution settings for this measure (only the keys that differ from the project's).
    attribution: AttributionSettings | None = None
    #: Chart instead of the automatic choice: run (run chart), i (XmR: I chart with its moving-range
    #: chart), p or pp (Laney p′) for percent measures, u or up (Laney u′) for rates, c for counts
    #: (run and i fit every unit). A p, u or c chart on over-dispersed data is kept, with a caution.
    chart: Literal["run", "i", "p", "pp", "u", "up", "c"] | None = None
    #: Recalculate SPC limits at these months (``YYYY-MM``) or at ``{first_cycle: <category>}``.
    recalculate_at: list[str | dict[Literal["first_cycle"], str]] | None = None
    #: Derive the values from the project's record-level ``records`` (qieval.records).
    from_records: RecordDefinition | None = None
    #: Column (or ``records.derive`` name) to break the measure down by, e.g. ``imd_quintile``.
    breakdown: str | None = None
    #: How the data are collected (the measure plan), e.g. "Via ePACT2 dataset and local PCNs".
    collection: str | None = None

    @field_validator("recalculate_at", mode="before")
    @classmethod
    def _months(cls, v):
        if v is None:
            return v
        return [x if isinstance(x, dict) else _month(x).strftime("%Y-%m") for x in v]

    _parse = field_validator("target_date", mode="before")(
        lambda v: None if v is None else _month(v)
    )

    @model_validator(mode="after")
    def _definitions(self) -> "Measure":
        if self.unit in ("percent", "rate") and not (self.numerator and self.denominator):
            raise ValueError(
                f"a {self.unit} measure needs 'numerator' and 'denominator' definitions in words"
            )
        if self.unit == "count" and not self.numerator:
            raise ValueError("a count measure needs a 'numerator' definition in words")
        fits = CHARTS_FOR_UNIT[self.unit]
        if self.chart is not None and self.chart not in fits:
            raise ValueError(f"chart '{self.chart}' does not fit a {self.unit} measure; use one of "
                             f"{', '.join(fits)} (or leave chart out to let qieval choose)")
        d = self.from_records
        if d is not None:
            need = {"percent": ("numerator", "denominator"), "rate": ("numerator", "denominator"),
                    "count": ("numerator",), "continuous": ("value",)}[self.unit]
            missing = [k for k in need if getattr(d, k) is None]
            extra = [k for k in ("numerator", "denominator", "value")
                     if k not in need and getattr(d, k) is not None]
            if missing or extra:
                raise ValueError(
                    f"from_records of a {self.unit} measure takes {' and '.join(need)}"
                    + (f"; missing {', '.join(missing)}" if missing else "")
                    + (f"; not {', '.join(extra)}" if extra else ""))
        return self

    @property
    def multiplier(self) -> float:
        """Scale from numerator/denominator to the reported unit (100 for percent)."""
        return 100.0 if self.unit == "percent" else float(self.per)

    @property
    def label(self) -> str:
        """Axis/table label of the unit, e.g. ``%`` or ``per 1,000`` (``rate`` for a rate per 1:
        never "per 1"). Text after a value uses :func:`qieval.report.plain_summary.value_label`."""
        if self.unit_label:
            return self.unit_label
        if self.unit == "percent":
            return "%"
        if self.unit == "rate":
            return f"per {self.per:,}" if self.per != 1 else "rate"
        return "count" if self.unit == "count" else ""


class DataSection(_Model):
    """Where the project's tables are and where they came from."""

    #: Folder of the tables, relative to the project root (default ``data/<project id>``).
    dir: str | None = None
    #: Where the data came from, in words (printed in every report).
    provenance: str = ""


class ProjectConfig(_Model):
    """A validated project: everything the pipeline needs to know from ``params/<project>.yaml``."""

    #: Short id of the project: letters, digits, '_' or '-' (names the data and report folders).
    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$", max_length=64)
    #: Title of the project (report headings).
    title: str
    #: The network or organisation the sites belong to (report headers).
    network: str = ""
    aim: Aim
    #: Site ids, as in sites.csv (each names its report file).
    sites: list[SafeId] = Field(min_length=1)
    #: How often the measures are recorded: a row per site and measure each month or each week.
    frequency: Literal["month", "week"] = "month"
    #: ``true``: a period missing from a site's series (at the start, inside or at the end of the
    #: project period) is a warning (the charts show the break), not an error.
    allow_gaps: bool = False
    #: The baseline period: SPC limits and the "before" of every comparison.
    baseline: Period
    #: The intervention period (must start after the baseline ends).
    intervention: Period
    #: Kinds of change; each PDSA cycle's ``category`` must be one of them (attribution groups by them).
    categories: list[str] = Field(default_factory=lambda: list(DEFAULT_CATEGORIES))
    #: The measures charted and compared (outcome, process and balancing).
    measures: list[Measure] = Field(min_length=1)
    #: The folder of the tables and their provenance.
    data: DataSection = DataSection()
    #: What the sites' ``list_size`` counts, as shown in the reports (e.g. "registered patients",
    #: "resident population"); ``list_size`` may be left blank where no population applies (a trust).
    population_label: str = "registered patients"
    #: Small-number policy for commissioner/public copies (qieval.disclosure; NHS Digital defaults).
    disclosure: DisclosureParams = Field(default_factory=DisclosureParams)
    #: How the attribution section fits the measures (impact model, time adjustment, intervals,
    #: seasonality, minimum points); a measure's own ``attribution:`` overrides single keys.
    attribution: AttributionSettings = Field(default_factory=AttributionSettings)
    #: Standards accreditation settings (validated by qieval.accreditation): framework id etc.
    standards: dict[str, Any] | None = None
    #: Conference abstract settings (validated by qieval.abstract): headings, limits, context.
    abstract: dict[str, Any] | None = None
    #: Record-level input from which ``from_records`` measures are derived (qieval.records).
    records: RecordSource | None = None
    #: Further measures of the measure plan that are not charted (qualitative, surveys …).
    measure_plan: list[PlanItem] | None = None
    #: What ``qieval run`` writes: always ``html``; ``pdf`` adds PDF copies of the project-level
    #: reports, ``site_pdf`` of the site reports too (qieval.farm.pdf; same as --pdf / --pdf-sites).
    outputs: list[Literal["html", "pdf", "site_pdf"]] = Field(default_factory=lambda: ["html"])
    # Filled in by load_config (not from YAML):
    params_path: Path = Path(".")
    root: Path = Path(".")
    _key_lines: dict[tuple, int] = PrivateAttr(default_factory=dict)  # YAML line of each key path

    # Consistency checks are field validators (not one model validator) so that each problem is
    # reported at its own key and YAML line.
    @field_validator("intervention")
    @classmethod
    def _after_baseline(cls, intervention: Period, info: ValidationInfo) -> Period:
        baseline = info.data.get("baseline")
        if baseline is not None and intervention.start <= baseline.end:
            raise ValueError(
                f"intervention period starts {intervention.start:%Y-%m}, "
                f"not after the baseline ends {baseline.end:%Y-%m}"
            )
        return intervention

    @field_validator("sites")
    @classmethod
    def _unique_sites(cls, sites: list[str]) -> list[str]:
        require_unique(sites, "site ids")
        return sites

    @field_validator("outputs")
    @classmethod
    def _html_output(cls, outputs: list[str]) -> list[str]:
        require_unique(outputs, "outputs")
        if "html" not in outputs:
            raise ValueError("outputs must include html (PDF copies are printed from the HTML reports)")
        return outputs

    @field_validator("measures")
    @classmethod
    def _unique_measures(cls, measures: list[Measure]) -> list[Measure]:
        require_unique([m.id for m in measures], "measure ids")
        return measures

    @property
    def data_dir(self) -> Path:
        """``data.dir`` relative to the project root, default ``data/<id>``."""
        return self.root / (self.data.dir or f"data/{self.id}")

    def key_line(self, *path: str | int) -> int | None:
        """YAML line of a setting, e.g. ``key_line("sites")`` (None if unknown or not from YAML)."""
        return self._key_lines.get(tuple(path))

    def measure(self, measure_id: str) -> Measure:
        for m in self.measures:
            if m.id == measure_id:
                return m
        raise KeyError(measure_id)


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping key (for FILE:LINE:key messages)."""


#: Largest count or value accepted from any input (a million million): beyond it a cell is a typing
#: or unit mistake, and sums of such numbers lose precision or overflow (``1e308``) in the statistics.
MAX_MAGNITUDE = 1e12


#: Largest params (or standards framework) file read, and most values its aliases (``*name``) may
#: expand to: a "billion laughs" alias bomb is refused instead of exhausting memory.
MAX_YAML_BYTES = 8 * 1024 * 1024
MAX_YAML_NODES = 200_000


class AliasBombError(yaml.composer.ComposerError):
    """Aliases that expand to more values than any params file needs (a "billion laughs")."""


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a document whose aliases expand to more than :data:`MAX_YAML_NODES` values (counted
    with each shared node's size memoised, so the check itself is linear)."""
    sizes: dict[int, int] = {}
    seen: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            kids = (node.value if isinstance(node, yaml.SequenceNode) else
                    [x for kv in node.value for x in kv] if isinstance(node, yaml.MappingNode) else [])
            sizes[key] = 1 + sum(sizes.get(id(k), 1) for k in kids)
            if sizes[key] > MAX_YAML_NODES:
                raise AliasBombError(
                    None, None, f"refused: its aliases (*name) expand to more than {MAX_YAML_NODES:,} "
                    "values (an alias bomb, 'billion laughs'?)", node.start_mark)
            continue
        if key in sizes or seen.get(key):
            continue
        seen[key] = 1
        stack.append((node, True))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((k, False) for k in node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend((x, False) for kv in node.value for x in kv)


class DuplicateKeyError(Exception):
    """The same key twice in one YAML mapping (PyYAML would silently keep the last)."""

    def __init__(self, path: tuple, line: int, first_line: int):
        self.path, self.line, self.first_line = path, line, first_line
        super().__init__(f"{'.'.join(map(str, path))} at line {line}")


def load_with_lines(text: str) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML; return the data and the 1-based line of every key path.

    Raises :class:`DuplicateKeyError` for a key given twice in one mapping.
    """
    lines: dict[tuple, int] = {}
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_expansion(node)
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    if node is None:
        return None, lines

    def walk(n: yaml.Node, path: tuple) -> None:
        lines.setdefault(path, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = k.value
                if path + (key,) in lines and isinstance(k, yaml.ScalarNode):
                    raise DuplicateKeyError(path + (key,), k.start_mark.line + 1,
                                            lines[path + (key,)])
                lines[path + (key,)] = k.start_mark.line + 1
                walk(v, path + (key,))
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, path + (i,))

    walk(node, ())
    return data, lines


def _flatten(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Map the YAML's friendly sections onto the flat model (``project:``, ``periods:``).

    Returns the flat mapping and, for each key lifted out of a section, the section's name (so a
    problem with the key is reported at its real place, e.g. ``project.title``).
    """
    out = dict(raw)
    origin: dict[str, str] = {}
    for section in ("project", "periods"):
        values = out.pop(section, None)
        if isinstance(values, dict):
            for k, v in values.items():
                if k not in out:
                    out[k] = v
                    origin[str(k)] = section
        elif values is not None:
            out[section] = values  # reported as a problem (not a mapping / unknown)
    return out, origin


#: Plain-English versions of pydantic's messages, by error type.
_EXPECTED = {
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "int_parsing": "expected a whole number",
    "int_type": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "string_type": "expected text",
    "list_type": "expected a list, e.g. [a, b] or one '- item' per line",
    "dict_type": "expected a mapping of settings (key: value lines)",
    "model_type": "expected a mapping of settings (key: value lines)",
    "model_attributes_type": "expected a mapping of settings (key: value lines)",
    "date_type": "expected a date as YYYY-MM-DD",
    "date_parsing": "expected a date as YYYY-MM-DD",
    "date_from_datetime_parsing": "expected a date as YYYY-MM-DD",
    "too_short": "expected at least one entry",
}


def _nearest(key: str, known: list[str]) -> str:
    """``; did you mean 'x'?`` for a near-miss spelling of a known key, else ``''``."""
    match = difflib.get_close_matches(key, known, n=1, cutoff=0.7)
    return f"; did you mean '{match[0]}'?" if match else ""


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model whose fields sit at ``loc`` inside :class:`ProjectConfig`."""
    model: type[BaseModel] | None = ProjectConfig
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        ann = field.annotation
        inner = [a for a in getattr(ann, "__args__", ()) if isinstance(a, type)] or [ann]
        model = next((a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return model


# ProjectConfig fields set by the loader, never written in a params file
INTERNAL_FIELDS = {"params_path", "root"}


# top-level ProjectConfig fields → the params-file section they are written under
SECTION_OF = {
    "id": "project", "title": "project", "network": "project",
    "baseline": "periods", "intervention": "periods",
}


def load_config(params_path: str | Path) -> ProjectConfig:
    """Read and validate ``params/<project>.yaml``.

    Raises :class:`InputError` with one :class:`Problem` per mistake (file, YAML line, key path).
    The project root is the folder above ``params/`` (so ``data/<id>`` resolves beside it).
    """
    path = find_params(params_path)
    label = display_path(path)
    if not path.is_file():
        raise InputError(Problem(label, None, None, "params file not found"))
    if path.stat().st_size > MAX_YAML_BYTES:
        raise InputError(Problem(label, None, None, f"params file is {path.stat().st_size:,} bytes; "
                                 f"a params file is at most {MAX_YAML_BYTES:,} bytes"))
    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")  # the UTF-8 byte-order mark, if any
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        row = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start : exc.start + 1]
        raise InputError(Problem(
            label, row, None,
            f"not UTF-8 text: byte 0x{byte.hex()} (probably "
            f"{byte.decode('cp1252', errors='replace')!r} in Latin-1/Windows-1252); save the file "
            "as UTF-8",
        )) from None
    try:
        raw, lines = load_with_lines(text)
    except DuplicateKeyError as exc:
        raise InputError(Problem(
            label, exc.line, ".".join(map(str, exc.path)),
            f"setting given twice (first on line {exc.first_line}); keep one",
        )) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        row = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "\\t" in problem or "\t" in problem:
            problem += " (a tab character: indent YAML with spaces, not tabs)"
        if isinstance(exc, AliasBombError):
            raise InputError(Problem(label, row, None, f"YAML {problem}")) from None
        raise InputError(Problem(label, row, None, f"malformed YAML: {problem}")) from None
    if not isinstance(raw, dict):
        raise InputError(Problem(label, 1, None, "expected a YAML mapping of project settings "
                                 "(key: value lines, e.g. 'project:' then '  id: my_project')"))
    root = path.resolve().parent.parent
    flat, origin = _flatten(raw)
    internal = [k for k in flat if k in INTERNAL_FIELDS]
    if internal:
        raise InputError([Problem(label, lines.get((k,)), k, "unknown setting (check the spelling)")
                          for k in internal])
    try:
        config = ProjectConfig.model_validate({**flat, "params_path": path.resolve(), "root": root})
        config._key_lines = lines
        return config
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            yaml_loc = loc
            if loc and str(loc[0]) in origin:
                yaml_loc = (origin[str(loc[0])],) + loc
            elif loc and loc[0] in SECTION_OF and (loc[0],) not in lines:
                yaml_loc = (SECTION_OF[loc[0]],) + loc
            row = None
            for k in range(len(yaml_loc), -1, -1):
                if yaml_loc[:k] in lines:
                    row = lines[yaml_loc[:k]]
                    break
            column = ".".join(str(p) for p in yaml_loc) or None
            msg = err["msg"].removeprefix("Value error, ")
            value = err.get("input")
            if err["type"] == "missing":
                msg = "required setting is missing"
            elif err["type"] == "extra_forbidden":
                model = _model_at(loc[:-1])
                known = [k for k in (model.model_fields if model else {}) if k not in INTERNAL_FIELDS]
                near = _nearest(str(loc[-1]), known)
                msg = f"unknown setting{near or ' (check the spelling)'}"
                if loc in (("project",), ("periods",)):
                    msg = "expected a mapping of settings (key: value lines)"
            else:
                msg = _EXPECTED.get(err["type"], msg)
                ctx = err.get("ctx") or {}
                if err["type"] == "greater_than_equal":
                    msg = f"expected {ctx.get('ge')} or more"
                elif err["type"] == "less_than_equal":
                    msg = f"expected {ctx.get('le')} or less"
                elif err["type"] == "string_too_long":
                    msg = f"expected at most {ctx.get('max_length')} characters, got {len(str(value))}"
                    value = None
                elif err["type"] == "string_pattern_mismatch":
                    msg = "expected letters, digits, '_' or '-' only (no spaces)"
                if err["type"] == "literal_error":
                    msg = "expected one of " + msg.removeprefix("Input should be ")
                if isinstance(value, (str, int, float, bool, dt.date)) and "got " not in msg:
                    msg = f"{msg}, got {value!r}"
            problems.append(Problem(label, row, column, msg))
        raise InputError(problems) from None
