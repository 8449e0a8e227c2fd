"""The params' attribution: block (validated with FILE:LINE), and what the reports do with it."""

import re
import shutil

import numpy as np
import pytest

from attribution_simulate import single_threaded_blas
from qieval.config import load_config
from qieval.errors import InputError
from qieval.io.load import load_project
from qieval import figures
from qieval.report import attribution_section


def _params_with(root, project, block, measure_block=None):
    path = root / "params" / f"{project}.yaml"
    text = path.read_text()
    # drop the project's own attribution: block (the demo writes one out), then insert ours
    text = re.sub(r"^attribution:\n(?:[ \t]+.*\n)*", "", text, count=1, flags=re.M)
    text = text.replace("categories: [", block + "categories: [", 1)
    if measure_block:
        text = text.replace("    improvement_direction: decrease\n", "    improvement_direction: decrease\n"
                            + measure_block, 1)
    path.write_text(text)
    return path


def test_bad_settings_are_reported_at_their_line(demo_root):
    path = _params_with(demo_root, "opioids", "attribution:\n  impact: gradual\n  harmonic: 2\n",
                        "    attribution: {min_points: 0}\n")
    with pytest.raises(InputError) as e:
        load_config(path)
    text = "\n".join(str(p) for p in e.value.problems)
    lines = path.read_text().splitlines()
    line = next(i for i, x in enumerate(lines, 1) if "impact: gradual" in x)
    assert re.search(rf"opioids\.yaml:{line}:attribution\.impact: expected one of .*'event_time'", text)
    assert f"opioids.yaml:{line + 1}:attribution.harmonic: unknown setting; did you mean 'harmonics'?" in text
    assert re.search(r"measures\.0\.attribution\.min_points: expected 1 or more", text)


def test_measure_settings_override_single_project_keys(demo_root):
    path = _params_with(demo_root, "opioids", "attribution:\n  impact: ramp\n  harmonics: 2\n",
                        "    attribution: {impact: step}\n")
    config = load_config(path)
    first, second = config.measures[0], config.measures[1]
    s1, s2 = attribution_section.settings_for(config, first), attribution_section.settings_for(config, second)
    assert (s1.impact, s1.harmonics, s1.min_points) == ("step", 2, 8)
    assert (s2.impact, s2.harmonics) == ("ramp", 2)


@pytest.fixture(scope="module")
def opioids(demo_root_session):
    return load_project(demo_root_session / "params" / "opioids.yaml")


def test_site_section_claims_only_what_the_site_can_identify(opioids):
    m = opioids.config.measure("high_dose")
    site = "brook_green"  # education and the reviews (process) both started in 2023-04 here
    values = opioids.measure_values[opioids.measure_values["site_id"] == site]
    cycles = opioids.pdsa_cycles[opioids.pdsa_cycles["site_id"].isin([site, "ALL"])]
    with single_threaded_blas():
        own = attribution_section.fit_measure(values, cycles, m)
        pooled = attribution_section.pooled_fit(opioids, m)
        assert attribution_section.pooled_fit(opioids, m) is pooled  # fitted once per project data
        html = attribution_section.site_section(own, pooled, m, cycles, "Brook Green", "a")
    items = re.findall(r"<li>(.*?)</li>", html)
    process = next(i for i in items if "separate process" in i)
    assert "no claim is made for this site" in process and "All sites pooled" in process
    assert own.interval.startswith("wider of quasi-likelihood and Newey")
    for item in items:
        if item.startswith("At this site"):
            assert "interrupted time series" in item


def test_network_section_shows_the_event_time_chart(opioids):
    m = opioids.config.measure("high_dose")
    with single_threaded_blas():
        pooled = attribution_section.pooled_fit(opioids, m)
    html = attribution_section.section(pooled, m, opioids.pdsa_cycles, "all sites", "a")
    assert "Effect of process on opioid patients" in html and "by month since its start" in html
    assert "months 0 to " in html and "compared with sites that had not started yet" in html
    assert html.count("<li>") >= 4  # one sentence per category (plus legends), not one per month


def test_event_time_chart_marks_months_without_comparison():
    import attribution_simulate as sim
    from qieval.attribution import fit

    with single_threaded_blas():
        a = fit(sim.simulate5(np.random.default_rng(3), "ramp"), sim.interventions5())
    fig = figures.event_time_chart(a.effects, "reviews", ratio=True, ylabel="odds ratio", title="t", alt="x")
    labels = [label for label, _ in figures.legend_entries(fig)]
    assert sorted(labels) == ["average over the months after the start", "compared with sites not yet started",
                              "no site without it at that time"]
