"""The Examples sections of the public API's docstrings run as doctests (numbers in them are worked out
in the text: pooled rate and 3-sigma limit, 2.66 × mean moving range, a step the noise cannot bias)."""

import doctest
import importlib

import pytest

#: module -> the public functions in it whose docstrings must carry runnable examples
PUBLIC = {
    "qieval.spc.qic": ["qic"],
    "qieval.spc.mdc": ["mdc", "mdc_icons"],
    "qieval.attribution.model": ["fit"],
    "qieval.report.site_report": ["prepare"],
}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    for function in PUBLIC[name]:
        doc = getattr(module, function).__doc__ or ""
        assert "Examples\n" in doc and ">>> " in doc, f"{name}.{function} has no Examples section"
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS,
                             raise_on_error=False, report=True)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed (see the output above)"
