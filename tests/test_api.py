"""The public API: ``qieval`` re-exports the main verbs, lazily (the farm imports qieval in every kernel)."""

import subprocess
import sys

import qieval


def test_verbs_are_the_engines_themselves():
    import qieval.attribution
    import qieval.spc

    assert qieval.qic is qieval.spc.qic and qieval.mdc is qieval.spc.mdc
    assert qieval.mdc_icons is qieval.spc.mdc_icons and qieval.plot is qieval.spc.plot
    assert qieval.fit is qieval.attribution.fit
    assert {"qic", "mdc", "mdc_icons", "plot", "fit"} <= set(dir(qieval)) and set(qieval.__all__) >= {"fit"}


def test_import_qieval_loads_nothing_heavy():
    code = ("import sys, qieval; heavy = [m for m in ('pandas', 'numpy', 'matplotlib', 'statsmodels', "
            "'qieval.spc', 'qieval.attribution') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_unknown_names_still_fail():
    try:
        qieval.no_such_verb
    except AttributeError as err:
        assert "no_such_verb" in str(err)
    else:
        raise AssertionError("qieval.no_such_verb should not exist")
