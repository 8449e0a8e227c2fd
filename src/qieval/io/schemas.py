"""Declarative schemas (pandera) for the input tables, checked on the text of each cell.

Stage 1 of validation: required columns, cell formats and single-column rules. Each check carries the
message a user sees, so a failure maps straight onto ``FILE:ROW:COLUMN: message``. Cross-column and
cross-table rules (numerator > denominator, unknown ids, gaps) live in :mod:`qieval.io.rules`.
"""

from __future__ import annotations

import re

import pandas as pd
import pandera.pandas as pa
from pandera.pandas import Check, Column, DataFrameSchema

from ..format import SAFE_NAME, SAFE_NAME_WORDS

INTEGER = re.compile(r"^[+-]?\d+(\.0*)?$")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
MONTH = re.compile(r"^\d{4}-\d{2}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _blank_or(pattern: re.Pattern[str]):
    def check(s: pd.Series) -> pd.Series:
        text = s.astype(str)
        return (text == "") | text.str.fullmatch(pattern.pattern)

    return check


def _finite_or_blank(s: pd.Series) -> pd.Series:
    """Blank, or a plain decimal number that is finite (``1e400`` overflows to infinity)."""
    text = s.astype(str)
    number = pd.to_numeric(text.where(text.str.fullmatch(NUMBER.pattern)), errors="coerce")
    return (text == "") | (number.notna() & number.abs().lt(float("inf")))


def _nonblank(s: pd.Series) -> pd.Series:
    return s.astype(str) != ""


def _valid_date(allow_month: bool):
    """Cells that are a real calendar date (``YYYY-MM-DD``) or month (``YYYY-MM``), or blank."""

    def check(s: pd.Series) -> pd.Series:
        text = s.astype(str)
        ok = text == ""
        is_date = text.str.fullmatch(DATE.pattern)
        ok |= is_date & pd.to_datetime(text.where(is_date), format="%Y-%m-%d", errors="coerce").notna()
        if allow_month:
            is_month = text.str.fullmatch(MONTH.pattern)
            ok |= is_month & pd.to_datetime(
                text.where(is_month), format="%Y-%m", errors="coerce"
            ).notna()
        return ok

    return check


def _safe_id_or_blank(s: pd.Series) -> pd.Series:
    """Blank, or an id that can become a file name (ids name report files: a traversal such as
    ``../../x`` or a 300-character id must never reach a path)."""
    text = s.astype(str)
    return (text == "") | (text.str.fullmatch(SAFE_NAME.pattern) & ~text.str.contains("..", regex=False))


REQUIRED = Check(_nonblank, error="a value is required here (the cell is blank)")
SAFE_ID = Check(_safe_id_or_blank, error=f"unsafe id: expected {SAFE_NAME_WORDS}")
WHOLE_NUMBER = Check(
    _blank_or(INTEGER),
    error="expected a whole number such as 12 (digits only: no decimal places, thousands separators, "
          "units or text)",
)
NUMERIC = Check(
    _finite_or_blank,
    error="expected a number such as 6.5 (digits and a decimal point only: no thousands separators, "
          "units or text)",
)
PERIOD = Check(_valid_date(True),
               error="expected a month as YYYY-MM (e.g. 2022-01) or a date as YYYY-MM-DD")
DATE_CHECK = Check(_valid_date(False), error="expected a date as YYYY-MM-DD (e.g. 2022-01-31)")


def _text(*checks: Check, required: bool = True) -> Column:
    return Column(None, checks=[REQUIRED, *checks] if required else list(checks), required=True)


def _optional_text() -> Column:
    return Column(None, required=False)


SITES = DataFrameSchema(
    {
        "site_id": Column(None, checks=[REQUIRED, SAFE_ID], unique=True, report_duplicates="exclude_first"),
        "site_name": _text(),
        "network": _text(),
        # a population (params: population_label); blank or absent where none applies (a trust)
        "list_size": Column(None, checks=[WHOLE_NUMBER], required=False),
    },
    strict=False,
    name="sites",
)

MEASURE_VALUES = DataFrameSchema(
    {
        "site_id": _text(SAFE_ID),
        "period": _text(PERIOD),
        "measure_id": _text(SAFE_ID),
        "numerator": _text(WHOLE_NUMBER, required=False),
        # whole for percent measures (a rule of qieval.io.rules); a rate's denominator may be a
        # non-integer population, e.g. standardised person-years
        "denominator": _text(NUMERIC, required=False),
        "value": Column(None, checks=[NUMERIC], required=False),
    },
    strict=False,
    name="measure_values",
)

PDSA_CYCLES = DataFrameSchema(
    {
        "site_id": _text(SAFE_ID),
        "cycle_id": Column(None, checks=[REQUIRED], unique=True, report_duplicates="exclude_first"),
        "start": _text(PERIOD),  # YYYY-MM (the month's first day) or YYYY-MM-DD
        "end": _text(PERIOD, required=False),  # YYYY-MM (the month's last day) or YYYY-MM-DD
        "category": _text(),
        "change_idea": _text(),
        "plan": _optional_text(),
        "do": _optional_text(),
        "study": _optional_text(),
        "act": _optional_text(),
    },
    strict=False,
    name="pdsa_cycles",
)

SCHEMAS: dict[str, DataFrameSchema] = {
    "sites": SITES,
    "measure_values": MEASURE_VALUES,
    "pdsa_cycles": PDSA_CYCLES,
}

_BUILTIN_MESSAGES = {
    "column_in_dataframe": "required column is missing",
    "field_uniqueness": "duplicate value; each must be unique",
    "not_nullable": "a value is required here (the cell is blank)",
}


def schema_failures(schema: DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """Validate ``frame`` lazily; return failures as ``row, column, message`` (empty when valid).

    ``row`` is the frame's index (spreadsheet row numbers) or NA for whole-table problems.
    """
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return pd.DataFrame(columns=["row", "column", "message"])
    rows = []
    for case in cases.itertuples(index=False):
        check = str(case.check)
        if check == "column_in_dataframe":
            found = ", ".join(str(c) for c in frame.columns) or "no columns"
            rows.append((None, str(case.failure_case),
                         f"{_BUILTIN_MESSAGES[check]} (the header row has: {found})"))
            continue
        message = _BUILTIN_MESSAGES.get(check, check)
        value = case.failure_case
        if check == "field_uniqueness":
            message = f"duplicate {case.column} {value!r}; each must be unique"
        elif check != "not_nullable" and value not in ("", None):
            shown = value if len(str(value)) <= 60 else f"{str(value)[:60]}…"
            message = f"{message}, got {shown!r}" + (f" ({len(str(value))} characters)"
                                                     if len(str(value)) > 60 else "")
        row = None if pd.isna(case.index) else int(case.index)
        rows.append((row, case.column, message))
    return pd.DataFrame(rows, columns=["row", "column", "message"])
