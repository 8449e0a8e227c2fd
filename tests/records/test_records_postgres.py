"""Records from a real PostgreSQL server (no mock): a throwaway cluster is created with Debian's
``initdb`` in a temporary folder, started on a free port, loaded with the 10-row table, and the
project's ``records: {sql, url}`` source must give exactly the values of the CSV source.

Tests run as root, so the server runs as the ``postgres`` OS user (``runuser``); as any other user
it runs as that user. Skipped, with the reason, only when no PostgreSQL server binaries exist
(``apt-get install postgresql`` provides them; scripts/test installs it).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from qitest_support import require
from records_helpers import PRESCRIBING, RECORDS_CSV, TODAY, params, write_project

from qieval.config import load_config
from qieval.errors import InputError
from qieval.io.load import load_data


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """URL of a throwaway PostgreSQL server with database ``qi`` holding table ``prescribing``."""
    bindir = _bindir()
    require(bindir is not None, "no PostgreSQL server binaries (initdb) found: apt-get install postgresql")
    # pytest's temporary folders are private to root; the server's folder must be the postgres
    # user's own, so it is made directly under the system temporary directory.
    root = Path(tempfile.mkdtemp(prefix="qieval-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()

    def run(*cmd: str) -> None:
        done = subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")

    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
        "--no-locale")
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60",
        "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    try:
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "qi")
        import sqlalchemy

        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/qi"
        engine = sqlalchemy.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(
                "CREATE TABLE prescribing (patient_id text, practice text, month date, drug text, "
                "ome_mg_day numeric, gabapentinoid integer, months_on_opioids integer, "
                "imd_quintile integer)"))
            rows = PRESCRIBING.assign(month=PRESCRIBING["month"] + "-01").to_dict(orient="records")
            conn.execute(sqlalchemy.text(
                "INSERT INTO prescribing VALUES (:patient_id, :practice, CAST(:month AS date), :drug, "
                ":ome_mg_day, :gabapentinoid, :months_on_opioids, :imd_quintile)"), rows)
        engine.dispose()
        yield url
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                        "stop"], capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def _sql_records(url: str, query: str = "SELECT * FROM prescribing ORDER BY month, practice, patient_id") -> str:
    return RECORDS_CSV.replace("  file: prescribing.csv\n", f'  sql: "{query}"\n  url: "{url}"\n')


def test_postgres_source_gives_the_csv_values(tmp_path, postgres):
    csv = load_data(load_config(write_project(tmp_path / "csv", params(RECORDS_CSV),
                                                       PRESCRIBING)), today=TODAY)
    pg = load_data(load_config(write_project(tmp_path / "pg", params(_sql_records(postgres)))),
                           today=TODAY)
    cols = ["site_id", "period", "measure_id", "numerator", "denominator", "value"]
    a = csv.measure_values[cols].reset_index(drop=True)
    b = pg.measure_values[cols].reset_index(drop=True)
    # numeric → decimal in the database, so means may differ in the last bits of a double
    pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-12)
    pd.testing.assert_frame_equal(csv.breakdowns, pg.breakdowns, check_dtype=False, rtol=1e-12)
    assert "records" not in pg.files  # nothing to hash; the query is in the params


def test_postgres_url_from_the_environment(tmp_path, postgres, monkeypatch):
    monkeypatch.setenv("QIEVAL_TEST_DB", postgres)
    path = write_project(tmp_path, params(_sql_records("${QIEVAL_TEST_DB}")))
    data = load_data(load_config(path), today=TODAY)
    assert len(data.measure_values)
    monkeypatch.delenv("QIEVAL_TEST_DB")
    with pytest.raises(InputError) as exc:
        load_data(load_config(path), today=TODAY)
    assert "records.url: environment variable QIEVAL_TEST_DB is not set" in str(exc.value)


def test_postgres_bad_rows_name_the_query_row(tmp_path, postgres):
    query = ("SELECT patient_id, CASE WHEN patient_id = 'p3' THEN 'zz' ELSE practice END AS practice, "
             "month, drug, ome_mg_day, gabapentinoid, months_on_opioids, imd_quintile "
             "FROM prescribing ORDER BY month, practice, patient_id")
    path = write_project(tmp_path, params(_sql_records(postgres, query)))
    with pytest.raises(InputError) as exc:
        load_data(load_config(path), today=TODAY)
    text = str(exc.value)
    # p3 sorts third in January (a/p1, a/p2, then b/p4, b/p5, zz/p3 → row 5 of the result)
    assert f"postgresql+psycopg://postgres@127.0.0.1:{postgres.rsplit(':', 1)[1].split('/')[0]}/qi:5:practice: " \
           "unknown site 'zz'" in text


def test_postgres_query_error_names_the_params_key(tmp_path, postgres):
    path = write_project(tmp_path, params(_sql_records(postgres, "SELECT * FROM no_such_table")))
    with pytest.raises(InputError) as exc:
        load_data(load_config(path), today=TODAY)
    assert ":records.sql: the records query failed on postgresql+psycopg://" in str(exc.value)
    assert "no_such_table" in str(exc.value)


def test_validate_command_against_postgres(tmp_path, postgres, monkeypatch, capsys):
    from qieval.cli import main

    write_project(tmp_path, params(_sql_records(postgres)))
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "params/tiny.yaml"]) == 0, capsys.readouterr().err


def test_unreachable_server_names_the_url(tmp_path):
    url = f"postgresql+psycopg://postgres:secret@127.0.0.1:{_free_port()}/qi"
    path = write_project(tmp_path, params(_sql_records(url)))
    with pytest.raises(InputError) as exc:
        load_data(load_config(path), today=TODAY)
    text = str(exc.value)
    assert ":records.url: cannot connect to postgresql+psycopg://postgres:***@127.0.0.1:" in text
    assert "secret" not in text


def test_sql_source_is_never_cached_and_its_password_never_written(tmp_path, postgres):
    """After a SQL run the URL with its password was in a 0644 pickle under
    ``reports/<project>/.cache/``, and changed rows never reached the reports (even with --force).
    A SQL project is not cached: nothing is pickled, an old pickle is removed, and every load reads
    the database again."""
    import sqlalchemy

    from qieval.farm import kernel

    # trust authentication accepts any password, so the URL can carry one and still connect
    url = postgres.replace("postgresql+psycopg://postgres@", "postgresql+psycopg://postgres:Pw-9f3kq2x@")
    path = write_project(tmp_path, params(_sql_records(url)))
    config = load_config(path)
    data = load_data(config, today=TODAY)
    cache = tmp_path / "reports" / "tiny" / ".cache"
    cache.mkdir(parents=True)
    (cache / "project-old.pickle").write_bytes(b"an older cache, perhaps with a password")
    assert kernel._stat_key(path) is None
    assert kernel.write_project_cache(config, data) is None
    assert not list(cache.glob("project-*.pickle"))
    for f in (tmp_path / "reports").rglob("*"):
        if f.is_file():
            assert b"Pw-9f3kq2x" not in f.read_bytes(), f

    def rows_a_jan(d) -> float:
        v = d.measure_values
        sel = (v["measure_id"] == "rows") & (v["site_id"] == "a") & (v["period"] == "2022-01-01")
        return float(v.loc[sel, "numerator"].iloc[0])

    assert rows_a_jan(data) == 3
    engine = sqlalchemy.create_engine(postgres)
    try:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("UPDATE prescribing SET practice = 'a' WHERE patient_id = 'p5'"))
        assert rows_a_jan(load_data(load_config(path), today=TODAY)) == 4
    finally:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("UPDATE prescribing SET practice = 'b' WHERE patient_id = 'p5'"))
        engine.dispose()


def test_file_project_cache_is_private(demo_root):
    """The pickle the runner writes for the kernels is readable by its owner only."""
    from qieval.farm import kernel

    config = load_config(demo_root / "params" / "deprescribing.yaml")
    pickle_path = kernel.write_project_cache(config, load_data(config))
    assert pickle_path is not None
    assert pickle_path.stat().st_mode & 0o777 == 0o600
    assert pickle_path.parent.stat().st_mode & 0o777 == 0o700
