"""Open a project's record-level source as DuckDB views.

Files (CSV or Parquet) are scanned in place by DuckDB: nothing is loaded into pandas, so an
extract of tens of millions of rows aggregates in bounded memory on a laptop.

A SQL source (``records.sql`` + ``records.url``) is fetched with SQLAlchemy (any driver, e.g.
``postgresql+psycopg``) into an Arrow table which DuckDB then aggregates with the *same* compiled
query as a file. Design choice: one SQL dialect (DuckDB's) for the definitions and the checks, so a
file and a database give identical numbers; the cost is moving the record rows out of the
database. For very large warehouse tables, select only the needed columns and months in the query
(the database does that filtering). DuckDB's ``postgres`` extension would push work down, but it
is a network download and is not assumed.

Views created on the connection:

- ``src``: the records as they are;
- ``src_rows``: the same plus ``__row`` — the row a person would look at: spreadsheet row for CSV
  (header = row 1, so data row k is row k + 1; assumes no blank lines or multi-line cells before it),
  Parquet row index + 2 (the row in a spreadsheet with a header row), or the 1-based row of a SQL
  query's result.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..config import ProjectConfig, RecordSource, display_path
from ..errors import InputError, Problem

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass
class OpenSource:
    """An open DuckDB connection with the ``src`` and ``src_rows`` views, and how to name rows."""

    con: duckdb.DuckDBPyConnection
    label: str  # FILE of FILE:ROW:COLUMN messages (a path, or the URL with the password masked)
    path: Path | None  # the file, for provenance (None for a SQL source)
    row_note: str  # how __row is numbered, in words


def sql_literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def expand_env(url: str, config: ProjectConfig) -> str:
    """Replace ``${NAME}`` with the environment variable (an InputError names a missing one)."""
    def sub(m: re.Match) -> str:
        value = os.environ.get(m.group(1))
        if value is None:
            raise InputError(Problem(display_path(config.params_path), config.key_line("records", "url"),
                                     "records.url", f"environment variable {m.group(1)} is not set"))
        return value
    return _ENV.sub(sub, url)


#: ``scheme://user:PASSWORD@host…``: the password runs to the *last* ``@`` of the token (a
#: password may itself contain ``@``, ``:`` or ``/``, well-formed or not).
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s'\"]*):(?P<pw>[^\s'\"]*)@"
                           r"(?P<rest>[^@\s'\"]*)")
#: ``?password=…`` and similar query parameters (libpq, JDBC-style and token keys).
_QUERY_SECRET = re.compile(r"(?i)([?&;](?:password|passwd|pwd|pass|secret|token|sslpassword|sslkey"
                           r"|api_?key|access_?key|auth|authtoken)=)([^&;#\s'\"]*)")
MASK = "***"


def url_secrets(url: str) -> list[str]:
    """The secret parts of a database URL (password, secret query parameters), raw and decoded."""
    from urllib.parse import unquote

    found = [m.group("pw") for m in _URL_PASSWORD.finditer(url)]
    found += [m.group(2) for m in _QUERY_SECRET.finditer(url)]
    out = []
    for s in found:
        for form in (s, unquote(s), unquote(s).replace("+", " ")):
            if form and form != MASK and form not in out:
                out.append(form)
    return sorted(out, key=len, reverse=True)


def mask_secrets(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """``text`` with every URL password, secret query parameter and each of ``secrets`` (e.g. the
    password of the URL being used) replaced by ``***``: for every message that may carry a URL."""
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}:{MASK}@{m.group('rest')}", text)
    text = _QUERY_SECRET.sub(lambda m: m.group(1) + MASK, text)
    for s in secrets:
        if len(s) >= 3:
            text = text.replace(s, MASK)
    return text


def masked_url(url: str) -> str:
    """The URL without its password or secret query parameters (for messages); never parsed by
    a library first, so a malformed URL is masked too."""
    return mask_secrets(url, url_secrets(url))


def _open_file(rec: RecordSource, config: ProjectConfig) -> OpenSource:
    path = (config.data_dir / rec.file) if not Path(rec.file).is_absolute() else Path(rec.file)
    label = display_path(path)
    if not path.is_file():
        raise InputError(Problem(label, None, None,
                                 f"records file not found (records.file in {display_path(config.params_path)})"))
    con = _connect()
    lit = sql_literal(str(path))
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            con.execute(f"CREATE VIEW src AS SELECT * FROM read_parquet({lit})")
            con.execute(f"CREATE VIEW src_rows AS SELECT * EXCLUDE (file_row_number), "
                        f"file_row_number + 2 AS __row FROM read_parquet({lit}, file_row_number = true)")
            note = "row = Parquet row index + 2 (as in a spreadsheet with a header row)"
        elif suffix == ".csv":
            scan = f"read_csv({lit}, header = true, sample_size = -1)"
            con.execute(f"CREATE VIEW src AS SELECT * FROM {scan}")
            con.execute(f"CREATE VIEW src_rows AS SELECT *, row_number() OVER () + 1 AS __row FROM {scan}")
            note = "row = spreadsheet row (header = row 1)"
        else:
            raise InputError(Problem(label, None, None, "records file must be .csv or .parquet"))
        con.execute("SELECT * FROM src LIMIT 0")
    except duckdb.Error as exc:
        raise InputError(Problem(label, _line_of(str(exc)), None,
                                 f"cannot read the records: {_first_line(exc)}")) from None
    lock_down(con, [str(path)])
    return OpenSource(con, label, path, note)


def _open_sql(rec: RecordSource, config: ProjectConfig) -> OpenSource:
    import pyarrow as pa
    import sqlalchemy

    url = expand_env(rec.url or "", config)
    secrets = url_secrets(url)
    label = masked_url(url)
    params = display_path(config.params_path)

    def why(exc: BaseException) -> str:  # a driver's message may quote the URL or its password
        return mask_secrets(_first_line(exc), secrets)

    try:
        engine = sqlalchemy.create_engine(url)
    except Exception as exc:  # noqa: BLE001 - bad URL or missing driver
        raise InputError(Problem(params, config.key_line("records", "url"), "records.url",
                                 f"cannot use the database URL {label}: {why(exc)}")) from None
    try:
        try:
            conn = engine.connect()
        except Exception as exc:  # noqa: BLE001 - refused, unknown host, bad password …
            raise InputError(Problem(params, config.key_line("records", "url"), "records.url",
                                     f"cannot connect to {label}: {why(exc)}")) from None
        try:
            result = conn.execute(sqlalchemy.text(rec.sql))
            names = list(result.keys())
            rows = result.fetchall()
        except Exception as exc:  # noqa: BLE001 - SQL error, permissions …
            raise InputError(Problem(params, config.key_line("records", "sql"), "records.sql",
                                     f"the records query failed on {label}: {why(exc)}")) from None
        finally:
            conn.close()
    finally:
        engine.dispose()
    columns = {n: [r[i] for r in rows] for i, n in enumerate(names)}
    table = pa.table({n: pa.array(v) for n, v in columns.items()}) if rows else \
        pa.table({n: pa.array([], pa.string()) for n in names})
    con = _connect()
    con.register("sql_result", table)
    con.execute("CREATE VIEW src AS SELECT * FROM sql_result")
    con.execute("CREATE VIEW src_rows AS SELECT *, row_number() OVER () AS __row FROM sql_result")
    lock_down(con)
    return OpenSource(con, label, None, "row = 1-based row of the query result")


def lock_down(con: duckdb.DuckDBPyConnection, allowed_paths: list[str] = ()) -> None:
    """After the source views exist: no file, network, extension or environment access except the
    records file itself (``allowed_paths``), and the configuration locked so a params expression
    cannot switch it back. Every ``derive``, ``where``, ``checks`` and measure expression then runs
    over the columns of the records only (``read_csv('/etc/hostname')`` fails with a permission
    error, reported at its params line)."""
    if allowed_paths:
        con.execute("SET allowed_paths = [" + ", ".join(sql_literal(p) for p in allowed_paths) + "]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def _connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection without the progress bar (in a terminal it would write to
    stderr; inside Jupyter, where the reports run, DuckDB refuses to change the setting without
    ipywidgets, and then leaves it as it is)."""
    try:
        return duckdb.connect(config={"enable_progress_bar": False})
    except duckdb.Error:
        return duckdb.connect()


def open_source(config: ProjectConfig) -> OpenSource:
    """Open ``config.records`` (a file in the data directory or a SQL query)."""
    rec = config.records
    assert rec is not None
    return _open_file(rec, config) if rec.file else _open_sql(rec, config)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _line_of(message: str) -> int | None:
    """The CSV line DuckDB names in a reading error, as a spreadsheet row."""
    m = re.search(r"[Ll]ine:?\s*(\d+)", message)
    return int(m.group(1)) if m else None
