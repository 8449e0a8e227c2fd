"""Load and validate a project's data: params + ``data/<project>/`` → typed, tidy tables.

Validation runs in two stages and reports *every* problem it finds, each as
``FILE:ROW:COLUMN: message``: stage 1 checks each table against its declarative schema
(:mod:`qieval.io.schemas`); stage 2 applies cross-column and cross-table rules
(:mod:`qieval.io.rules`) to the rows that passed stage 1.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from ..config import ProjectConfig, display_path, load_config
from ..errors import InputError, Problem
from . import rules
from .readers import RawTable, find_table, read_table
from .schemas import SCHEMAS, schema_failures

TABLES = ("sites", "measure_values", "pdsa_cycles")


@dataclass
class ProjectData:
    """A validated project.

    - ``sites``: site_id, site_name, network, list_size (int)
    - ``measure_values``: site_id, period (datetime64 month or week start), measure_id, numerator,
      denominator, value (floats; NaN where blank), row (source spreadsheet row)
    - ``pdsa_cycles``: site_id (or ``ALL``), cycle_id, start, end (datetime64; end NaT if ongoing),
      category, change_idea, plan, do, study, act
    - ``files``: table name → source file path (for provenance)
    - ``warnings``: problems that do not stop the run (e.g. allowed gaps)
    - ``breakdowns``: measures derived from records, per breakdown group (site_id, period,
      measure_id, breakdown, group, numerator, denominator, value); empty without records
    """

    config: ProjectConfig
    sites: pd.DataFrame
    measure_values: pd.DataFrame
    pdsa_cycles: pd.DataFrame
    files: dict[str, Path] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    breakdowns: pd.DataFrame = field(default_factory=pd.DataFrame)


def _problems(table: RawTable, failures: pd.DataFrame, severity: str = "error") -> list[Problem]:
    return [
        Problem(table.label, None if pd.isna(r.row) else int(r.row), r.column, r.message, severity)
        for r in failures.itertuples(index=False)
    ]


def _period(text: pd.Series, frequency: str) -> pd.Series:
    month = pd.to_datetime(text.where(text.str.len() == 7), format="%Y-%m", errors="coerce")
    day = pd.to_datetime(text.where(text.str.len() == 10), format="%Y-%m-%d", errors="coerce")
    if frequency == "month":
        day = day.dt.to_period("M").dt.to_timestamp()
    return month.fillna(day).astype("datetime64[ns]").rename(text.name)


def _date(text: pd.Series, month_end: bool = False) -> pd.Series:
    """``YYYY-MM-DD`` dates; a month ``YYYY-MM`` is its first day (or its last, ``month_end``)."""
    day = pd.to_datetime(text.where(text.str.len() == 10), format="%Y-%m-%d", errors="coerce")
    month = pd.to_datetime(text.where(text.str.len() == 7), format="%Y-%m", errors="coerce")
    if month_end:
        month = month + pd.offsets.MonthEnd(0)
    return day.fillna(month).astype("datetime64[ns]").rename(text.name)


def _number(text: pd.Series) -> pd.Series:
    return pd.to_numeric(text.where(text != ""), errors="coerce").astype("float64").rename(text.name)


def _typed_sites(raw: pd.DataFrame) -> pd.DataFrame:
    out = raw.reindex(columns=["site_id", "site_name", "network", "list_size"], fill_value="")
    out = out.assign(list_size=_number(out["list_size"]))
    return out


def _typed_values(raw: pd.DataFrame, config: ProjectConfig) -> pd.DataFrame:
    out = raw.reindex(
        columns=["site_id", "period", "measure_id", "numerator", "denominator", "value"], fill_value=""
    )
    return out.assign(
        period=_period(out["period"], config.frequency),
        numerator=_number(out["numerator"]),
        denominator=_number(out["denominator"]),
        value=_number(out["value"]),
    )


def _typed_cycles(raw: pd.DataFrame) -> pd.DataFrame:
    cols = ["site_id", "cycle_id", "start", "end", "category", "change_idea", "plan", "do", "study", "act"]
    out = raw.reindex(columns=cols, fill_value="")
    return out.assign(start=_date(out["start"]), end=_date(out["end"], month_end=True))


def _list_size_measures(config: ProjectConfig) -> list[str]:
    """Measures derived with ``{list_size: true}`` (they need every site's list size)."""
    return [m.id for m in config.measures if m.from_records is not None
            and any(a is not None and a.kind == "list_size"
                    for a in (m.from_records.numerator, m.from_records.denominator))]


def _site_rules(sites: pd.DataFrame, config: ProjectConfig, label: str) -> pd.DataFrame:
    from_list_size = _list_size_measures(config)
    return pd.concat([
        rules.positive_whole(sites["list_size"], "list size"),
        rules.within_magnitude(sites["list_size"]),
        rules.required_population(sites["list_size"], from_list_size, config.population_label),
        rules.unknown_values(sites["site_id"], config.sites, "site", "the params site list"),
    ])


def _value_rules(values: pd.DataFrame, config: ProjectConfig, site_ids: list[str], today: dt.date) -> pd.DataFrame:
    units = {m.id: m.unit for m in config.measures}
    unit = values["measure_id"].map(units).fillna("")
    proportion = unit.eq("percent")
    needs_den = unit.isin(["percent", "rate"])
    needs_num = unit.isin(["percent", "rate", "count"])
    checks = [
        rules.unknown_values(values["site_id"], site_ids, "site", "sites.csv"),
        rules.unknown_values(values["measure_id"], [m.id for m in config.measures], "measure",
                             "the params measures"),
        rules.not_in_future(values["period"], today),
        rules.required_for_unit(values["numerator"], needs_num, unit),
        rules.required_for_unit(values["denominator"], needs_den, unit),
        rules.required_for_unit(values["value"], unit.eq("continuous"), unit),
        rules.counts_not_negative(values["numerator"]),
        rules.counts_not_negative(values["denominator"]),
        rules.within_magnitude(values["numerator"]),
        rules.within_magnitude(values["denominator"]),
        rules.within_magnitude(values["value"]),
        rules.whole_for_unit(values["denominator"], unit.isin(["percent", "count"]), unit),
        rules.denominator_positive(values["denominator"], needs_den),
        rules.numerator_within_denominator(values["numerator"], values["denominator"], proportion),
        rules.duplicate_keys(values, ["site_id", "measure_id", "period"], "row for this site, measure and period"),
    ]
    return pd.concat(checks)


def _swap_hints(table: RawTable, values: pd.DataFrame, config: ProjectConfig,
                site_ids: list[str]) -> pd.DataFrame:
    """Header-row hints for columns whose headers look swapped (period/site_id, numerator/denominator)."""
    text = table.frame.reindex(columns=["site_id", "period"], fill_value="")
    looks_swapped = text["period"].isin(site_ids) & text["site_id"].str.fullmatch(r"\d{4}-\d{2}(-\d{2})?")
    percent = values["measure_id"].map({m.id: m.unit for m in config.measures}).eq("percent")
    both = percent & values["numerator"].notna() & values["denominator"].notna()
    num_over = values["numerator"].gt(values["denominator"]).where(both)
    return pd.concat([
        rules.swapped_columns(looks_swapped, "period", "site_id", table.header_row,
                              "the period column holds site ids and site_id holds dates"),
        rules.swapped_columns(num_over, "numerator", "denominator", table.header_row,
                              "the numerator exceeds the denominator of a percent measure"),
    ])


def _cycle_rules(raw: pd.DataFrame, config: ProjectConfig, site_ids: list[str] | None,
                 today: dt.date) -> pd.DataFrame:
    cycles = _typed_cycles(raw)
    # an end given as a month (YYYY-MM) stands for its last day, but is in the future only when
    # the whole month is
    earliest_end = _date(raw.reindex(columns=["end"], fill_value="")["end"])
    return pd.concat([
        rules.unknown_values(cycles["site_id"], site_ids + ["ALL"], "site", "sites.csv, or ALL")
        if site_ids is not None else pd.DataFrame(columns=rules.COLUMNS),
        rules.unknown_values(cycles["category"], config.categories, "category",
                             "the params categories"),
        rules.end_not_before_start(cycles["start"], cycles["end"]),
        rules.not_in_future(cycles["start"], today),
        rules.not_in_future(earliest_end, today),  # a cycle still running has a blank end
    ])


def _project_span(config: ProjectConfig, periods: pd.Series, today: dt.date) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The project period the series must cover: baseline start to intervention end, or to the
    latest period in the data while the project is still running (None without data then)."""
    start = pd.Timestamp(config.baseline.start)
    end = pd.Timestamp(config.intervention.end)
    if end >= pd.Timestamp(today).to_period("M").to_timestamp():  # still running
        if periods.dropna().empty:
            return None
        end = periods.max().to_period("M").to_timestamp()
    return start, end


def _incomplete(values: pd.DataFrame, config: ProjectConfig, site_ids: list[str], today: dt.date) -> pd.DataFrame:
    """Series of measure_values missing periods at the start or end of the project period."""
    span = _project_span(config, values["period"], today)
    if span is None:
        return pd.DataFrame(columns=rules.COLUMNS)
    measures = [m.id for m in config.measures if m.from_records is None]
    sites = [s for s in config.sites if s in site_ids]
    return rules.incomplete_series(values, sites, measures, span[0], span[1], config.frequency,
                                   allowed=config.allow_gaps)


def _record_series(derived, config: ProjectConfig, today: dt.date) -> list[Problem]:
    """Periods of the project period before or after everything the records hold (the records
    engine reports each site's gaps within the records' own range): one problem per end, naming
    the records file (there is no spreadsheet row)."""
    ids = [m.id for m in config.measures if m.from_records is not None]
    periods = derived.values.loc[derived.values["measure_id"].isin(ids), "period"].dropna()
    span = _project_span(config, periods, today)
    if periods.empty or span is None:
        return []
    frame = pd.DataFrame({"site_id": "*", "measure_id": "*", "period": [periods.min(), periods.max()]})
    found = rules.incomplete_series(frame, ["*"], ["*"], span[0], span[1], config.frequency, config.allow_gaps)
    label = display_path(derived.path) if derived.path is not None else display_path(config.params_path)
    severity = "warning" if config.allow_gaps else "error"
    return [Problem(label, None, "period", m.replace("site *, measure *: no data for", "no records at any site for"),
                    severity) for m in found["message"]]


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.file, p.row or 0, p.column or "", p.message))


def load_data(config: ProjectConfig, *, today: dt.date | None = None) -> ProjectData:
    """Read and validate every table of a project; raise :class:`InputError` listing all problems."""
    today = today or rules.project_today()
    problems: list[Problem] = []
    raw: dict[str, RawTable] = {}
    # With record-level input (qieval.records) measure_values.csv is needed only for the measures
    # that are not derived from the records.
    all_from_records = all(m.from_records is not None for m in config.measures)
    for name in TABLES:
        if name == "measure_values" and all_from_records and find_table(config.data_dir, name) is None:
            raw[name] = RawTable(name, display_path(config.data_dir / "measure_values.csv"),
                                 pd.DataFrame(columns=["site_id", "period", "measure_id", "numerator",
                                                       "denominator", "value"], dtype="object"))
            continue
        try:
            raw[name] = read_table(config.data_dir, name)
        except InputError as err:
            problems.extend(err.problems)
    # A table that cannot be read is reported, and the others are still validated (without the
    # rules that need the missing one): every problem is reported at once.
    unread = [name for name in TABLES if name not in raw]
    for name in unread:
        raw[name] = RawTable(name, display_path(config.data_dir / f"{name}.csv"),
                             pd.DataFrame(columns=list(SCHEMAS[name].columns), dtype="object"))
    stage1: dict[str, set[int]] = {}
    for name, table in raw.items():
        if name in unread:
            stage1[name] = set()
            continue
        schema = SCHEMAS[name]
        if name == "measure_values" and any(m.unit == "continuous" for m in config.measures):
            schema = schema.update_column("value", required=True)
        failures = schema_failures(schema, table.frame)
        missing_columns = failures["row"].isna().any()
        stage1[name] = set(failures["row"].dropna().astype(int))
        if missing_columns:
            stage1[name] = set(table.frame.index)  # nothing usable for stage 2
        # a missing column is a problem of the header row
        failures = failures.assign(row=failures["row"].astype("object").where(
            failures["row"].notna(), table.header_row))
        problems.extend(_problems(table, failures))

    def ok(name: str) -> pd.DataFrame:
        frame = raw[name].frame
        return frame.loc[~frame.index.isin(stage1[name])]

    sites = _typed_sites(raw["sites"].frame)
    values = _typed_values(raw["measure_values"].frame, config)
    cycles = _typed_cycles(raw["pdsa_cycles"].frame)

    site_ids = list(dict.fromkeys(s for s in sites["site_id"] if s))
    problems += _problems(raw["sites"], _site_rules(_typed_sites(ok("sites")), config, raw["sites"].label))
    for missing in rules.config_sites_in_table(config, sites["site_id"]) if "sites" not in unread else []:
        problems.append(Problem(display_path(config.params_path), config.key_line("sites"), "sites",
                                f"site '{missing}' is listed in the params but not in "
                                f"{raw['sites'].label}"))
    derived = None
    if "sites" not in unread and (config.records is not None
                                  or any(m.from_records is not None for m in config.measures)):
        from ..records import derive  # record-level input

        derived = derive(config, _typed_sites(ok("sites")), today=today)
        # a blank list size is reported on its sites.csv row; its empty series is not news
        no_size = _typed_sites(ok("sites")).query("list_size.isna()")["site_id"]
        echoes = tuple(f"measure '{m}' at site '{s}' " for m in _list_size_measures(config)
                       for s in no_size)
        problems += [p for p in derived.problems if not (echoes and any(e in p.message for e in echoes))]
        from_records = {m.id for m in config.measures if m.from_records is not None}
        dup = values["measure_id"].isin(from_records)
        problems += [Problem(raw["measure_values"].label, int(r), "measure_id",
                             f"measure '{mid}' is derived from the records (from_records); remove "
                             "its rows from this table") for r, mid in values.loc[dup, "measure_id"].items()]
    values_ok = _typed_values(ok("measure_values"), config)
    value_problems = _value_rules(values_ok, config, site_ids, today)
    if "sites" in unread:  # the site ids are unknown, so no row can be said to name a wrong one
        value_problems = value_problems[~value_problems["message"].astype(str).str.startswith("unknown site ")]
    problems += _problems(raw["measure_values"], value_problems)
    problems += _problems(raw["measure_values"], _swap_hints(raw["measure_values"], values, config,
                                                             site_ids))
    # Gaps are judged on every row whose site, measure and period are usable, even if another
    # cell of the row is wrong (a bad count must not also open a "gap"); rows dated in the future
    # are errors already and must not open a huge one. While any row's site, measure or period is
    # wrong, that row's series cannot be told, so gaps are checked on the next run instead of
    # reporting a "missing" month that is really the mistyped row.
    usable = (
        values["site_id"].isin(site_ids)
        & values["measure_id"].isin([m.id for m in config.measures])
        & values["period"].notna()
    )
    keyed = values.loc[usable & ~values["period"].gt(pd.Timestamp(today))]
    gaps = rules.series_gaps(keyed, config.frequency, allowed=config.allow_gaps)
    if not values["period"].gt(pd.Timestamp(today)).any():  # a future row's series cannot be judged
        gaps = pd.concat([gaps, _incomplete(keyed, config, site_ids, today)])
    if not usable.all() or unread:  # an unread table: its series cannot be judged (reported above)
        gaps = gaps.iloc[0:0]
    warnings = _problems(raw["measure_values"], gaps, "warning") if config.allow_gaps else []
    unit_ok = values_ok["measure_id"].map({m.id: m.unit for m in config.measures}).fillna("")
    warnings += _problems(raw["measure_values"], rules.ignored_for_unit(
        values_ok["value"], unit_ok.isin(["percent", "rate", "count"]), unit_ok,
        "it is calculated from the numerator and denominator"), "warning")
    if not config.allow_gaps:
        problems += _problems(raw["measure_values"], gaps)
    problems += _problems(raw["pdsa_cycles"], _cycle_rules(ok("pdsa_cycles"), config,
                                                        None if "sites" in unread else site_ids, today))
    if config.standards:  # optional table of the accreditation extension
        from .assessments import validate_assessments

        problems += validate_assessments(config, today=today)

    if derived is not None:
        warnings += derived.warnings
        if len(derived.values):
            (warnings if config.allow_gaps else problems).extend(_record_series(derived, config, today))
    if problems:
        raise InputError(_sorted(problems))

    if derived is not None and len(derived.values):
        values = pd.concat([values.assign(row=values.index.astype("int64")),
                            derived.values.assign(row=0)], ignore_index=True)
        values.index = values.pop("row")
    # list_size: int64, or nullable Int64 where some site has none (a trust, a region)
    sizes = sites["list_size"]
    sites = sites.assign(list_size=sizes.astype("int64" if sizes.notna().all() else "Int64")
                         ).reset_index(drop=True)
    values = (
        values.assign(row=values.index.astype("int64"))
        .sort_values(["measure_id", "site_id", "period"], kind="stable")
        .reset_index(drop=True)
    )
    cycles = cycles.sort_values(["start", "cycle_id"], kind="stable").reset_index(drop=True)
    files = {}
    for name in TABLES:
        found = find_table(config.data_dir, name)
        if found:
            files[name] = found[0]
    breakdowns = pd.DataFrame()
    if derived is not None:
        if derived.path is not None:
            files["records"] = derived.path
        breakdowns = derived.breakdowns
    return ProjectData(config, sites, values, cycles, files, _sorted(warnings), breakdowns)


def validate_project(params_path: str | Path, *, today: dt.date | None = None) -> tuple[list[Problem], list[Problem]]:
    """Validate a project; return ``(errors, warnings)`` without raising."""
    try:
        config = load_config(params_path)
        data = load_data(config, today=today)
    except InputError as err:
        return err.problems, []
    return [], data.warnings


#: Optional process-wide cache of validated projects (the report farm's warm kernels install one):
#: called with the params path, returns a ProjectData or None to load and validate as usual.
_load_cache: Callable[[str | Path], "ProjectData | None"] | None = None


def set_load_cache(cache: Callable[[str | Path], "ProjectData | None"] | None) -> None:
    """Install (or remove, with None) the process-wide project cache consulted by :func:`load`.

    The public extension point through which a caller above this layer (the report farm's warm
    kernels, :func:`qieval.farm.kernel.install_load_cache`) keeps validated projects between
    reports, without this module knowing about it.

    Parameters
    ----------
    cache
        Called with the params path; returns a validated :class:`ProjectData` (a copy the caller
        may change), or None to load and validate as usual.
    """
    global _load_cache
    _load_cache = cache


def load_project(params_path: str | Path) -> ProjectData:
    """Load a project (params + data), raising :class:`InputError` on any problem."""
    if _load_cache is not None:
        data = _load_cache(params_path)
        if data is not None:
            return data
    return load_data(load_config(params_path))


def site_values(data: ProjectData, site_id: str) -> pd.DataFrame:
    """One site's measure values (helper for reports)."""
    return data.measure_values.loc[data.measure_values["site_id"] == site_id].reset_index(drop=True)


def site_cycles(data: ProjectData, site_id: str) -> pd.DataFrame:
    """PDSA cycles that apply to a site (its own and those for ``ALL``)."""
    c = data.pdsa_cycles
    return c.loc[c["site_id"].isin([site_id, "ALL"])].reset_index(drop=True)


__all__ = ["ProjectData", "load_project", "load_data", "set_load_cache", "validate_project", "site_values", "site_cycles"]

