"""Figures draw computed results, carry alt text, and give deterministic SVG."""

import numpy as np
import pandas as pd

from qieval import figures


def _result():
    k = 14
    return pd.DataFrame({
        "period": pd.date_range("2022-01-01", periods=k, freq="MS"),
        "y": [1.0, 2, 1, 2, 1, 2, np.nan, 2, 1, 2, 1, 2, 9, 2],
        "cl": 1.5, "ucl": 4.0, "lcl": 0.0, "part": 1, "runs_signal": False,
        "sigma_signal": [False] * 12 + [True, False],
    })


CYCLES = pd.DataFrame({"cycle_id": ["PDSA-01"], "start": [pd.Timestamp("2022-05-01")],
                       "category": ["education"]})


def test_spc_chart_svg_is_deterministic_and_has_no_date():
    def draw():
        return figures.figure_svg(figures.spc_chart(
            _result(), chart="i", improvement_direction="decrease", cycles=CYCLES, title="T",
            ylabel="u", alt="a chart"))
    a, b = draw(), draw()
    assert a == b
    assert "<dc:date>" not in a


def test_figure_html_embeds_svg_with_alt_text():
    fig = figures.spc_chart(_result(), chart="run", improvement_direction="increase", cycles=CYCLES,
                            title="T", ylabel="u", alt="Run chart of something & more")
    html = figures.figure_html(fig)
    assert html.startswith("<figure><img src=\"data:image/svg+xml;base64,")
    assert 'alt="Run chart of something &amp; more"' in html


def test_signal_point_is_drawn_as_concern_for_decrease_direction():
    # y = 9 above the upper limit when lower is better → an orange diamond (concern)
    fig = figures.spc_chart(_result(), chart="i", improvement_direction="decrease", cycles=CYCLES,
                            title="T", ylabel="u", alt="x")
    labels = [label for label, _ in figures.legend_entries(fig)]
    assert "special cause: concern" in labels
    assert "special cause: improvement" not in labels
    svg = figures.figure_svg(fig)
    assert figures.MDC_COLOURS["concern"].lower() in svg.lower()


def test_html_legend_lists_every_entry_with_its_symbol():
    """The legend is an HTML list under the image; each symbol is drawn from the handle itself:
    the concern point is an orange diamond path, the PDSA marker a dashed line in the education
    colour, the baseline span a shaded rectangle."""
    result = _result()
    fig = figures.spc_chart(result, chart="i", improvement_direction="decrease", cycles=CYCLES, title="T",
                            ylabel="u", alt="x", baseline_end=pd.Timestamp("2022-06-01"))
    entries = dict(figures.legend_entries(fig))
    assert list(entries)[:2] == ["centre line", "control limits (3σ)"]
    concern = entries["special cause: concern"]
    assert figures.MDC_COLOURS["concern"].lower() in concern.lower() and "<path" in concern
    pdsa = entries["PDSA: education"]
    assert figures.CATEGORY_COLOURS["education"].lower() in pdsa.lower() and "stroke-dasharray" in pdsa
    assert "<rect" in entries["baseline"]
    html = figures.figure_html(fig)
    assert html.count("<li>") == len(entries)
    assert html.index("<img") < html.index('<ul class="legend"') < html.index("</figure>")
    assert all('aria-hidden="true"' in svg for svg in entries.values())
