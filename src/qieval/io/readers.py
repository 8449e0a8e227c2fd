"""Read an input table (CSV or an Excel sheet) as text, keeping spreadsheet row numbers.

Everything is read as strings so that validation can say exactly what was wrong with a cell
("'1,234' is not a number") instead of pandas guessing types. Untidy but valid files are tolerated:
a UTF-8 byte-order mark, Windows line endings, spaces around cells and headers, blank lines.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..config import display_path
from ..errors import InputError, Problem

#: Largest input file read whole; bigger record-level extracts belong in Parquet/DuckDB.
MAX_TABLE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class RawTable:
    """A table as text. ``frame.index`` holds the spreadsheet row number of each row."""

    name: str
    label: str  # file as shown in messages, e.g. data/x/measure_values.csv or book.xlsx[sheet]
    frame: pd.DataFrame


def find_table(data_dir: Path, name: str) -> tuple[Path, str | None] | None:
    """Locate table ``name``: ``<name>.csv``, ``<name>.xlsx``, or a sheet ``name`` in a workbook."""
    for candidate in (data_dir / f"{name}.csv", data_dir / f"{name}.xlsx"):
        if candidate.is_file():
            return candidate, None
    if data_dir.is_dir():
        for book in sorted(data_dir.glob("*.xlsx")):
            if book.name.startswith("~$"):
                continue
            try:
                from openpyxl import load_workbook

                sheets = load_workbook(book, read_only=True).sheetnames
            except Exception:  # noqa: BLE001 - an unreadable workbook is reported when read
                continue
            if name in sheets:
                return book, name
    return None


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Strip spaces from headers and cells, drop fully blank rows, number rows as a spreadsheet."""
    frame = frame.copy()
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    for col in frame.columns:
        frame[col] = frame[col].astype("object").map(_cell_text)
    frame.index = pd.RangeIndex(2, 2 + len(frame))
    blank = (frame == "").all(axis=1) if len(frame.columns) else pd.Series(True, frame.index)
    return frame.loc[~blank]


def _cell_text(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _decode_problem(label: str, raw: bytes, exc: UnicodeDecodeError) -> Problem:
    row = raw.count(b"\n", 0, exc.start) + 1
    byte = raw[exc.start : exc.start + 1].hex()
    return Problem(
        label, row, None,
        f"not UTF-8 text (byte 0x{byte}); save the file as 'CSV UTF-8' from Excel",
    )


def read_csv_text(path: Path) -> RawTable:
    """Read a CSV file as text (see module docstring); problems raise :class:`InputError`."""
    label = display_path(path)
    size = path.stat().st_size
    if size == 0:
        raise InputError(Problem(label, None, None, "the file is empty (expected a header row)"))
    if size > MAX_TABLE_BYTES:
        raise InputError(Problem(
            label, None, None,
            f"file is {size / 2**30:.1f} GiB; tables over {MAX_TABLE_BYTES // 2**20} MiB should "
            "be record-level extracts in Parquet or a database (see the README)",
        ))
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(_decode_problem(label, raw, exc)) from None
    if "\x00" in text:
        raise InputError(Problem(label, None, None, "binary data, not a CSV text file"))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    header_fields = None
    rows: list[list[str]] = []
    problems: list[Problem] = []
    for lineno, fields in _csv_rows(lines):
        if header_fields is None:
            if not any(f.strip() for f in fields):
                continue
            header_fields = [f.strip() for f in fields]
            header_line = lineno
            continue
        if not any(f.strip() for f in fields):
            rows.append([""] * len(header_fields))
            continue
        if len(fields) != len(header_fields):
            problems.append(Problem(
                label, lineno, None,
                f"expected {len(header_fields)} cells as in the header, found {len(fields)}"
                + (" (is the file truncated?)" if len(fields) < len(header_fields) else
                   " (a comma inside a number, e.g. 1,234? or an unquoted comma in text?)"),
            ))
            fields = (fields + [""] * len(header_fields))[: len(header_fields)]
        rows.append(fields)
    if header_fields is None:
        raise InputError(Problem(label, None, None, "the file is empty (expected a header row)"))
    if problems:
        raise InputError(problems)
    frame = pd.DataFrame(rows, columns=header_fields, dtype="object")
    frame = _tidy(frame)
    frame.index = frame.index + (header_line - 1)
    return RawTable(path.stem, label, frame)


def _csv_rows(lines: list[str]):
    """Yield (spreadsheet line number, fields) for each CSV record, honouring quoted newlines."""
    reader = csv.reader(lines, strict=True)
    lineno = 0
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(Problem("", start, None, f"malformed CSV: {exc}")) from None
        lineno = start
        if lineno > len(lines) or (lineno == len(lines) and lines[-1] == "" and not fields):
            return
        yield lineno, fields


def read_excel_text(path: Path, sheet: str | int = 0) -> RawTable:
    """Read one sheet of an .xlsx workbook as text, keeping Excel's row numbers."""
    label = display_path(path) + (f"[{sheet}]" if isinstance(sheet, str) else "")
    try:
        frame = pd.read_excel(path, sheet_name=sheet, dtype=object, header=0, engine="openpyxl")
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for broken files
        raise InputError(Problem(label, None, None, f"cannot read as an Excel workbook ({exc})"))
    unnamed = [c for c in frame.columns if str(c).startswith("Unnamed:")]
    if unnamed and len(unnamed) < len(frame.columns):
        raise InputError(Problem(
            label, 1, None,
            f"{len(unnamed)} header cell(s) are blank or merged; put one column name in each "
            "header cell of row 1 (unmerge the cells)",
        ))
    name = sheet if isinstance(sheet, str) else path.stem
    return RawTable(name, label, _tidy(frame))


def read_table(data_dir: Path, name: str) -> RawTable:
    """Find and read table ``name`` in ``data_dir`` (CSV first, then Excel)."""
    found = find_table(data_dir, name)
    if found is None:
        raise InputError(Problem(
            display_path(data_dir / f"{name}.csv"), None, None,
            f"required file is missing (expected {name}.csv or {name}.xlsx in "
            f"{display_path(data_dir)})",
        ))
    path, sheet = found
    try:
        if path.suffix.lower() == ".xlsx":
            table = read_excel_text(path, sheet if sheet is not None else 0)
        else:
            table = read_csv_text(path)
    except InputError as err:  # fill in the file label for parser-level problems
        raise InputError([
            Problem(p.file or display_path(path), p.row, p.column, p.message, p.severity)
            for p in err.problems
        ]) from None
    if table.frame.empty:
        raise InputError(Problem(table.label, None, None, "the table has a header but no rows"))
    return RawTable(name, table.label, table.frame)
