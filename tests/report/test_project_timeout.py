"""A project report's cells work on every site at once, so their timeout grows with the network
(``--timeout`` per 1,000 sites, never less): at 6,500 practices the accreditation report's first
cell took about 450 s of the default 600 s on a loaded 2-core machine (benchmarks/project_scale.py
--dask), and a network twice that size must not fail for being big."""

from __future__ import annotations

from qieval.config import load_config
from qieval.farm.batch import _project_jobs, project_timeout
from qitest_support import demo_copy


def test_project_timeout_is_per_thousand_sites_and_never_less():
    assert project_timeout(600, 4) == 600
    assert project_timeout(600, 1000) == 600
    assert project_timeout(600, 6500) == 3900  # 600 × 6.5
    assert project_timeout(None, 6500) is None and project_timeout(0, 6500) == 0  # no timeout stays none


def test_project_jobs_carry_the_scaled_timeout(tmp_path):
    root = demo_copy(tmp_path)
    config = load_config(root / "params" / "deprescribing.yaml")
    jobs, _ = _project_jobs(config, {}, True, {"project_reports": {}}, 600, 50)
    assert jobs and all(j.timeout == 600 for j in jobs)
    big = config.model_copy(update={"sites": [f"p{i:04d}" for i in range(2500)]})
    jobs, _ = _project_jobs(big, {}, True, {"project_reports": {}}, 600, 50)
    assert jobs and all(j.timeout == 1500 for j in jobs)
