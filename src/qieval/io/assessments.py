"""The ``standards_assessments`` table: read, validate (every problem as FILE:ROW:COLUMN), type.

Columns: site_id, standard_id, round (``baseline``, ``follow-up 1``, …), assessed_on
(``YYYY-MM-DD``), level (a whole number among the framework's levels), evidence (reference text;
blank = no evidence), assessor. One row per site × standard × round.

Validated like every other input (why: a commissioner's paper must not rest on a typo): stage 1 is a
pandera schema on the text of each cell (via :func:`qieval.io.schemas.schema_failures`); stage 2 is
one small function per cross-row rule below, run on the rows that passed stage 1.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from pandera.pandas import Check, Column, DataFrameSchema

from ..config import ProjectConfig
from ..errors import InputError, Problem
from . import rules as io_rules
from .readers import RawTable, read_table
from .schemas import DATE_CHECK, REQUIRED, WHOLE_NUMBER, schema_failures
from .standards import Framework, load_for_project, settings
from .assessment_rounds import ROUND, round_label, round_numbers

COLUMNS = ["site_id", "standard_id", "round", "assessed_on", "level", "evidence", "assessor"]
RULE_COLUMNS = ["row", "column", "message"]

ROUND_CHECK = Check(
    lambda s: (s.astype(str) == "") | s.astype(str).str.fullmatch(ROUND.pattern),
    error="expected a round as 'baseline' or 'follow-up N' (e.g. follow-up 1), in lower case",
)

SCHEMA = DataFrameSchema(
    {
        "site_id": Column(None, checks=[REQUIRED]),
        "standard_id": Column(None, checks=[REQUIRED]),
        "round": Column(None, checks=[REQUIRED, ROUND_CHECK]),
        "assessed_on": Column(None, checks=[REQUIRED, DATE_CHECK]),
        "level": Column(None, checks=[REQUIRED, WHOLE_NUMBER]),
        "evidence": Column(None, required=True),
        "assessor": Column(None, checks=[REQUIRED]),
    },
    strict=False,
    name="standards_assessments",
)


def typed(raw: pd.DataFrame) -> pd.DataFrame:
    """Text cells → tidy typed columns (index kept: spreadsheet row numbers); adds ``round_no``."""
    out = raw.reindex(columns=COLUMNS, fill_value="")
    return out.assign(
        assessed_on=pd.to_datetime(out["assessed_on"].where(out["assessed_on"] != ""),
                                   format="%Y-%m-%d", errors="coerce").astype("datetime64[ns]"),
        level=pd.to_numeric(out["level"].where(out["level"] != ""), errors="coerce").astype("Int64"),
        round_no=round_numbers(out["round"]),
    )


# --- stage 2 rules: each returns row, column, message ------------------------------------------


def _out(mask: pd.Series, column: str, messages: pd.Series | str) -> pd.DataFrame:
    rows = mask[mask.fillna(False).astype(bool)].index
    msgs = [messages] * len(rows) if isinstance(messages, str) else list(messages.loc[rows])
    return pd.DataFrame({"row": list(rows), "column": column, "message": msgs}, columns=RULE_COLUMNS)


def level_in_range(level: pd.Series, framework: Framework) -> pd.DataFrame:
    """Levels must be among the framework's levels (e.g. 0 not in place … 3 embedded)."""
    lo, hi = framework.lowest_level, framework.highest_level
    bad = level.notna() & (level.lt(lo) | level.gt(hi))
    listed = "; ".join(f"{k} {v}" for k, v in sorted(framework.levels.items()))
    return _out(bad, "level", f"level out of range: expected {lo} to {hi} ({listed}), got "
                + level.astype(str))


def follow_up_without_baseline(frame: pd.DataFrame) -> pd.DataFrame:
    """A follow-up round needs a baseline assessment of the same site (progress is from baseline)."""
    with_baseline = set(frame.loc[frame["round_no"] == 0, "site_id"])
    bad = frame["round_no"].gt(0) & ~frame["site_id"].isin(with_baseline)
    return _out(bad, "round", frame["round"] + " of site '" + frame["site_id"]
                + "' has no baseline assessment (add the site's baseline rows)")


def rounds_in_date_order(frame: pd.DataFrame) -> pd.DataFrame:
    """A round must be assessed after every earlier round of the same site (e.g. a follow-up on or
    before the baseline is a mistyped date or round). Each site's rows are compared as arrays (a
    per-row pandas lookup made this the slowest step of loading a 1,000-site project)."""
    ok = frame.dropna(subset=["round_no", "assessed_on"])
    messages = pd.Series("", index=frame.index, dtype="object")
    if ok.empty:
        return _out(messages != "", "assessed_on", messages)
    labels = ok.index.to_numpy()
    round_no = ok["round_no"].to_numpy(float)
    on = pd.DatetimeIndex(ok["assessed_on"])
    stamp = on.asi8
    names = ok["round"].to_numpy(dtype=object)
    for pos in ok.groupby("site_id", sort=False).indices.values():
        r, t = round_no[pos], stamp[pos]
        for j in np.flatnonzero(r > 0):
            earlier = np.flatnonzero(r < r[j])
            if not len(earlier):
                continue
            k = earlier[np.argmax(t[earlier])]  # the first latest one, as idxmax picks
            if t[j] <= t[k]:
                here, last = pos[j], pos[k]
                messages[labels[here]] = (
                    f"{names[here]} assessed on {on[here]:%Y-%m-%d}, not after this site's "
                    f"{round_label(int(round_no[last]))} assessment on {on[last]:%Y-%m-%d} (row {labels[last]}); "
                    "rounds must be in date order")
    return _out(messages != "", "assessed_on", messages)


def stage2(frame: pd.DataFrame, config: ProjectConfig, framework: Framework,
           today: dt.date) -> pd.DataFrame:
    """Every cross-row rule on the rows that passed the schema."""
    return pd.concat([
        io_rules.unknown_values(frame["site_id"], list(config.sites), "site", "the params site list"),
        io_rules.unknown_values(frame["standard_id"], [s.id for s in framework.standards], "standard",
                                f"framework {framework.id}"),
        level_in_range(frame["level"], framework),
        io_rules.duplicate_keys(frame, ["site_id", "standard_id", "round"],
                                "assessment of this standard in this round"),
        follow_up_without_baseline(frame),
        rounds_in_date_order(frame),
        io_rules.not_in_future(frame["assessed_on"], today),
    ], ignore_index=True)


def _problems(table: RawTable, failures: pd.DataFrame) -> list[Problem]:
    return [Problem(table.label, table.header_row if pd.isna(r.row) else int(r.row), r.column, r.message)
            for r in failures.itertuples(index=False)]


def check(table: RawTable, config: ProjectConfig, framework: Framework,
          today: dt.date | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Validate a read table; return the typed frame and every problem (sorted by row)."""
    today = today or io_rules.project_today()
    failures = schema_failures(SCHEMA, table.frame)
    problems = _problems(table, failures)
    if failures["row"].isna().any():  # a missing column: nothing usable for stage 2
        return typed(table.frame), problems
    passed = table.frame.loc[~table.frame.index.isin(set(failures["row"].dropna().astype(int)))]
    problems += _problems(table, stage2(typed(passed), config, framework, today))
    problems.sort(key=lambda p: (p.row or 0, p.column or "", p.message))
    return typed(table.frame), problems


def validate_assessments(config: ProjectConfig, *, today: dt.date | None = None) -> list[Problem]:
    """Every problem with the project's framework and standards assessments (empty when valid).

    For ``qieval validate``: a project without a ``standards:`` section has nothing to check.
    """
    if not config.standards:
        return []
    try:
        framework = load_for_project(config)
        table = read_table(config.data_dir, settings(config).table)
    except InputError as err:
        return err.problems
    return check(table, config, framework, today)[1]


def load_assessments(config: ProjectConfig, framework: Framework | None = None,
                     *, today: dt.date | None = None) -> tuple[pd.DataFrame, RawTable]:
    """The validated, typed assessments (and the raw table, for provenance); raises
    :class:`InputError` listing every problem."""
    framework = framework or load_for_project(config)
    table = read_table(config.data_dir, settings(config).table)
    frame, problems = check(table, config, framework, today)
    if problems:
        raise InputError(problems)
    frame = frame.assign(row=frame.index.astype("int64"), level=frame["level"].astype("int64"),
                         round_no=frame["round_no"].astype("int64"))
    return frame.sort_values(["site_id", "round_no", "standard_id"], kind="stable").reset_index(drop=True), table

