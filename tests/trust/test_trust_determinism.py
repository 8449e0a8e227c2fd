""""Reruns are deterministic: the same inputs give byte-identical HTML apart from the run
timestamp. No randomness without a recorded seed."

Two renders of the demo into two temporary project roots (conftest: the whole project, and
``--sites riverside`` alone, at the same time in separate processes); after replacing run
timestamps, the commit line and the temporary root paths, the pages and the results JSON must be
byte-identical.
"""

from __future__ import annotations

import ast
import difflib
from pathlib import Path

import pytest
from trust_helpers import normalise

import qieval

SRC = Path(qieval.__file__).resolve().parent
SAME = ["deprescribing/sites/riverside.html", "deprescribing/network.html",
        "deprescribing/sites/riverside.json", "deprescribing/network.json"]


def _first_difference(a: str, b: str) -> str:
    diff = difflib.unified_diff(a.replace("><", ">\n<").splitlines(), b.replace("><", ">\n<").splitlines(),
                                "first run", "second run", n=1, lineterm="")
    return "\n".join(line[:200] for line in list(diff)[:30])


@pytest.mark.parametrize("rel", SAME)
def test_rerun_gives_identical_output_apart_from_the_timestamp(renders, rel):
    a, b = renders
    assert a.returncode == 0 and b.returncode == 0, (a.stderr[-1500:], b.stderr[-1500:])
    pa, pb = a.reports / rel, b.reports / rel
    assert pa.is_file() and pb.is_file(), f"{rel} missing"
    ta = normalise(pa.read_text(encoding="utf-8"), [a.root])
    tb = normalise(pb.read_text(encoding="utf-8"), [b.root])
    assert ta.encode() == tb.encode(), f"{rel} differs between runs:\n{_first_difference(ta, tb)}"


def test_the_normalisation_only_removes_run_specific_text(renders):
    a, _ = renders
    raw = a.site_html.read_text(encoding="utf-8")
    assert "Report generated " in raw and "Report generated <TIMESTAMP>" in normalise(raw, [a.root])
    assert len(normalise(raw, [a.root])) > 0.99 * len(raw)


# ---- no randomness without a recorded seed (static check of the package source) -----------------

SEEDED = {"default_rng", "RandomState", "Generator", "SeedSequence", "seed", "PCG64", "MT19937", "Philox", "SFC64"}


def _unseeded_random_calls(tree: ast.AST) -> list[tuple[int, str]]:
    """Calls to NumPy's global RNG or the ``random`` module's functions (which use an unrecorded
    state), and RNG constructors called without a seed."""
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = ast.unparse(f)
        last = name.rsplit(".", 1)[-1]
        if name.startswith(("np.random.", "numpy.random.")) or name in SEEDED & {"default_rng", "RandomState"}:
            if last in SEEDED:
                if not node.args and not node.keywords:
                    out.append((node.lineno, f"{name}() without a seed"))
            else:
                out.append((node.lineno, f"{name}(): NumPy's global random state"))
        elif name.startswith("random.") and last not in ("seed", "Random", "getstate", "setstate"):
            out.append((node.lineno, f"{name}(): the random module's unseeded state"))
        elif name in ("random.Random",) and not node.args:
            out.append((node.lineno, "random.Random() without a seed"))
    return out


def test_no_randomness_without_a_seed_in_the_package():
    problems = []
    for path in sorted(SRC.rglob("*.py")):
        for line, what in _unseeded_random_calls(ast.parse(path.read_text(encoding="utf-8"))):
            problems.append(f"{path.relative_to(SRC.parent)}:{line}: {what}")
    assert not problems, "\n".join(problems)


def test_the_randomness_check_catches_unseeded_calls():
    code = "import numpy as np\nimport random\nrng = np.random.default_rng()\nx = np.random.normal()\ny = random.random()\nok = np.random.default_rng(7)\n"
    found = _unseeded_random_calls(ast.parse(code))
    assert [line for line, _ in found] == [3, 4, 5]
