"""qic()'s public signature and QicOptions (the options qic_columns takes) stay in step."""

import dataclasses
import inspect

import pandas as pd

from qieval.spc.qic import QicOptions, qic, qic_columns


def test_qic_keywords_are_the_options_with_the_same_defaults():
    params = inspect.signature(qic).parameters
    keywords = {k: p.default for k, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    fields = {f.name: f.default for f in dataclasses.fields(QicOptions)}
    assert keywords == fields
    assert list(params)[:4] == ["data", "x", "y", "n"]


def test_qic_columns_with_options_gives_qic_result():
    data = pd.DataFrame({"x": range(1, 9), "y": [3, 5, 4, 6, 9, 8, 10, 12], "n": [10] * 8})
    result = qic(data, "x", "y", "n", chart="p", freeze=4, multiply=100)
    cols = qic_columns(data, "x", "y", "n", QicOptions(chart="p", freeze=4, multiply=100))
    pd.testing.assert_frame_equal(result, pd.DataFrame(cols), check_like=False)
    # baseline p = 18/40 = 0.45 from the first four points (freeze), times 100
    assert result["cl"].iloc[0] == 45.0
