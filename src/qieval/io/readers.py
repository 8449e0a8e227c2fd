"""Read an input table (CSV or an Excel sheet) as text, keeping spreadsheet row numbers.

Everything is read as strings so that validation can say exactly what was wrong with a cell
("'1,234' is not a number") instead of pandas guessing types. Untidy but valid files are tolerated:
a UTF-8 byte-order mark, Windows line endings, spaces around cells and headers, blank lines.

Files that are not comma-separated UTF-8 text (UTF-16, Latin-1, semicolon-separated, a zip or other
binary file, an Excel workbook renamed ``.csv``) are recognised and reported with the fix, never
parsed into nonsense. Row numbers are those a spreadsheet shows: one per CSV record (a quoted cell
spanning several lines is one row), blank lines included, header = row 1.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..config import display_path
from ..errors import InputError, Problem

#: Largest input file read whole; bigger record-level extracts belong in Parquet/DuckDB.
MAX_TABLE_BYTES = 512 * 1024 * 1024

#: Bytes that never occur in CSV text (control characters other than tab, LF and CR).
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))

_SAVE_AS = "save it from Excel as 'CSV UTF-8 (Comma delimited)'"


@dataclass(frozen=True)
class RawTable:
    """A table as text. ``frame.index`` holds the spreadsheet row number of each row."""

    name: str
    label: str  # file as shown in messages, e.g. data/x/measure_values.csv or book.xlsx[sheet]
    frame: pd.DataFrame
    header_row: int = 1  # spreadsheet row of the header (1 unless blank rows precede it)


def find_table(data_dir: Path, name: str) -> tuple[Path, str | None] | None:
    """Locate table ``name``: ``<name>.csv``, ``<name>.xlsx``, or a sheet ``name`` in a workbook."""
    for candidate in (data_dir / f"{name}.csv", data_dir / f"{name}.xlsx"):
        if candidate.is_file():
            return candidate, None
    for book, sheets in workbooks(data_dir).items():
        if name in sheets:
            return book, name
    return None


def workbooks(data_dir: Path) -> dict[Path, list[str]]:
    """The ``.xlsx`` workbooks of a folder and their sheet names (unreadable ones left out; they
    are reported when read). Excel's lock files (``~$book.xlsx``) are skipped."""
    out: dict[Path, list[str]] = {}
    if not data_dir.is_dir():
        return out
    for book in sorted(data_dir.glob("*.xlsx")):
        if book.name.startswith("~$"):
            continue
        try:
            from openpyxl import load_workbook

            wb = load_workbook(book, read_only=True)
            out[book] = list(wb.sheetnames)
            wb.close()
        except Exception:  # noqa: BLE001 - an unreadable workbook is reported when read
            continue
    return out


def _missing_table(data_dir: Path, name: str) -> Problem:
    """A table that is neither a file nor a sheet: name each workbook of the folder with its
    sheets (and the sheet that looks meant), so a misnamed sheet is found at once."""
    import difflib

    books = workbooks(data_dir)
    label = display_path(data_dir / f"{name}.csv")
    expected = f"expected {name}.csv or {name}.xlsx in {display_path(data_dir)}"
    if not books:
        return Problem(label, None, None, f"required file is missing ({expected})")

    def key(text: str) -> str:
        return re.sub(r"[\s_-]+", "", text.lower())

    parts = []
    for book, sheets in books.items():
        listed = ", ".join(repr(s) for s in sheets) or "no sheets"
        near = [s for s in sheets if key(s) == key(name)] or difflib.get_close_matches(
            name, sheets, n=1, cutoff=0.6)
        hint = f"; rename sheet {near[0]!r} to '{name}'?" if near else ""
        parts.append(f"workbook {display_path(book)} has sheets {listed}{hint}")
    if len(books) == 1:
        label = display_path(next(iter(books)))
    return Problem(label, None, None,
                   f"required table '{name}' is missing: {expected}, or a sheet named '{name}' in a "
                   "workbook; " + "; ".join(parts))


def _cell_text(value: object) -> str:
    """A cell as the text a person typed (``3.0`` from Excel → ``3``; dates as ISO)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value).strip()


def _excel_column(index: int) -> str:
    """0-based column index → spreadsheet letters (0 → A, 27 → AB)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# --- whole-file checks ----------------------------------------------------------------------------


def _sniff_binary(label: str, raw: bytes) -> Problem | None:
    """Recognise files that are not text at all (or not UTF-8 text) from their first bytes."""
    head = raw[:4096]
    if head.startswith(b"PK\x03\x04"):
        return Problem(label, None, None,
                       "the file is a zip archive (an Excel .xlsx workbook renamed to .csv?), not CSV "
                       f"text; {_SAVE_AS}, or keep the workbook and name it .xlsx")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return Problem(label, None, None,
                       f"the file is an old Excel .xls workbook, not CSV text; {_SAVE_AS}")
    # UTF-16 without a BOM: ASCII text with a NUL after (LE) or before (BE) every character
    ascii_le = len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] != 0
    ascii_be = len(head) >= 4 and head[0] == 0 and head[2] == 0 and head[1] != 0
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or ascii_le or ascii_be:
        return Problem(label, None, None,
                       f"the file is UTF-16 text, not UTF-8; {_SAVE_AS}")
    control = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if b"\x00" in head or control > len(head) // 20:
        return Problem(label, None, None,
                       f"the file holds binary data, not CSV text; {_SAVE_AS}")
    return None


def _decode_problem(label: str, raw: bytes, exc: UnicodeDecodeError) -> Problem:
    """Name the row and column of the first byte that is not UTF-8, showing it as Windows-1252."""
    row = raw.count(b"\n", 0, exc.start) + 1
    byte = raw[exc.start : exc.start + 1]
    guess = byte.decode("cp1252", errors="replace")
    column = None
    cell = ""
    try:
        legacy = raw.decode("cp1252", errors="replace").replace("\r\n", "\n")
        records = list(csv.reader(io.StringIO(legacy, newline="")))
        header = next((r for r in records if any(f.strip() for f in r)), [])
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        prefix = raw[line_start : exc.start].decode("cp1252", errors="replace")
        index = next(csv.reader([prefix + "\x01"]), [""]).__len__() - 1
        line = legacy.split("\n")[row - 1]
        fields = next(csv.reader([line]), [])
        if 0 <= index < len(header):
            column = header[index].strip().lstrip("\ufeff") or None
        if 0 <= index < len(fields):
            cell = fields[index].strip()
    except Exception:  # noqa: BLE001 - the column is a nicety; the row and byte still help
        pass
    shown = f" in {cell!r}" if cell else ""
    return Problem(
        label, row, column,
        f"the file is not UTF-8 text: byte 0x{byte.hex()} (probably {guess!r} in Latin-1/Windows-1252)"
        f"{shown}; {_SAVE_AS}",
    )


# --- CSV ------------------------------------------------------------------------------------------


def _records(text: str, label: str) -> list[tuple[int, list[str]]]:
    """CSV records as ``(spreadsheet row, fields)``; a quoted cell with line breaks is one row."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    out: list[tuple[int, list[str]]] = []
    while True:
        row = len(out) + 1
        try:
            fields = next(reader)
        except StopIteration:
            return out
        except csv.Error as exc:
            reason = str(exc)
            if "unexpected end of data" in reason or "EOF" in reason:
                reason = 'a quote (") opened in this row is never closed'
            elif "expected after" in reason:
                reason = 'text follows a closing quote (") in a cell; quote the whole cell'
            raise InputError(Problem(label, row, None, f"malformed CSV: {reason}")) from None
        out.append((row, fields))


_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+$")


def _width_problem(label: str, header: list[str], row: int, fields: list[str], last: bool,
                   truncated: bool) -> Problem:
    """A row with more or fewer cells than the header: name the likely column and cause."""
    n, m = len(fields), len(header)
    if n < m:
        missing = ", ".join(header[n:])
        cause = ("the file ends part-way through this row; it looks truncated"
                 if last and truncated else "is the row cut short, or a comma missing?")
        return Problem(label, row, header[n],
                       f"expected {m} cells as in the header, found {n}: no {missing} ({cause})")
    extra = n - m
    for i in range(m):
        joined = ",".join(fields[i : i + extra + 1]).strip()
        if _THOUSANDS.match(joined):
            return Problem(label, row, header[i],
                           f"expected {m} cells as in the header, found {n}: {joined!r} looks like a "
                           f"number with a thousands separator; write {joined.replace(',', '')} "
                           "without the comma")
    return Problem(label, row, None,
                   f"expected {m} cells as in the header, found {n} (an unquoted comma in text? "
                   "put the cell in double quotes)")


def _trim(fields: list[str], width: int) -> list[str]:
    """Drop blank cells beyond the header's width (a trailing comma on every line, say)."""
    end = len(fields)
    while end > width and not fields[end - 1].strip():
        end -= 1
    return fields[:end]


def _header_problems(label: str, header: list[str], row: int) -> list[Problem]:
    """Repeated column names in the header row.

    Columns without a name are ignored (e.g. the index column of ``DataFrame.to_excel``); if one was
    meant to be a required column, that column is reported missing.
    """
    named = pd.Series(header)
    named = named[named != ""]
    repeats = named[named.duplicated(keep="first")]
    first = named.drop_duplicates(keep="first")
    first_index = pd.Series(first.index, index=first.to_numpy())
    return [
        Problem(label, row, name,
                f"column name {name!r} appears twice in the header (columns "
                f"{_excel_column(int(first_index[name]))} and {_excel_column(int(i))}); give each "
                "column one name")
        for i, name in repeats.items()
    ]


def read_csv_text(path: Path) -> RawTable:
    """Read a CSV file as text (see module docstring); problems raise :class:`InputError`."""
    label = display_path(path)
    size = path.stat().st_size
    if size == 0:
        raise InputError(Problem(label, None, None,
                                 "the file is empty (0 bytes); expected a header row and data rows"))
    if size > MAX_TABLE_BYTES:
        raise InputError(Problem(
            label, None, None,
            f"file is {size / 2**30:.1f} GiB; tables over {MAX_TABLE_BYTES // 2**20} MiB should "
            "be record-level extracts in Parquet or a database (see the README)",
        ))
    with path.open("rb") as f:
        head = f.read(4096)
    if not head.startswith(b"\xef\xbb\xbf"):
        sniffed = _sniff_binary(label, head)  # before reading a possibly large non-text file whole
        if sniffed:
            raise InputError(sniffed)
    raw = path.read_bytes().removeprefix(b"\xef\xbb\xbf")  # the UTF-8 byte-order mark, if any
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(_decode_problem(label, raw, exc)) from None
    if "\x00" in text:
        raise InputError(Problem(label, None, None, f"the file holds binary data, not CSV text; {_SAVE_AS}"))
    records = _records(text, label)
    nonblank = [(r, f) for r, f in records if any(c.strip() for c in f)]
    if not nonblank:
        raise InputError(Problem(label, None, None,
                                 "the file has no header row (only blank lines); expected a header row "
                                 "and data rows"))
    header_row, header_fields = nonblank[0]
    header = [f.strip().lstrip("\ufeff").strip() for f in header_fields]
    for sep, name in ((";", "semicolon"), ("\t", "tab")):
        if sum(h.count(sep) for h in header) >= len(header):
            raise InputError(Problem(
                label, header_row, None,
                f"the file looks {name}-separated (as European Excel saves CSV); save it as "
                "comma-separated CSV ('CSV UTF-8 (Comma delimited)'), or set Windows' list separator "
                "to a comma",
            ))
    width = len(header)
    # Untidy but valid: blank cells beyond the header (a trailing comma) are dropped and rows that
    # stop early are padded with blanks, as Excel reads them (a value they lack is then reported by
    # the rules). Rows with extra non-blank cells, and a last row cut off mid-way, are errors.
    data = [(r, _trim(f, width)) for r, f in records if r > header_row]
    body = [(r, f) for r, f in data if any(c.strip() for c in f)]
    truncated = bool(body) and not text.endswith(("\n", "\r")) and len(body[-1][1]) < width
    wide = [(r, f) for r, f in body if len(f) > width]
    if len(wide) >= 2 and len(wide) == len(body) and len({len(f) for _, f in wide}) == 1:
        raise InputError(Problem(
            label, header_row, None,
            f"the header names {width} columns ({', '.join(header)}) but every row has "
            f"{len(wide[0][1])} cells; a column name is missing from the header row",
        ))
    problems = [_width_problem(label, header, r, f, False, False) for r, f in wide]
    if truncated:
        problems.append(_width_problem(label, header, body[-1][0], body[-1][1], True, True))
    cells = [(f + [""] * len(header))[: len(header)] if f else [""] * len(header) for _, f in data]
    frame = pd.DataFrame(cells, columns=range(len(header)), dtype="object")
    frame.index = pd.Index([r for r, _ in data], dtype="int64")
    frame = frame.map(_cell_text) if len(frame) else frame
    problems += _header_problems(label, header, header_row)
    if problems:
        raise InputError(sorted(problems, key=lambda p: (p.row or 0, p.column or "")))
    keep = [i for i, name in enumerate(header) if name != ""]
    frame = frame[keep]
    frame.columns = [header[i] for i in keep]
    return RawTable(path.stem, label, _drop_blank(frame), header_row)


def _drop_blank(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop rows whose cells are all blank (the row numbers of the others are kept)."""
    if not len(frame.columns):
        return frame.iloc[0:0]
    blank = (frame == "").all(axis=1)
    return frame.loc[~blank]


# --- Excel ----------------------------------------------------------------------------------------


def read_excel_text(path: Path, sheet: str | int = 0) -> RawTable:
    """Read one sheet of an .xlsx workbook as text, keeping Excel's row numbers."""
    from openpyxl import load_workbook

    label = display_path(path) + (f"[{sheet}]" if isinstance(sheet, str) else "")
    if path.stat().st_size > MAX_TABLE_BYTES:
        raise InputError(Problem(label, None, None,
                                 f"workbook is over {MAX_TABLE_BYTES // 2**20} MiB; use CSV or Parquet"))
    try:
        wb = load_workbook(path, data_only=True)
        ws = wb[sheet] if isinstance(sheet, str) else wb.worksheets[sheet]
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for broken files
        reason = str(exc) or type(exc).__name__
        raise InputError(Problem(label, None, None,
                                 f"cannot read the file as an Excel .xlsx workbook ({reason})")) from None
    values = [list(r) for r in ws.iter_rows(min_row=1, values_only=True)]
    merged = [rng for rng in ws.merged_cells.ranges]
    wb.close()
    texts = [[_cell_text(v) for v in r] for r in values]
    nonblank = [i for i, r in enumerate(texts) if any(c != "" for c in r)]
    if not nonblank:
        raise InputError(Problem(label, None, None, "the sheet is empty; expected a header row"))
    h = nonblank[0]
    header_row = h + 1
    header = texts[h]
    problems = []
    for rng in merged:
        if rng.min_row <= header_row <= rng.max_row:
            name = header[rng.min_col - 1] or None
            problems.append(Problem(
                label, header_row, name,
                f"header cells {rng.coord} are merged; unmerge them and put one column name in each "
                f"header cell of row {header_row}",
            ))
    width = len(header)
    frame = pd.DataFrame([(r + [""] * width)[:width] for r in texts[h + 1 :]],
                         columns=range(width), dtype="object")
    frame.index = pd.Index(range(header_row + 1, header_row + 1 + len(frame)), dtype="int64")
    problems += _header_problems(label, header, header_row)
    if problems:
        raise InputError(problems)
    keep = [i for i, name in enumerate(header) if name != ""]
    frame = frame[keep]
    frame.columns = [header[i] for i in keep]
    name = sheet if isinstance(sheet, str) else path.stem
    return RawTable(name, label, _drop_blank(frame), header_row)


#: What a table with only its header row needs (for a project just started with ``qieval new``).
_FILL_HINT = {
    "sites": ": add a row for each site of the params' site list",
    "measure_values": ": add a row for each site, measure and period",
    "pdsa_cycles": ": add a row for each PDSA cycle (site_id ALL for a network-wide one)",
}


def read_table(data_dir: Path, name: str) -> RawTable:
    """Find and read table ``name`` in ``data_dir`` (CSV first, then Excel)."""
    found = find_table(data_dir, name)
    if found is None:
        raise InputError(_missing_table(data_dir, name))
    path, sheet = found
    if path.suffix.lower() == ".xlsx":
        table = read_excel_text(path, sheet if sheet is not None else 0)
    else:
        table = read_csv_text(path)
    if table.frame.empty:
        raise InputError(Problem(table.label, None, None,
                                 "the table has a header row but no data rows"
                                 + _FILL_HINT.get(name, "")))
    return RawTable(name, table.label, table.frame, table.header_row)
