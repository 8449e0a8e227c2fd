"""The notebooks as a workbook: committed thin, without outputs, with a tagged parameters cell and a
markdown note per section; shipped with the package (identical copies); and each one runs top to
bottom from ``notebooks/`` (JupyterLab's Run All starts the kernel there) with its own defaults."""

import json
import shutil
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
PACKAGED = REPO / "src" / "qieval" / "notebooks"
#: The order the farm runs them in (site reports first: the project reports read their JSON).
RUN_ORDER = ["site_report.ipynb", "network_report.ipynb", "accreditation_summary.ipynb", "abstract.ipynb"]


def test_there_are_notebooks():
    assert any(p.name == "site_report.ipynb" for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_outputs_committed(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name}: outputs committed"
            assert cell.get("execution_count") is None, f"{path.name}: execution count committed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell_and_thin_cells(path):
    nb = json.loads(path.read_text())
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        assert len(src.splitlines()) <= 8, f"{path.name}: logic belongs in src/qieval, not the notebook"
        assert "def " not in src and "class " not in src


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_section_has_a_note_naming_its_function(path):
    """A short markdown cell before each section says what it shows and which function makes it."""
    cells = nbformat.read(path, as_version=4).cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# "), "a title cell first"
    for before, cell in zip(cells, cells[1:]):
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        assert before.cell_type == "markdown", f"{path.name}: no note before {cell.source[:60]!r}"
        assert before.source.startswith("## ") and "`" in before.source, before.source
        called = [w for w in ("prepare", "measure_plan", "equity_section", "write_")
                  if w in cell.source] + [cell.source.split("report.")[-1].split("(")[0]] * ("report." in cell.source)
        assert any(name in before.source for name in called), f"{path.name}: note does not name {called}"


def test_the_package_ships_the_same_notebooks():
    """``pip install qieval`` users run projects without this repository: the farm falls back to the
    packaged copies (qieval/notebooks/), which must not drift from notebooks/."""
    from qieval.farm.runner import NOTEBOOKS as PACKAGE_NOTEBOOKS

    assert PACKAGE_NOTEBOOKS.resolve() == PACKAGED.resolve()
    assert sorted(p.name for p in PACKAGED.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        assert (PACKAGED / path.name).read_bytes() == path.read_bytes(), (
            f"src/qieval/notebooks/{path.name} differs from notebooks/{path.name}: "
            "cp notebooks/*.ipynb src/qieval/notebooks/")
    assert "notebooks/*.ipynb" in (REPO / "pyproject.toml").read_text()  # package data


def test_a_project_without_notebooks_uses_the_packaged_ones(demo_root):
    from qieval.config import load_config
    from qieval.farm.runner import notebook_path

    config = load_config(demo_root / "params" / "deprescribing.yaml")
    assert not (demo_root / "notebooks").exists()
    assert notebook_path(config) == PACKAGED / "site_report.ipynb"
    (demo_root / "notebooks").mkdir()
    own = demo_root / "notebooks" / "site_report.ipynb"
    shutil.copy(NOTEBOOKS[0], own)
    assert notebook_path(config) == own


@pytest.fixture(scope="module")
def workbook(tmp_path_factory, demo_root_session):
    """A copy of the demo project with the repository's notebooks in ``notebooks/``."""
    root = tmp_path_factory.mktemp("workbook") / "project"
    shutil.copytree(demo_root_session, root)
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    return root


@pytest.mark.parametrize("name", RUN_ORDER)
def test_runs_top_to_bottom_from_the_notebooks_folder(workbook, name):
    """Run All with the kernel in notebooks/ and the notebook's default parameters, as JupyterLab
    does: relative params paths are found from the project root, and outputs land in reports/ at
    the project root (not in notebooks/reports/)."""
    import papermill

    out = workbook / "executed" / name
    out.parent.mkdir(exist_ok=True)
    papermill.execute_notebook(str(workbook / "notebooks" / name), str(out), cwd=str(workbook / "notebooks"),
                               kernel_name="python3", progress_bar=False, log_output=False)
    nb = nbformat.read(out, as_version=4)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    shown = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
             if o.get("output_type") in ("display_data", "execute_result")]
    assert len(shown) >= 4, f"{name}: the sections showed nothing"
    assert not (workbook / "notebooks" / "reports").exists()
    written = {"site_report.ipynb": "deprescribing/sites/hillside.json",
               "network_report.ipynb": "deprescribing/network.json",
               "accreditation_summary.ipynb": "deprescribing/accreditation_status.csv",
               "abstract.ipynb": "deprescribing/abstract.md"}[name]
    assert (workbook / "reports" / written).is_file()
    if name == "site_report.ipynb":  # the workbook notes stay out of the HTML report
        from qieval.farm.exporter import notebook_to_html

        html = notebook_to_html(nb, "site")
        assert "Hillside" in html or "hillside" in html
        assert "Load and compute" not in html and "Run All" not in html
