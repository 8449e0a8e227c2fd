"""HTML building blocks: escaping, accessible tables, and a short plain-text form."""

from IPython.lib.pretty import pretty

from qieval.report.html import Html, table
from qieval.format import fmt_num, fmt_p


def test_table_escapes_and_has_headers():
    t = table(["Measure", "Value"], [["a <b>", "1 & 2"]], caption="c")
    assert '<th scope="col">Measure</th>' in t and '<th scope="row">a &lt;b&gt;</th>' in t
    assert "<td>1 &amp; 2</td>" in t and "<caption>c</caption>" in t


def test_html_plain_text_form_is_short():
    # executed notebooks keep text/plain beside text/html: it must not repeat the whole section
    h = Html("<p>" + "x" * 10_000 + "</p>")
    assert h._repr_html_() == str(h)
    assert len(pretty(h)) < 80


def test_number_formats():
    assert fmt_num(37107, 0) == "37,107" and fmt_num(float("nan")) == "–"
    assert fmt_p(0.0004) == "p < 0.001" and fmt_p(0.0123) == "p = 0.012"
