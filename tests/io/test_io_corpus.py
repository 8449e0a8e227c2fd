"""The broken-input corpus (``tests/data/bad/<case>/``): every case exits 2 with exact problem lines.

See ``tests/data/bad/README.md`` for the layout; new case folders are picked up automatically.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from io_helpers import LINE, PARAMS, SUMMARY, copy_tree, make_project, problem_lines, run_validate

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad"
CASES = sorted(p for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def _params_for(case: Path) -> str:
    """Which params file the case validates (see the corpus README)."""
    chosen = case / "params.txt"
    if chosen.is_file():
        return chosen.read_text(encoding="utf-8").splitlines()[0].strip()
    own = sorted((case / "params").glob("*.yaml")) if (case / "params").is_dir() else []
    if len(own) == 1:
        return f"params/{own[0].name}"
    return PARAMS


def _prepare(case: Path, root: Path, demo: Path) -> None:
    """A fresh demo project in ``root`` with the case's files copied over it."""
    shutil.copytree(demo, root)
    for item in case.iterdir():
        if item.name in ("expected.txt", "params.txt", "README.md"):
            continue
        if item.is_dir():
            copy_tree(item, root / item.name)
        else:
            (root / item.name).write_bytes(item.read_bytes())


@pytest.fixture(scope="module")
def corpus_runs(tmp_path_factory, demo_root_session) -> dict[str, subprocess.CompletedProcess[str]]:
    """``qieval validate`` on every case, run concurrently once (each is a separate process)."""
    base = tmp_path_factory.mktemp("corpus")
    roots = {}
    for case in CASES:
        roots[case.name] = base / case.name
        _prepare(case, roots[case.name], demo_root_session)
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {c.name: pool.submit(run_validate, roots[c.name], _params_for(c)) for c in CASES}
        return {name: f.result() for name, f in futures.items()}


def test_corpus_is_not_empty():
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_case(case: Path, corpus_runs):
    expected = [  # a summary line, if the case's author kept one, is not compared
        line for line in (case / "expected.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not SUMMARY.match(line)
    ]
    assert expected, f"{case.name}/expected.txt is empty"
    assert all(LINE.match(line) for line in expected), "expected.txt lines must be FILE:ROW:COLUMN: message"

    result = corpus_runs[case.name]

    assert result.returncode == 2, result.stdout + result.stderr
    got = problem_lines(result.stderr)
    assert sorted(got) == sorted(expected)


def test_two_gigabyte_looking_file(tmp_path: Path):
    """A sparse 3 GiB file with a valid header is refused by its size, without reading it."""
    make_project(tmp_path)
    big = tmp_path / "data" / "deprescribing" / "measure_values.csv"
    with big.open("wb") as f:
        f.write(b"site_id,period,measure_id,numerator,denominator,value\n")
        f.truncate(3 * 2**30)
    result = run_validate(tmp_path)
    assert result.returncode == 2, result.stderr
    got = problem_lines(result.stderr)
    assert got == [
        "data/deprescribing/measure_values.csv::: file is 3.0 GiB; tables over 512 MiB should be "
        "record-level extracts in Parquet or a database (see the README)"
    ]
