"""Reading tables as text: encodings, delimiters, broken files and spreadsheet row numbers."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from qieval.errors import InputError
from qieval.io.readers import MAX_TABLE_BYTES, read_csv_text, read_excel_text, read_table

HEADER = "site_id,site_name,network,list_size\n"
ROWS = "a,Alpha Surgery,Test PCN,5000\nb,Beta Practice,Test PCN,4000\n"
SAVE_AS = "save it from Excel as 'CSV UTF-8 (Comma delimited)'"


@pytest.fixture
def at(tmp_path, monkeypatch):
    """Write bytes/text to ``sites.csv`` in the working directory; return its path."""
    monkeypatch.chdir(tmp_path)

    def write(content: str | bytes, name: str = "sites.csv") -> Path:
        p = tmp_path / name
        p.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return p

    return write


def problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        read_csv_text(path)
    return [str(p) for p in info.value.problems]


def test_plain_csv_rows_are_numbered_from_2(at):
    table = read_csv_text(at(HEADER + ROWS))
    assert list(table.frame.index) == [2, 3]
    assert list(table.frame.columns) == ["site_id", "site_name", "network", "list_size"]
    assert table.frame.loc[3, "list_size"] == "4000"
    assert table.header_row == 1


def test_bom_crlf_spaces_and_blank_lines(at):
    text = "\ufeff site_id , site_name,network ,list_size\r\n\r\n a ,Alpha ,N, 5000 \r\n"
    table = read_csv_text(at(text.encode("utf-8")))
    assert list(table.frame.columns) == ["site_id", "site_name", "network", "list_size"]
    assert table.frame.loc[3].tolist() == ["a", "Alpha", "N", "5000"]  # blank row 2 kept as a gap


def test_blank_lines_before_the_header_move_it(at):
    table = read_csv_text(at("\n\n" + HEADER + ROWS))
    assert table.header_row == 3
    assert list(table.frame.index) == [4, 5]


def test_old_mac_line_endings(at):
    table = read_csv_text(at((HEADER + ROWS).replace("\n", "\r")))
    assert list(table.frame.index) == [2, 3]


def test_quoted_newlines_are_one_row(at):
    table = read_csv_text(at(HEADER + 'a,"Alpha\nSurgery\nWest",N,5000\nb,Beta,N,4000\n'))
    assert list(table.frame.index) == [2, 3]
    assert table.frame.loc[2, "site_name"] == "Alpha\nSurgery\nWest"


def test_empty_file(at):
    assert problems(at(b"")) == [
        "sites.csv::: the file is empty (0 bytes); expected a header row and data rows"]


def test_only_blank_lines(at):
    assert problems(at("\n\r\n  \n")) == [
        "sites.csv::: the file has no header row (only blank lines); expected a header row and data rows"]


def test_header_only_is_an_empty_table(at, tmp_path):
    at(HEADER)
    with pytest.raises(InputError) as info:
        read_table(tmp_path, "sites")
    assert [str(p) for p in info.value.problems] == [
        "sites.csv::: the table has a header row but no data rows: add a row for each site of the "
        "params' site list"]


def test_missing_table(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as info:
        read_table(tmp_path / "data", "sites")
    assert [str(p) for p in info.value.problems] == [
        "data/sites.csv::: required file is missing (expected sites.csv or sites.xlsx in data)"]


def test_latin1_names_row_column_and_byte(at):
    text = HEADER + "a,Alpha,N,5000\nb,Ysgol Pen-y-bont £,N,4000\n"
    assert problems(at(text.encode("latin-1"))) == [
        "sites.csv:3:site_name: the file is not UTF-8 text: byte 0xa3 (probably '£' in "
        f"Latin-1/Windows-1252) in 'Ysgol Pen-y-bont £'; {SAVE_AS}"]


def test_latin1_inside_a_quoted_cell(at):
    text = HEADER + 'a,"Caf\xe9, Alpha",N,5000\n'
    got = problems(at(text.encode("latin-1")))
    assert got[0].startswith("sites.csv:2:site_name: the file is not UTF-8 text: byte 0xe9")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_or_without_bom(at, encoding):
    assert problems(at((HEADER + ROWS).encode(encoding))) == [
        f"sites.csv::: the file is UTF-16 text, not UTF-8; {SAVE_AS}"]


def test_zip_file_named_csv(at):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("x.csv", HEADER + ROWS)
    assert problems(at(buf.getvalue())) == [
        "sites.csv::: the file is a zip archive (an Excel .xlsx workbook renamed to .csv?), not CSV "
        f"text; {SAVE_AS}, or keep the workbook and name it .xlsx"]


def test_old_xls_named_csv(at):
    got = problems(at(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500)))
    assert got == [f"sites.csv::: the file is an old Excel .xls workbook, not CSV text; {SAVE_AS}"]


def test_other_binary(at):
    assert problems(at(bytes(range(256)) * 4)) == [
        f"sites.csv::: the file holds binary data, not CSV text; {SAVE_AS}"]


def test_semicolon_separated(at):
    text = "site_id;site_name;network;list_size\r\na;Alpha;N;5000\r\n"
    assert problems(at(text)) == [
        "sites.csv:1:: the file looks semicolon-separated (as European Excel saves CSV); save it as "
        "comma-separated CSV ('CSV UTF-8 (Comma delimited)'), or set Windows' list separator to a comma"]


def test_tab_separated(at):
    got = problems(at((HEADER + ROWS).replace(",", "\t")))
    assert got[0].startswith("sites.csv:1:: the file looks tab-separated")


def test_truncated_last_row(at):
    text = HEADER + ROWS + "c,Gamma Hea"
    assert problems(at(text)) == [
        "sites.csv:4:network: expected 4 cells as in the header, found 2: no network, list_size "
        "(the file ends part-way through this row; it looks truncated)"]


def test_short_rows_are_padded_with_blanks(at):
    # as Excel and pandas read them; a value the row then lacks is reported by the rules
    table = read_csv_text(at(HEADER + "a,Alpha,N\n" + ROWS))
    assert table.frame.loc[2].tolist() == ["a", "Alpha", "N", ""]


def test_trailing_blank_cells_beyond_the_header_are_ignored(at):
    table = read_csv_text(at(HEADER + ROWS.replace("\n", ",,\n")))
    assert table.frame.loc[3].tolist() == ["b", "Beta Practice", "Test PCN", "4000"]


def test_short_last_row_with_a_final_newline_is_padded(at):
    table = read_csv_text(at(HEADER + ROWS + "c,Gamma\n"))
    assert table.frame.loc[4].tolist() == ["c", "Gamma", "", ""]


def test_unquoted_thousands_separator(at):
    text = HEADER + "a,Alpha,N,12,345\n" + ROWS
    assert problems(at(text)) == [
        "sites.csv:2:list_size: expected 4 cells as in the header, found 5: '12,345' looks like a "
        "number with a thousands separator; write 12345 without the comma"]


def test_unquoted_comma_in_text(at):
    text = HEADER + "a,Alpha, Beta,N,5000\n" + ROWS
    assert problems(at(text)) == [
        "sites.csv:2:: expected 4 cells as in the header, found 5 (an unquoted comma in text? put "
        "the cell in double quotes)"]


def test_header_narrower_than_every_row(at):
    text = "site_id,site_name,network\n" + ROWS
    assert problems(at(text)) == [
        "sites.csv:1:: the header names 3 columns (site_id, site_name, network) but every row has 4 "
        "cells; a column name is missing from the header row"]


def test_header_with_an_extra_blank_column_name_is_fine(at):
    table = read_csv_text(at("site_id,site_name,network,list_size,notes\n" + ROWS))
    assert table.frame.loc[2, "notes"] == ""


def test_unclosed_quote(at):
    text = HEADER + 'a,"Alpha,N,5000\n' + ROWS
    assert problems(at(text)) == [
        'sites.csv:2:: malformed CSV: a quote (") opened in this row is never closed']


def test_text_after_closing_quote(at):
    text = HEADER + ROWS + 'c,"Gamma" Health,N,5000\n'
    assert problems(at(text)) == [
        'sites.csv:4:: malformed CSV: text follows a closing quote (") in a cell; quote the whole cell']


def test_duplicate_header_names(at):
    text = "site_id,site_name,site_id,list_size\n" + ROWS
    assert problems(at(text)) == [
        "sites.csv:1:site_id: column name 'site_id' appears twice in the header (columns A and C); "
        "give each column one name"]


def test_unnamed_columns_are_ignored(at):
    # e.g. the index column written by DataFrame.to_csv/to_excel without index=False
    text = ",site_id,site_name,network,list_size,\n0,a,Alpha,N,5000,\n1,b,Beta,N,4000,x\n"
    table = read_csv_text(at(text))
    assert list(table.frame.columns) == ["site_id", "site_name", "network", "list_size"]
    assert table.frame.loc[3].tolist() == ["b", "Beta", "N", "4000"]


def test_sparse_huge_file_is_refused_by_size(at):
    p = at(HEADER)
    with p.open("r+b") as f:
        f.truncate(3 * 2**30)
    assert p.stat().st_size > MAX_TABLE_BYTES
    assert problems(p) == [
        "sites.csv::: file is 3.0 GiB; tables over 512 MiB should be record-level extracts in "
        "Parquet or a database (see the README)"]


# --- Excel ----------------------------------------------------------------------------------------


def _book(path: Path, rows: list[list], merge: str | None = None, title: str = "Sheet") -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(r)
    if merge:
        ws.merge_cells(merge)
    wb.save(path)
    return path


def test_xlsx_reads_text_like_a_csv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = _book(tmp_path / "sites.xlsx", [["site_id", "site_name", "network", "list_size"],
                                        ["a", "Alpha", "N", 5000.0], [None, None, None, None],
                                        ["b", " Beta ", "N", 4000]])
    table = read_excel_text(p)
    assert list(table.frame.index) == [2, 4]
    assert table.frame.loc[2, "list_size"] == "5000"
    assert table.frame.loc[4, "site_name"] == "Beta"


def test_xlsx_dates_become_iso_text(tmp_path, monkeypatch):
    import datetime as dt

    monkeypatch.chdir(tmp_path)
    p = _book(tmp_path / "x.xlsx", [["period"], [dt.datetime(2022, 1, 1)], [dt.date(2022, 2, 1)]])
    assert read_excel_text(p).frame["period"].tolist() == ["2022-01-01", "2022-02-01"]


def test_xlsx_merged_header_cells(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = _book(tmp_path / "sites.xlsx", [["site_id", "site_name", "network", "list_size"],
                                        ["a", "Alpha", "N", 5000]], merge="B1:C1")
    with pytest.raises(InputError) as info:
        read_excel_text(p)
    assert [str(x) for x in info.value.problems] == [
        "sites.xlsx:1:site_name: header cells B1:C1 are merged; unmerge them and put one column "
        "name in each header cell of row 1"]


def test_xlsx_vertically_merged_header(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = _book(tmp_path / "sites.xlsx", [["site_id", "site_name"], [None, "Alpha"], ["b", "Beta"]],
              merge="A1:A2")
    with pytest.raises(InputError) as info:
        read_excel_text(p)
    assert [str(x) for x in info.value.problems] == [
        "sites.xlsx:1:site_id: header cells A1:A2 are merged; unmerge them and put one column "
        "name in each header cell of row 1"]


def test_xlsx_written_with_the_pandas_index(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pd.DataFrame({"site_id": ["a", "b"], "list_size": [5000, 4000]}).to_excel(tmp_path / "s.xlsx")
    table = read_excel_text(tmp_path / "s.xlsx")
    assert list(table.frame.columns) == ["site_id", "list_size"]
    assert table.frame["list_size"].tolist() == ["5000", "4000"]


def test_not_really_xlsx(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "sites.xlsx"
    p.write_text(HEADER + ROWS)
    with pytest.raises(InputError) as info:
        read_excel_text(p)
    assert str(info.value.problems[0]).startswith(
        "sites.xlsx::: cannot read the file as an Excel .xlsx workbook (")


def test_sheet_of_a_workbook_is_labelled(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pd.ExcelWriter(tmp_path / "book.xlsx") as w:
        pd.DataFrame({"site_id": ["a"], "list_size": [1.5]}).to_excel(w, sheet_name="sites", index=False)
    table = read_table(tmp_path, "sites")
    assert table.label == "book.xlsx[sites]"
    assert table.frame.loc[2, "list_size"] == "1.5"


def test_semicolon_separated_with_a_comma_in_a_header_name(at):
    text = "site_id;site name, in full;network;list_size\na;Alpha;N;5000\n"
    assert problems(at(text))[0].startswith("sites.csv:1:: the file looks semicolon-separated")


def test_semicolons_inside_text_cells_are_fine(at):
    table = read_csv_text(at(HEADER + 'a,"Alpha; the old surgery",N,5000\n'))
    assert table.frame.loc[2, "site_name"] == "Alpha; the old surgery"


def test_header_then_nul_bytes_is_binary_not_utf16(at):
    p = at(HEADER)
    with p.open("r+b") as f:
        f.truncate(10_000)  # a sparse tail of NUL bytes, as a half-copied file has
    assert problems(p) == [f"sites.csv::: the file holds binary data, not CSV text; {SAVE_AS}"]


def test_latin1_after_a_utf8_bom_in_the_first_column(at):
    text = b"\xef\xbb\xbf" + HEADER.encode() + "Caf\xe9,Alpha,N,5000\n".encode("latin-1")
    assert problems(at(text))[0].startswith(
        "sites.csv:2:site_id: the file is not UTF-8 text: byte 0xe9 (probably 'é' in "
        "Latin-1/Windows-1252) in 'Café'")
