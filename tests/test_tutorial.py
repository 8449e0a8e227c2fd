"""The A&E tutorial (notebooks/examples/ae_tutorial.ipynb) runs top to bottom from its own folder, as
Run All in JupyterLab does, and its printed numbers match values recomputed here from the CSV with the
csv module (no qieval, no pandas)."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
TUTORIAL = REPO / "notebooks" / "examples" / "ae_tutorial.ipynb"
DATA = REPO / "notebooks" / "examples" / "data" / "NHSRdatasets_ae_attendances.csv"
REFERENCE = REPO / "tests" / "data" / "reference" / "NHSRdatasets_ae_attendances.csv"


def test_the_tutorial_data_is_the_reference_file():
    assert DATA.read_bytes() == REFERENCE.read_bytes()
    assert "Open Government Licence" in (DATA.parent / "README.md").read_text()


def test_committed_without_outputs():
    nb = nbformat.read(TUTORIAL, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    import papermill

    folder = tmp_path_factory.mktemp("tutorial") / "examples"
    shutil.copytree(TUTORIAL.parent, folder)
    out = folder / "executed.ipynb"
    papermill.execute_notebook(str(folder / TUTORIAL.name), str(out), cwd=str(folder), kernel_name="python3",
                               progress_bar=False, log_output=False)
    return nbformat.read(out, as_version=4)


def _text(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                   if o.output_type == "stream")


def _rq8() -> list[dict[str, str]]:
    with open(REFERENCE, newline="") as f:
        return sorted((r for r in csv.DictReader(f) if r["org_code"] == "RQ8" and r["type"] == "1"),
                      key=lambda r: r["period"])


def test_runs_and_draws_every_chart(executed):
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, errors
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 4, "run chart, p chart, p′ chart and MDC chart shown as images"


def test_printed_numbers_match_the_csv(executed):
    rows = _rq8()
    text = _text(executed)
    assert f"RQ8: {len(rows)} months, April 2016 to March 2019" in text
    base = rows[:12]  # freeze=12: April 2016 to March 2017
    within = sum(int(r["attendances"]) - int(r["breaches"]) for r in base)
    cl = 100 * within / sum(int(r["attendances"]) for r in base)
    shown = float(re.search(r"Centre line over the baseline: ([\d.]+)% within 4 hours", text).group(1))
    assert shown == pytest.approx(cl, abs=5e-5)
    p_out = int(re.search(r"Months outside the limits \(sigma signal\): (\d+) of 36", text).group(1))
    pp_out = int(re.search(r"Months outside the p′ limits: (\d+) of 36", text).group(1))
    assert pp_out < p_out  # Laney's p′ widens the limits of the over-dispersed p chart
    assert "front-door streaming:" in text and "odds ratio" in text


def test_mdc_icons_match_the_limits_by_hand(executed):
    """Assurance by hand: mean ± 2.66 × mean moving range of the first 12 proportions (no screened
    moving range is ≥ 3.267 × the mean here, checked below); the 95% target above the upper limit → fail."""
    p = [(int(r["attendances"]) - int(r["breaches"])) / int(r["attendances"]) for r in _rq8()[:12]]
    mean = sum(p) / 12
    mr = [abs(b - a) for a, b in zip(p, p[1:])]
    mr_bar = sum(mr) / len(mr)
    assert max(mr) < 3.267 * mr_bar
    upl = mean + 2.66 * mr_bar
    assert upl < 0.95
    table = next(o["data"]["text/plain"] for c in executed.cells if c.id == "mdc" for o in c.outputs
                 if "text/plain" in o.get("data", {}))
    assert re.search(r"no facet\s+\w+\s+fail", table), table
