"""Complete series: validation knows the project period, so months missing at the start or end of
a site's series are reported like gaps in the middle (real NHS England A&E data: trust RJF's rows
stop in June 2018, RHQ's start in May 2016)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from qieval.demo.ae import write_example

REF = Path(__file__).resolve().parents[1] / "data" / "reference" / "NHSRdatasets_ae_attendances.csv"
QIEVAL = [sys.executable, "-m", "qieval.cli"]
#: RJF's months after its last row (June 2018), to the end of the project period
RJF_MISSING = ", ".join([f"2018-{m:02d}" for m in range(7, 13)] + ["2019-01", "2019-02", "2019-03"])


def project(tmp_path: Path, trusts: list[str], allow_gaps: bool) -> Path:
    params = write_example(REF, tmp_path, trusts)
    text = params.read_text()
    assert "allow_gaps: true" in text
    params.write_text(text.replace("allow_gaps: true", f"allow_gaps: {str(allow_gaps).lower()}"))
    return params


def validate(params: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*QIEVAL, "validate", str(params)], capture_output=True, text=True, timeout=120,
                          cwd=params.parent.parent)


def csv_row(path: Path, **match) -> int:
    """Spreadsheet row (header = 1) of the first row matching every column=value."""
    with open(path, newline="") as f:
        for i, r in enumerate(csv.DictReader(f), start=2):
            if all(r[k] == v for k, v in match.items()):
                return i
    raise AssertionError(f"no row {match}")


def test_missing_trailing_months_fail_validation_naming_site_and_months(tmp_path):
    params = project(tmp_path, ["R1F", "RJF"], allow_gaps=False)
    proc = validate(params)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    values = tmp_path / "data" / "ae_4h" / "measure_values.csv"
    row = csv_row(values, site_id="RJF", measure_id="within_4h", period="2018-06")  # its last month
    want = (f"data/ae_4h/measure_values.csv:{row}:period: site RJF, measure within_4h: no data for "
            f"{RJF_MISSING} (9 month(s) missing at the end of the project period 2016-04 to 2019-03)")
    lines = (proc.stdout + proc.stderr).splitlines()
    assert any(line.startswith(want) for line in lines), lines
    assert sum("site RJF" in line for line in lines) == 3  # one line per measure
    assert not any("site R1F" in line for line in lines)  # R1F is complete


def test_allow_gaps_turns_them_into_warnings(tmp_path):
    proc = validate(project(tmp_path, ["R1F", "RJF"], allow_gaps=True))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    assert f"warning: site RJF, measure attendances: no data for {RJF_MISSING}" in out
    assert "valid (3 warning(s))" in out


def test_missing_first_month_and_a_missing_series(tmp_path):
    params = project(tmp_path, ["RHQ", "R1F"], allow_gaps=False)
    values = params.parent.parent / "data" / "ae_4h" / "measure_values.csv"
    rows = values.read_text().splitlines()
    values.write_text("\n".join(r for r in rows if not r.startswith("R1F,") or ",admitted," not in r) + "\n")
    proc = validate(params)
    assert proc.returncode == 2
    lines = (proc.stdout + proc.stderr).splitlines()
    first = csv_row(values, site_id="RHQ", measure_id="within_4h", period="2016-05")
    assert any(line.startswith(f"data/ae_4h/measure_values.csv:{first}:period: site RHQ, measure within_4h: "
                               "no data for 2016-04 (1 month(s) missing at the start") for line in lines), lines
    assert any(line.startswith("data/ae_4h/measure_values.csv::site_id: site R1F has no rows for measure admitted")
               for line in lines), lines


@pytest.mark.parametrize("allow", [False, True])
def test_complete_project_has_no_series_problems(tmp_path, allow):
    proc = validate(project(tmp_path, ["R1F", "RJC"], allow_gaps=allow))
    assert proc.returncode == 0 and "warning" not in proc.stdout + proc.stderr


def _opioids(root: Path, keep) -> list[str]:
    """Validate the opioids demo after filtering its Parquet records with ``keep(practice, month)``."""
    import pandas as pd

    path = root / "data" / "opioids" / "prescribing.parquet"
    records = pd.read_parquet(path)
    month = pd.to_datetime(records["month"].astype(str))
    records.loc[keep(records["practice_code"], month)].to_parquet(path)
    proc = subprocess.run([*QIEVAL, "validate", "params/opioids.yaml"], capture_output=True, text=True,
                          timeout=300, cwd=root)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    return (proc.stdout + proc.stderr).splitlines()


def test_series_derived_from_records_are_checked_too(demo_root):
    """Opioids demo (Parquet records): a practice whose records stop two months early, then records
    that start two months after the project period for every practice."""
    lines = _opioids(demo_root, lambda p, m: ~((p == "white_city") & (m >= "2024-11-01")))
    assert any(line.startswith("data/opioids/prescribing.parquet::month: measure 'high_dose' at site "
                               "'white_city' has no value for 2 period(s) from 2024-11") for line in lines), lines
    lines = _opioids(demo_root, lambda p, m: m >= "2022-03-01")
    want = ("data/opioids/prescribing.parquet::period: no records at any site for 2022-01, 2022-02 "
            "(2 month(s) missing at the start of the project period 2022-01 to 2024-12)")
    assert any(line.startswith(want) for line in lines), lines


def test_weekly_series_by_hand():
    """Weeks of 7 days: project 2009-07 to 2012-03 (1 July 2009 to 31 March 2012); a series of
    Mondays from 20 July 2009 to 12 March 2012 misses the weeks of 6 and 13 July 2009 (both whole
    inside the period) and of 19 March 2012 (19–25 March; the week of 26 March runs into April)."""
    import pandas as pd

    from qieval.io.rules import incomplete_series

    periods = pd.date_range("2009-07-20", "2012-03-12", freq="7D")
    frame = pd.DataFrame({"site_id": "north", "measure_id": "referrals", "period": periods},
                         index=range(2, 2 + len(periods)))
    out = incomplete_series(frame, ["north"], ["referrals"], pd.Timestamp("2009-07-01"),
                            pd.Timestamp("2012-03-01"), "week")
    assert list(out["row"]) == [2, 1 + len(periods)]
    assert "no data for 2009-07-06, 2009-07-13 (2 week(s) missing at the start" in out["message"].iloc[0]
    assert "no data for 2012-03-19 (1 week(s) missing at the end" in out["message"].iloc[1]
    # Tuesdays from 7 July 2009 to 20 March 2012: 1–6 July and 27–31 March are not whole weeks
    full = pd.DataFrame({"site_id": "north", "measure_id": "referrals",
                         "period": pd.date_range("2009-07-07", "2012-03-20", freq="7D")})
    assert incomplete_series(full, ["north"], ["referrals"], pd.Timestamp("2009-07-01"),
                             pd.Timestamp("2012-03-01"), "week").empty
