"""The red-team pass for record-level input: params expressions cannot read files, database
passwords never appear in messages or on disk, and cached record results follow the file's content."""

from __future__ import annotations

import os

import pytest
from records_helpers import PRESCRIBING, RECORDS_CSV, TODAY, params, values_of, write_project

from qieval.config import load_config
from qieval.errors import InputError
from qieval.io.load import load_data
from qieval.records.source import mask_secrets, masked_url


def _problems(path) -> list[str]:
    with pytest.raises(InputError) as exc:
        load_data(load_config(path), today=TODAY)
    return [str(p) for p in exc.value.problems]


def _line_of(path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.mark.parametrize("expression", [
    "(SELECT string_agg(content, '') FROM read_text('{secret}'))",
    "length((SELECT max(column0) FROM read_csv('{secret}', header = false)))",
    "(SELECT count(*) FROM glob('{dir}/*'))",
])
def test_derive_cannot_read_files(tmp_path, expression):
    """``read_csv('/etc/hostname')`` in ``derive`` put the file into a report: now a refused
    expression, reported at its own params line."""
    secret = tmp_path / "secret.csv"
    secret.write_text("x\nTOP-SECRET\n")
    text = RECORDS_CSV.replace('derive: {core20: "imd_quintile = 1"}',
                               'derive:\n    core20: "imd_quintile = 1"\n    leak: "'
                               + expression.format(secret=secret, dir=tmp_path).replace('"', '\\"') + '"')
    path = write_project(tmp_path / "p", params(text), PRESCRIBING)
    problems = _problems(path)
    assert len(problems) == 1, problems
    assert f"tiny.yaml:{_line_of(path, 'leak:')}:records.derive.leak: " in problems[0]
    assert "only the columns of the records" in problems[0]
    assert "TOP-SECRET" not in problems[0]


def test_where_and_checks_cannot_read_files_or_chain_statements(tmp_path):
    text = RECORDS_CSV.replace('require: "ome_mg_day >= 0"',
                               "require: \"ome_mg_day >= (SELECT count(*) FROM read_text('/etc/hostname'))\"")
    measures_text = params(text).replace('where: "ome_mg_day > 120"',
                                         "where: \"ome_mg_day > 120; COPY (SELECT 1) TO 'pwned.csv'\"")
    path = write_project(tmp_path, measures_text, PRESCRIBING)
    problems = _problems(path)
    line = _line_of(path, "pwned.csv")
    assert any(f":{line}:measures.0.from_records.numerator.where: one SQL expression" in p for p in problems), problems
    assert not (tmp_path / "pwned.csv").exists()
    # with the ';' removed, the check that reads a file is refused at its own line
    path.write_text(measures_text.replace("; COPY (SELECT 1) TO 'pwned.csv'", ""))
    problems = _problems(path)
    line = _line_of(path, "read_text")
    assert any(f":{line}:records.checks.0.require: " in p and "disabled by configuration" in p
               for p in problems), problems


def test_the_records_file_itself_is_still_read(tmp_path):
    """The lock-down allows the records file (CSV and Parquet) and nothing else."""
    for name in ("prescribing.csv", "prescribing.parquet"):
        text = RECORDS_CSV.replace("prescribing.csv", name)
        data = load_data(load_config(write_project(tmp_path / name, params(text), PRESCRIBING, name)),
                                 today=TODAY)
        assert values_of(data, "high_dose")[("a", "2022-01")][:2] == (2.0, 3.0)  # p1, p2 of p1, p2, p3


@pytest.mark.parametrize("url, secret", [
    ("postgresql+psycopg://user:hunter2@db.example:5432/qi", "hunter2"),
    ("postgresql+psycopg://user:p@ss:w/rd@db.example:5432/qi", "p@ss:w/rd"),  # '@', ':' and '/' inside
    ("postgresql+psycopg://user@db.example/qi?password=hunter2&sslmode=require", "hunter2"),
    ("postgresql+psycopg://user@db.example/qi?sslmode=require&PWD=hunter2", "hunter2"),
    ("postgresql+psycopg://user:hunter2@db.example:notaport/qi", "hunter2"),  # malformed
    ("not a url at all user:hunter2@host", None),  # no scheme: nothing to mask, nothing recognised
])
def test_masked_url_hides_every_form_of_password(url, secret):
    shown = masked_url(url)
    if secret is None:
        assert shown == url
        return
    assert secret not in shown and "***" in shown
    assert "db.example" in shown  # the host is still named, so the message is useful


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://user:hunter22@127.0.0.1:notaport/qi",       # malformed port
    "postgresql+psycopg://user@127.0.0.1:1/qi?password=hunter22",      # refused, password in the query
    "nosuchdialect://user:hunter22@127.0.0.1/qi",                      # unknown driver
    "postgresql+psycopg://user:hunter22@/qi?host=/nonexistent&password=hunter22",
])
def test_database_errors_never_print_the_password(tmp_path, url):
    text = RECORDS_CSV.replace("  file: prescribing.csv\n", f'  sql: "SELECT 1"\n  url: "{url}"\n')
    path = write_project(tmp_path, params(text))
    problems = _problems(path)
    assert problems and all("hunter22" not in p for p in problems), problems
    assert any(":records.url: " in p for p in problems), problems


def test_mask_secrets_in_free_text():
    msg = ('could not parse "postgresql://u:s3cr3t!@h/db?sslpassword=k3y" and '
           "mysql://root:toor@localhost/x; token=abc")
    out = mask_secrets(msg, ["s3cr3t!"])
    for secret in ("s3cr3t!", "k3y", "toor"):
        assert secret not in out


def test_records_cache_follows_the_content(tmp_path):
    """An edit of the records file that keeps its size and modification time gives the new numbers
    (the red team's stale cache): the cache is keyed on the file's content."""
    path = write_project(tmp_path, params(RECORDS_CSV), PRESCRIBING)
    first = load_data(load_config(path), today=TODAY)
    assert values_of(first, "rows")[("a", "2022-01")][0] == 3
    records = tmp_path / "data" / "prescribing.csv"
    before = records.stat()
    text = records.read_text()
    # move p5 (site b) to site a in January: same bytes count, different numbers
    edited = text.replace("p5,b,2022-01", "p5,a,2022-01")
    assert edited != text and len(edited) == len(text)
    records.write_text(edited)
    os.utime(records, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (records.stat().st_size, records.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    second = load_data(load_config(path), today=TODAY)
    assert values_of(second, "rows")[("a", "2022-01")][0] == 4
    assert values_of(second, "rows")[("b", "2022-01")][0] == 1


def test_huge_record_values_are_a_problem_not_a_crash(tmp_path):
    """A record of 1e308 (or 'inf') aggregated into a measure value would overflow the statistics."""
    records = PRESCRIBING.astype({"ome_mg_day": object})
    records.loc[0, "ome_mg_day"] = "1e308"
    path = write_project(tmp_path, params(RECORDS_CSV), records)
    problems = _problems(path)
    assert any("measure 'mean_ome': the value of site 'a'" in p and "1,000,000,000,000" in p
               for p in problems), problems
