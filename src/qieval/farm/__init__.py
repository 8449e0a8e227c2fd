"""Execution machinery: run the report notebooks for every site and project (papermill parameters,
warm Jupyter kernels, threads / processes / Dask), export self-contained HTML, keep the manifest and
``reports/index.html``. Report *content* lives in :mod:`qieval.report`; nothing here computes a
statistic.

Modules: :mod:`~qieval.farm.batch` (plan, run, record a whole project), :mod:`~qieval.farm.runner`
(one notebook → HTML, failure pages), :mod:`~qieval.farm.kernel` (warm kernels),
:mod:`~qieval.farm.exporter` (nbconvert exporter and template), :mod:`~qieval.farm.index`.
"""
