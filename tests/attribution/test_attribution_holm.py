"""Holm (1979) step-down adjustment, checked against a hand-worked example."""

import numpy as np

from qieval.attribution.inference import holm


def test_holm_hand_worked():
    # p = 0.01, 0.04, 0.03, 0.005 (m = 4). Sorted: 0.005, 0.01, 0.03, 0.04
    # times (4, 3, 2, 1): 0.020, 0.030, 0.060, 0.040; running max: 0.020, 0.030, 0.060, 0.060
    got = holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(got, [0.030, 0.060, 0.060, 0.020])


def test_holm_caps_at_one_and_ignores_nan():
    # non-NaN: 0.2, 0.5 (m = 2): 0.4, 0.5 -> 0.4, 0.5 ; 0.6 * 2 would exceed 1 in other cases
    got = holm([0.2, np.nan, 0.5])
    np.testing.assert_allclose(got, [0.4, np.nan, 0.5])
    np.testing.assert_allclose(holm([0.7, 0.6]), [1.0, 1.0])
    assert np.isnan(holm([np.nan])).all()
