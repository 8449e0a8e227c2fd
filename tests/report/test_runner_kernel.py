"""Warm kernels on their own (real Jupyter kernels, tiny notebooks so they are quick): replaced every
K notebooks and after a dead kernel; papermill-style parameterisation and execution counts."""

from __future__ import annotations

import nbformat
import pytest

from qieval.farm.kernel import WarmKernel, parameterize


@pytest.fixture
def tiny(tmp_path):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    params = nbformat.v4.new_code_cell("n = 0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_markdown_cell("# tiny"),
                nbformat.v4.new_code_cell("import os\nprint(os.getpid())"),
                nbformat.v4.new_code_cell("if n < 0:\n    os._exit(3)\nn * 2")]
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    return path


def _pid(result) -> str:
    return result.nb.cells[3].outputs[0]["text"].strip()


def test_kernel_is_reused_then_replaced_every_k_notebooks(tiny, tmp_path):
    k = WarmKernel(max_sites=2, preload=())
    try:
        runs = [k.execute(parameterize(tiny, {"n": i}), cwd=str(tmp_path), timeout=30) for i in range(3)]
    finally:
        k.close()
    assert all(r.ok for r in runs)
    pids = [_pid(r) for r in runs]
    assert pids[0] == pids[1] != pids[2]
    assert k.kernels_started == 2
    r = runs[1]
    assert "injected-parameters" in r.nb.cells[1].metadata["tags"]
    assert [c.execution_count for c in r.nb.cells if c.cell_type == "code"] == [1, 2, 3, 4]
    assert r.nb.cells[-1].outputs[0]["data"]["text/plain"] == "2"
    assert r.nb.metadata.papermill["parameters"] == {"n": 1}
    assert r.nb.metadata["language_info"]["name"] == "python"


def test_dead_kernel_fails_that_notebook_only(tiny, tmp_path):
    k = WarmKernel(preload=())
    try:
        dead = k.execute(parameterize(tiny, {"n": -1}), cwd=str(tmp_path), timeout=30)
        after = k.execute(parameterize(tiny, {"n": 5}), cwd=str(tmp_path), timeout=30)
    finally:
        k.close()
    assert not dead.ok and dead.ename == "DeadKernelError" and dead.cell == 5
    assert after.ok and after.nb.cells[-1].outputs[0]["data"]["text/plain"] == "10"
    assert k.kernels_started == 2


def test_project_cache_is_keyed_on_the_inputs_and_the_code(demo_root):
    """The runner pickles the project it validated for the kernels; a pickle is used only while the
    params, every data file and qieval's code are unchanged."""
    import os

    from qieval.config import load_config
    from qieval.io.load import load_data
    from qieval.farm import kernel

    config = load_config(demo_root / "params/deprescribing.yaml")
    data = load_data(config)
    path = kernel.write_project_cache(config, data)
    assert path is not None and path.is_file() and ".cache" in path.parts
    key, where = kernel._stat_key(config.params_path)
    assert where == path and key[-1] == kernel.code_digest()
    cached = kernel._read_project_cache(key, path)
    assert cached is not None and cached.measure_values.equals(data.measure_values)
    copy = kernel._copy_project(cached)
    copy.measure_values.loc[0, "value"] = -1.0
    assert not cached.measure_values.equals(copy.measure_values), "callers get their own copy"

    # touching a file (same bytes) keeps the key: the cache is keyed on content
    csv = demo_root / "data/deprescribing/pdsa_cycles.csv"
    st = csv.stat()
    os.utime(csv, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert kernel._stat_key(config.params_path) == (key, path)

    # an edit that keeps the file's size and modification time (the red team's stale
    # cache) changes the key, so the pickle of the old numbers is not used
    values = demo_root / "data/deprescribing/measure_values.csv"
    before = values.stat()
    text = values.read_text(encoding="utf-8")
    edited = text.replace("hillside,2021-01,register_prevalence,21,", "hillside,2021-01,register_prevalence,22,", 1)
    assert edited != text and len(edited) == len(text)
    values.write_text(edited, encoding="utf-8")
    os.utime(values, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (values.stat().st_size, values.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    new_key, new_path = kernel._stat_key(config.params_path)
    assert new_key != key and new_path != path
    assert kernel._read_project_cache(new_key, path) is None
