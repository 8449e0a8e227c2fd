"""Disclosure control: small-number suppression and rounding for commissioner and public outputs.

The default policy follows NHS Digital's disclosure control methodology for Hospital Episode
Statistics and the Emergency Care Data Set (September 2018; since adopted for other NHS Digital
data sets, e.g. SRHAD 2019-20), for counts of people below national level:

- a count of 0 is shown as 0 (``suppress_zero=False``);
- a count of 1 to 7 is replaced by a marker (``*``);
- every other count is rounded to the nearest 5;
- percentages are calculated from the *rounded* numerator and denominator, and are not shown
  when either is suppressed (NHS Digital: "percentages calculated using the rounded numerator
  and denominator"; the rule suppressing rates derived from suppressed counts is also the ONS and
  US state "small numbers" practice).

Why percentages from rounded counts: a percentage from the exact counts beside a rounded
denominator lets a reader recover the exact numerator (e.g. denominator 102 shown as 100, 2.9%
shown → numerator 3). Recomputing from the published, rounded counts leaks nothing that the
counts do not.

Secondary suppression (the ONS "differencing" risk, ONS Statistical Disclosure Control policy):
when a published total has exactly one suppressed cell among its parts, that cell equals the
total minus the other parts, so the next smallest part is suppressed too (non-zero first). NHS
Digital's 2018 method drops this step because totals are rounded independently (differencing then
gives only a range); qieval keeps it switchable (``secondary=True`` by default),
so a table is safe even when a total is shown exactly.

Charts (:func:`suppress_series`): a point whose numerator or denominator is suppressed is not
plotted (a break, with a note in the caption and alt text). Other points keep their exact values by
default (``chart_values="exact"``): SPC limits need them, a chart is read far more coarsely than
±2.5, and no count of 1 to 7 can be read from them; ``chart_values="rounded"`` recomputes them from
the rounded counts where that is not acceptable. Numbers in chart labels and alt text go through
:meth:`DisclosurePolicy.show_count` / :meth:`~DisclosurePolicy.show_percent`.

Audiences: ``evaluator`` copies are restricted (full numbers, every page marked RESTRICTED);
``commissioner`` and ``public`` copies have the policy applied to tables, chart labels, the
abstract and the CSV, and charts whose points rest on small counts say so instead of plotting them.

Sources:
- NHS Digital. Disclosure control methodology for Hospital Episode Statistics (HES) and Emergency
  Care Data Set (ECDS), from September 2018. https://digital.nhs.uk/data-and-information/
  data-tools-and-services/data-services/hospital-episode-statistics/
  change-to-disclosure-control-methodology-for-hes-and-ecds-from-september-2018
- NHS Digital. Changes to the SRHAD disclosure control methodology for 2019-20 (same rules).
- ONS. Statistical disclosure control policy; and "Comparison of post-tabular statistical
  disclosure control methods" (the 10-5 rule: suppress below 10, round to 5).
"""

from __future__ import annotations

import csv
import io
import math
import re
from html import escape
from html.parser import HTMLParser
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

Audience = Literal["evaluator", "commissioner", "public"]
AUDIENCES: tuple[str, ...] = ("evaluator", "commissioner", "public")
RESTRICTED_TEXT = "RESTRICTED: evaluator copy, contains unsuppressed small numbers"
MISSING = "–"


class DisclosurePolicy(BaseModel):
    """A small-number policy (params: ``disclosure:``; see the module docstring for the defaults).

    Counts ``low``..``high`` inclusive are suppressed (shown as ``marker``); 0 is shown unless
    ``suppress_zero``; other counts are rounded to the nearest ``rounding_base`` (1 = no
    rounding). ``enabled=False`` (evaluator copies) formats numbers without changing them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    low: int = Field(1, ge=0)
    high: int = Field(7, ge=0)
    rounding_base: int = Field(5, ge=1)
    suppress_zero: bool = False
    marker: str = Field("*", min_length=1)
    secondary: bool = True
    percent_decimals: int = Field(1, ge=0, le=4)
    #: chart points: "exact" values of unsuppressed points (SPC limits need them), or values
    #: recomputed from the rounded counts ("rounded").
    chart_values: Literal["exact", "rounded"] = "exact"
    #: PDSA free-text fields published in commissioner/public copies, shown as entered (free text
    #: cannot be checked for small numbers: "rose from 0 to 4"); the others are withheld.
    pdsa_text: list[Literal["change_idea", "plan", "do", "study", "act"]] = Field(
        default_factory=lambda: ["change_idea"])

    @model_validator(mode="after")
    def _range(self) -> "DisclosurePolicy":
        if self.high < self.low:
            raise ValueError(f"disclosure: high ({self.high}) is below low ({self.low})")
        return self

    @property
    def threshold(self) -> int:
        """Smallest count published as a number (other than 0): ``high + 1``."""
        return self.high + 1

    def is_small(self, count: float | None) -> bool:
        """Whether this count is suppressed by the primary rule. The count is rounded to a whole
        number first: a count recomputed in floating point (7/6747 × 6747 = 7.000000000000001) is
        the count 7."""
        if not self.enabled or count is None or pd.isna(count):
            return False
        c = float(np.rint(float(count)))
        if c == 0:
            return self.suppress_zero
        return self.low <= c <= self.high

    def round_count(self, count: float) -> int:
        """Round half up to the nearest ``rounding_base`` (12 → 10, 13 → 15, 27 → 25)."""
        if not self.enabled or self.rounding_base == 1:
            return int(round(float(count)))
        b = self.rounding_base
        return int(math.floor(float(count) / b + 0.5) * b)

    def show_count(self, count: float | None, *, prose: bool = False, thousands: bool = True) -> str:
        """One count as published: the marker (in prose: "fewer than 8"), else the rounded count; "–" when missing. For the abstract, chart labels
        and alt text, where a table is not the unit."""
        if count is None or pd.isna(count):
            return MISSING
        if self.is_small(count):
            return self.suppressed_words() if prose else self.marker
        return _fmt_count(self.round_count(count), thousands)

    def show_percent(self, numerator: float | None, denominator: float | None, *, prose: bool = False) -> str:
        """A percentage as published (no % sign): from the rounded counts; suppressed with either."""
        if numerator is None or denominator is None or pd.isna(numerator) or pd.isna(denominator):
            return MISSING
        if self.is_small(numerator) or self.is_small(denominator):
            return "not shown (small numbers)" if prose else self.marker
        n, d = self.round_count(numerator), self.round_count(denominator)
        return MISSING if d == 0 else f"{100 * n / d:.{self.percent_decimals}f}"

    def publishes_text(self, field: str) -> bool:
        """Whether a PDSA free-text field (``change_idea``, ``plan``, ``do``, ``study``, ``act``) is
        shown in this copy: always in evaluator copies, else only when listed in ``pdsa_text``."""
        return not self.enabled or field in self.pdsa_text

    def text_note(self) -> str:
        """One sentence for a table of free text in a commissioner/public copy ('' for evaluators)."""
        if not self.enabled:
            return ""
        shown = ", ".join(f.replace("_", " ") for f in self.pdsa_text) or "none"
        return (f"Free text is shown as the team entered it and is not checked for small numbers; only "
                f"these PDSA fields are published in this copy: {shown} (disclosure.pdsa_text in the params).")

    def suppressed_words(self) -> str:
        """What the marker means, in words for prose."""
        return f"fewer than {self.threshold}" if self.low <= 1 else f"{self.low} to {self.high}"

    def footnote(self) -> str:
        """One sentence for a table caption or a CSV note."""
        if not self.enabled:
            return "Unsuppressed numbers (restricted evaluator copy)."
        parts = [f"{self.marker} = {self.low} to {self.high} (suppressed to protect confidentiality)"]
        if self.suppress_zero:
            parts[0] = f"{self.marker} = 0 to {self.high} (suppressed to protect confidentiality)"
        if self.rounding_base > 1:
            parts.append(f"other counts rounded to the nearest {self.rounding_base}")
        parts.append("percentages calculated from the rounded counts and suppressed when either count is")
        if self.secondary:
            parts.append("a further cell is suppressed where a total would reveal a suppressed one")
        return "; ".join(parts) + "."


class DisclosureParams(DisclosurePolicy):
    """The params file's ``disclosure:`` block: a policy plus optional per-audience overrides, e.g.
    ``disclosure: {high: 7, public: {high: 9, marker: "<10"}}`` (for ``ProjectConfig``)."""

    commissioner: dict[str, Any] | None = None
    public: dict[str, Any] | None = None


# ---- audiences -------------------------------------------------------------------------------

def _params_disclosure(params: Any) -> dict:
    if params is None:
        return {}
    raw = params.get("disclosure") if isinstance(params, Mapping) else getattr(params, "disclosure", None)
    if raw is None:
        return {}
    if isinstance(raw, BaseModel):
        return raw.model_dump()
    return dict(raw)


def policy_for(audience: str, params: Mapping | Any | None = None) -> DisclosurePolicy:
    """The policy for an audience: the params' ``disclosure:`` block (defaults otherwise), with
    optional per-audience overrides (``disclosure: {public: {high: 9}}``); evaluator copies get
    ``enabled=False`` (full numbers, a restricted banner)."""
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {', '.join(AUDIENCES)}, not {audience!r}")
    cfg = _params_disclosure(params)
    overrides = {a: cfg.pop(a) for a in AUDIENCES if a in cfg}
    DisclosurePolicy(**cfg)  # the base block must be valid for every audience
    cfg.update(overrides.get(audience) or {})
    if audience == "evaluator":
        cfg["enabled"] = False
    return DisclosurePolicy(**cfg)


def is_restricted(audience: str | None) -> bool:
    """Evaluator copies, and any output whose audience is not stated, are restricted."""
    return audience not in ("commissioner", "public")


def restricted_banner(audience: str | None) -> str:
    """The RESTRICTED banner (HTML) for an evaluator copy; "" for commissioner/public copies."""
    if not is_restricted(audience):
        return ""
    return (f'<div class="restricted-banner" role="note" aria-label="Restricted">'
            f"<strong>{escape(RESTRICTED_TEXT)}</strong></div>")


# ---- tables ----------------------------------------------------------------------------------

def _fmt_count(v: float, thousands: bool) -> str:
    return f"{int(v):,}" if thousands else str(int(v))


def secondary_suppression(values: pd.DataFrame, suppressed: pd.DataFrame,
                          relations: Sequence[tuple[tuple[Any, Any], Sequence[tuple[Any, Any]]]]) -> pd.DataFrame:
    """Extend a suppression mask so no suppressed cell can be recovered from a published total.

    ``relations``: (total cell, part cells) with cells as (row label, column); the parts sum to
    the total. Whenever exactly one cell of a relation (parts and total) is suppressed, the
    smallest unsuppressed part is suppressed too (a non-zero one first, since a suppressed 0 beside
    a marker meaning "1 to 7" can still be solved). Repeats until no relation changes (a cell
    suppressed for a row total can expose a column total). Returns a new mask.
    """
    mask = suppressed.copy()
    changed = True
    while changed:
        changed = False
        for total, parts in relations:
            cells = [total, *parts]
            hidden = [c for c in cells if bool(mask.at[c])]
            if len(hidden) != 1:
                continue
            visible = [c for c in parts if not bool(mask.at[c]) and pd.notna(values.at[c])]
            if not visible:
                continue
            nonzero = [c for c in visible if float(values.at[c]) != 0]
            pick = min(nonzero or visible, key=lambda c: float(values.at[c]))
            mask.at[pick] = True
            changed = True
    return mask


def _relations(table: pd.DataFrame, count_columns: Sequence[str], total_rows, groups,
               row_totals: Mapping[str, Sequence[str]] | None) -> list:
    rel: list = []
    if total_rows is not None:
        is_total = (table[total_rows].astype(bool) if isinstance(total_rows, str)
                    else pd.Series(np.asarray(total_rows, dtype=bool), index=table.index))
        keys = [groups] if isinstance(groups, str) else list(groups or [])
        grouped = table.groupby(keys, sort=False, dropna=False) if keys else [(None, table)]
        for _, g in grouped:
            tot = g.index[is_total.loc[g.index].to_numpy()]
            parts = g.index[~is_total.loc[g.index].to_numpy()]
            if len(tot) != 1:
                continue
            for col in count_columns:
                rel.append(((tot[0], col), [(i, col) for i in parts]))
    for total_col, part_cols in (row_totals or {}).items():
        for i in table.index:
            rel.append(((i, total_col), [(i, c) for c in part_cols]))
    return rel


def apply_policy(table: pd.DataFrame, policy: DisclosurePolicy, count_columns: Sequence[str],
                 derived: Mapping[str, tuple[str, str]] | None = None, *, total_rows: str | Sequence[bool] | None = None,
                 groups: str | Sequence[str] | None = None, row_totals: Mapping[str, Sequence[str]] | None = None,
                 thousands: bool = False) -> pd.DataFrame:
    """A publishable copy of a tidy table (pure: the input is not changed).

    - ``count_columns``: counts of people. Each becomes text: the marker when suppressed (primary
      or secondary), else the count rounded to the nearest ``rounding_base``; missing → "–".
    - ``derived``: ``{pct_column: (numerator_column, denominator_column)}``: the percentage is
      recomputed from the ROUNDED counts (``percent_decimals``) and is the marker when either count
      is suppressed ("–" when the rounded denominator is 0 or a count is missing).
    - secondary suppression (``policy.secondary``): ``total_rows`` (a boolean column name or mask)
      marks each group's total row, ``groups`` the column(s) defining the groups (none: the whole
      table is one group); ``row_totals`` = ``{total_column: [part columns]}`` for totals across a
      row. A suppressed cell must not be recoverable from any of these totals.

    With ``policy.enabled=False`` (evaluator) numbers are only formatted, never changed. Other
    columns pass through unchanged.
    """
    out = table.copy()
    cols = list(count_columns)
    for pct_col, pair in (derived or {}).items():
        missing = [c for c in pair if c not in cols]
        if missing:
            raise ValueError(f"derived {pct_col!r}: {', '.join(missing)} must be among the count_columns "
                             f"(a percentage is published only with its counts' policy applied)")
    values = table[cols].apply(pd.to_numeric, errors="coerce").astype(float)
    mask = values.apply(lambda s: s.map(policy.is_small)).astype(bool)
    if policy.enabled and policy.secondary and (total_rows is not None or row_totals):
        mask = secondary_suppression(values, mask, _relations(table, cols, total_rows, groups, row_totals))
    rounded = values.apply(lambda s: s.map(lambda v: np.nan if pd.isna(v) else policy.round_count(v)))
    for col in cols:
        out[col] = [policy.marker if m else (MISSING if pd.isna(v) else _fmt_count(v, thousands))
                    for v, m in zip(rounded[col], mask[col])]
    for pct_col, (num, den) in (derived or {}).items():
        n, d = rounded[num], rounded[den]
        hidden = mask[num] | mask[den]
        texts = []
        for nv, dv, h in zip(n, d, hidden):
            if h:
                texts.append(policy.marker)
            elif pd.isna(nv) or pd.isna(dv) or dv == 0:
                texts.append(MISSING)
            else:
                texts.append(f"{100 * nv / dv:.{policy.percent_decimals}f}")
        out[pct_col] = texts
    return out


def small_mask(policy: DisclosurePolicy, counts: pd.Series | np.ndarray | Sequence[float]) -> np.ndarray:
    """Which of ``counts`` the policy suppresses (``policy.is_small`` for each), as a boolean array.

    Counts are rounded to whole numbers before they are compared, so a count recomputed in
    floating point (a proportion × its denominator: 7/6747 × 6747 = 7.000000000000001) is judged
    as the count it is. Use this for every count behind a table cell, chart point or sentence."""
    counts = counts if isinstance(counts, pd.Series) else pd.Series(np.asarray(counts))
    c = counts.to_numpy()
    if c.dtype.kind not in "iuf" or type(policy).is_small is not DisclosurePolicy.is_small:
        return counts.map(policy.is_small).to_numpy(dtype=bool)
    if not policy.enabled:
        return np.zeros(len(c), dtype=bool)
    c = np.rint(c.astype(float))  # NaN is never small: every comparison below is False
    return np.where(c == 0, policy.suppress_zero, (policy.low <= c) & (c <= policy.high))


def suppress_series(series: pd.DataFrame, policy: DisclosurePolicy, *, y: str = "y",
                    numerator: str = "numerator", denominator: str = "denominator",
                    multiplier: float = 100.0) -> tuple[pd.DataFrame, str]:
    """A chart's series with the points resting on small counts removed, and a note saying so.

    Points whose numerator or denominator is suppressed get ``y`` = NaN and ``suppressed`` = True
    (charts draw them as breaks, never as small numbers); ``chart_values="rounded"`` recomputes
    the other points from the rounded counts (× ``multiplier``). The note is "" when nothing was
    suppressed; otherwise one sentence for the figure caption and alt text, e.g. "3 of 27 points
    not shown: ...". Series without count columns (continuous measures) pass through.
    """
    out = series.copy()
    has = [c for c in (numerator, denominator) if c in out.columns]
    if not policy.enabled or not has:
        out["suppressed"] = False
        return out, ""
    small = np.zeros(len(out), dtype=bool)
    for c in has:
        small |= small_mask(policy, out[c])
    out["suppressed"] = small
    if policy.chart_values == "rounded" and len(has) == 2:
        n = out[numerator].map(lambda v: np.nan if pd.isna(v) else policy.round_count(v))
        d = out[denominator].map(lambda v: np.nan if pd.isna(v) else policy.round_count(v))
        out[y] = np.where(d > 0, n / d.where(d > 0) * multiplier, np.nan)
    if small.any() or y not in out.columns or out[y].dtype != np.float64:  # else setting nowhere is a no-op
        out.loc[small, y] = np.nan
    k, total = int(small.sum()), int(out[has[0]].notna().sum())
    if k == 0:
        return out, ""
    what = f"counts of {policy.low} to {policy.high}"
    if k >= total:
        return out, (f"Not charted for this audience: every point rests on {what}, which are suppressed "
                     f"to protect confidentiality.")
    return out, (f"{k} of {total} points not shown: they rest on {what}, which are suppressed to protect "
                 f"confidentiality.")


# ---- scanning rendered outputs (for tests and a pre-publication check) ---------------------------

_INT = re.compile(r"^[+-]?\d{1,3}(,\d{3})*$|^[+-]?\d+$")
COUNT_NAME = re.compile(r"(^|_)(n|count|counts|numerator|denominator|patients|people)$", re.IGNORECASE)


def _as_int(text: str) -> int | None:
    t = text.strip().replace("\u00a0", "")
    if not _INT.match(t):
        return None
    return int(t.replace(",", ""))


class _TableCells(HTMLParser):
    """Collects (table no., row no., header, text, attributes) of every ``<td>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[tuple[int, int, str, str, dict]] = []
        self._tables = 0
        self._stack: list[dict] = []
        self._cell: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._tables += 1
            self._stack.append({"no": self._tables, "row": 0, "col": 0, "headers": [], "in_head": False})
        elif not self._stack:
            return
        t = self._stack[-1]
        if tag == "thead":
            t["in_head"] = True
        elif tag == "tbody":
            t["in_head"] = False
        elif tag == "tr":
            t["row"] += 1
            t["col"] = 0
        elif tag in ("td", "th"):
            self._cell = {"tag": tag, "text": [], "attrs": a, "col": t["col"], "head": t["in_head"]}
            span = str(a.get("colspan") or "1")
            t["col"] += int(span) if span.isdigit() else 1

    def handle_endtag(self, tag):
        if not self._stack:
            return
        t = self._stack[-1]
        if tag in ("td", "th") and self._cell is not None:
            c, self._cell = self._cell, None
            text = "".join(c["text"]).strip()
            if c["tag"] == "th" and (c["head"] or c["attrs"].get("scope") == "col"):
                while len(t["headers"]) <= c["col"]:
                    t["headers"].append("")
                t["headers"][c["col"]] = text
            elif c["tag"] == "td":
                header = t["headers"][c["col"]] if c["col"] < len(t["headers"]) else ""
                self.cells.append((t["no"], t["row"], header, text, c["attrs"]))
        elif tag == "table":
            self._stack.pop()

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"].append(data)


def _small(v: int | None, threshold: int, low: int) -> bool:
    return v is not None and low <= v < threshold


def scan_html(text: str, threshold: int = 8, low: int = 1) -> list[str]:
    """Unsuppressed counts ``low`` ≤ n < ``threshold`` in the number cells of HTML tables.

    A number cell is a ``<td>`` whose whole text is an integer (thousands separators allowed), or
    one marked ``data-count``; cells marked ``data-disclosure="exempt"`` (counts not of people,
    e.g. PDSA cycles) are skipped. Row headers (``<th>``) and chart images are not scanned.
    """
    p = _TableCells()
    p.feed(text)
    found = []
    for no, row, header, cell, attrs in p.cells:
        if attrs.get("data-disclosure") == "exempt":
            continue
        v = _as_int(cell)
        if _small(v, threshold, low):
            found.append(f"table {no}, row {row}, column {header or '?'!s}: {cell}")
    return found


def scan_csv(text: str, threshold: int = 8, low: int = 1, count_columns: Sequence[str] | None = None) -> list[str]:
    """Unsuppressed counts in a CSV: integer cells of the count columns (default: columns named
    like ``n``, ``count``, ``numerator``, ``denominator``, ``*_numerator`` …)."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows:
        return []
    header = rows[0]
    wanted = ([i for i, h in enumerate(header) if h in set(count_columns)] if count_columns is not None
              else [i for i, h in enumerate(header) if COUNT_NAME.search(h.strip())])
    found = []
    for r, row in enumerate(rows[1:], start=2):
        for i in wanted:
            if i < len(row) and _small(_as_int(row[i]), threshold, low):
                found.append(f"row {r}, column {header[i]}: {row[i]}")
    return found


def scan_for_small_counts(text: str, threshold: int = 8, *, kind: str = "auto", low: int = 1,
                          count_columns: Sequence[str] | None = None) -> list[str]:
    """Where ``text`` (rendered HTML or CSV) shows a count ``low`` ≤ n < ``threshold`` (default:
    1 to 7, the default policy) unsuppressed; [] when it is clean. ``kind``: html | csv | auto."""
    if kind == "auto":
        kind = "html" if re.search(r"<(table|html|td|!doctype)\b", text, re.IGNORECASE) else "csv"
    if kind == "html":
        return scan_html(text, threshold, low)
    return scan_csv(text, threshold, low, count_columns)
