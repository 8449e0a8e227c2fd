"""``reports/index.html``: every project and site with its status, last run, input hash and links.

Built from each project's ``reports/<project>/manifest.json`` (written by the farm). Links are
relative (the folder can be zipped, copied to a share or served anywhere); the page is
self-contained (inline CSS, no scripts, nothing loaded from the network); each project is an
accessible table with a caption, column headers and the site as the row header, and status is
given in words, not colour alone.
"""

from __future__ import annotations

import json
import os
from html import escape
from pathlib import Path

from ..format import write_atomic

STATUS_TEXT = {"ok": "OK", "failed": "Failed", "timeout": "Timed out", "unchanged": "OK"}

CSS = """
:root { --nhs-blue: #005EB8; --text: #212B32; --grey: #4C6272; --pale: #F0F4F5; }
body { font-family: Arial, "Helvetica Neue", Helvetica, sans-serif; color: var(--text);
       max-width: 1200px; margin: 0 auto; padding: 1rem 2rem 3rem; line-height: 1.45; }
h1 { color: var(--nhs-blue); font-size: 1.7rem; } h2 { color: var(--nhs-blue); font-size: 1.3rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; margin: .6rem 0; }
caption { text-align: left; color: var(--grey); padding-bottom: .3rem; }
th, td { border-bottom: 1px solid #D8DDE0; padding: .3rem .5rem; text-align: left; vertical-align: top; }
thead th { background: var(--pale); }
.status-ok { color: #007F3B; font-weight: bold; }
.status-failed, .status-timeout { color: #D5281B; font-weight: bold; }
.status-failed::before, .status-timeout::before { content: "\\2716\\00a0"; }
.status-ok::before { content: "\\2714\\00a0"; }
code { font-size: .85rem; } .muted { color: var(--grey); font-size: .85rem; }
a { color: var(--nhs-blue); }
.skip-link { position: absolute; left: -10000px; }
.skip-link:focus { position: static; background: #FFEB3B; color: #212B32; padding: .2rem .5rem; }
"""


def _link(base: Path, project_dir: Path, rel: str | None, text: str) -> str:
    if not rel:
        return ""
    target = project_dir / rel
    if not target.exists():
        return ""
    href = Path(os.path.relpath(target, base)).as_posix()
    return f'<a href="{escape(href)}">{escape(text)}</a>'


def _pdf_link(base: Path, project_dir: Path, e: dict) -> str:
    """The PDF copy, if any; named as older when it was printed from an earlier run's report."""
    current = e.get("pdf_hash") and e.get("pdf_hash") in (e.get("ok_hash"), e.get("hash"))
    link = _link(base, project_dir, e.get("pdf"), "PDF" if current else "PDF (from an earlier run)")
    return (link + (" (PDF failed)" if e.get("pdf_error") else "")).strip()


def _rows(entries: dict, order: list[str], base: Path, project_dir: Path) -> list[str]:
    names = [s for s in order if s in entries] + sorted(s for s in entries if s not in order)
    rows = []
    for name in names:
        e = entries[name]
        status = e.get("status", "unknown")
        text = STATUS_TEXT.get(status, status)
        if status in ("failed", "timeout") and e.get("cell"):
            text += f" (cell {e['cell']})"
        links = [_link(base, project_dir, e.get("html"), "report" if status == "ok" else "last good report"),
                 _link(base, project_dir, e.get("failed_html"), "what failed"),
                 _link(base, project_dir, e.get("failed_notebook"), "failed notebook"),
                 _link(base, project_dir, e.get("notebook") if status == "ok" else None, "executed notebook"),
                 _pdf_link(base, project_dir, e)]
        error = f'<br><span class="muted">{escape(e["error"])}</span>' if status != "ok" and e.get("error") else ""
        last_ok = (f'<br><span class="muted">last good: {escape(e["last_ok"])}</span>'
                   if status != "ok" and e.get("last_ok") else "")
        rows.append(
            f'<tr><th scope="row">{escape(name)}</th>'
            f'<td class="status-{escape(status)}">{escape(text)}{error}</td>'
            f'<td>{escape(e.get("last_run") or "")}{last_ok}</td>'
            f'<td><code title="{escape(e.get("hash") or "")}">{escape((e.get("hash") or "")[:12])}</code></td>'
            f'<td>{" · ".join(x for x in links if x)}</td></tr>')
    return rows


HEADER = ('<thead><tr><th scope="col">{first}</th><th scope="col">Status</th><th scope="col">Last run</th>'
          '<th scope="col">Input hash</th><th scope="col">Links</th></tr></thead>')


def index_name(audience: str = "evaluator") -> str:
    """File name of an audience's index: ``index.html`` (evaluator, restricted) or
    ``index-<audience>.html``. Restricted and published copies are never listed on one page."""
    return "index.html" if audience == "evaluator" else f"index-{audience}.html"


def _manifests(reports_dir: Path) -> list[tuple[Path, dict]]:
    out = []
    for manifest_file in sorted(reports_dir.glob("*/manifest.json")) + sorted(reports_dir.glob("*/*/manifest.json")):
        try:
            out.append((manifest_file, json.loads(manifest_file.read_text(encoding="utf-8"))))
        except (OSError, json.JSONDecodeError):
            continue
    return out


def render_index(reports_dir: Path, audience: str = "evaluator") -> str:
    """The index page's HTML for the ``reports/<project>[/<audience>]/manifest.json`` of one
    ``audience`` under ``reports_dir``: the evaluator index lists the restricted copies only, a
    commissioner or public index lists only the copies made for that audience."""
    reports_dir = Path(reports_dir)
    sections, toc = [], []
    for manifest_file, m in _manifests(reports_dir):
        if m.get("audience", "evaluator") != audience:
            continue
        project_dir = manifest_file.parent
        pid = m.get("project", project_dir.name)
        if m.get("audience", "evaluator") != "evaluator":
            pid = f"{pid}/{m['audience']}"
        sites = m.get("sites", {})
        n_bad = sum(1 for e in sites.values() if e.get("status") != "ok")
        anchor = f"project-{pid}"
        toc.append(f'<li><a href="#{escape(anchor)}">{escape(m.get("title", pid))}</a>: {len(sites)} site(s)'
                   + (f', <strong>{n_bad} failed</strong>' if n_bad else ", all OK") + "</li>")
        part = [f'<section aria-labelledby="{escape(anchor)}"><h2 id="{escape(anchor)}">{escape(m.get("title", pid))}'
                f' <span class="muted">({escape(pid)})</span></h2>',
                f'<p class="muted">Params {escape(m.get("params", ""))}; manifest updated {escape(m.get("updated", ""))}.</p>']
        if m.get("project_reports"):
            part.append(f'<table><caption>Project-level reports for {escape(pid)}</caption>'
                        + HEADER.format(first="Report") + "<tbody>"
                        + "".join(_rows(m["project_reports"], [], reports_dir, project_dir)) + "</tbody></table>")
        part.append(f'<table><caption>Site reports for {escape(pid)}: {len(sites)} site(s), {n_bad} not OK'
                    f'</caption>' + HEADER.format(first="Site") + "<tbody>"
                    + "".join(_rows(sites, m.get("site_order", []), reports_dir, project_dir))
                    + "</tbody></table></section>")
        sections.append("".join(part))
    body = ("".join(sections) if sections
            else "<p>No reports yet: run <code>qieval run params/&lt;project&gt;.yaml</code>.</p>")
    heading = ": evaluator copies (restricted)" if audience == "evaluator" else f": {audience} copies"
    others = sorted({m.get("audience") for _, m in _manifests(reports_dir)} - {"evaluator", None})
    links = ", ".join(f'<a href="{escape(index_name(a))}">{escape(a)} copies</a>' for a in others
                      if isinstance(a, str) and a.isidentifier())
    banner = ('<p class="muted"><strong>RESTRICTED</strong>: evaluator copies with unsuppressed small numbers; '
              "copies for other audiences have their own index" + (f": {links}" if links else "") + ".</p>"
              if audience == "evaluator" else
              f'<p class="muted">Copies for the {escape(audience)} audience only (small-number policy applied).</p>')
    return f"""<!DOCTYPE html>
<html lang="en-GB" data-audience="{escape(audience)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>qieval reports{escape(heading)}</title>
<style>{CSS}</style>
</head>
<body>
<a class="skip-link" href="#main">Skip to the reports</a>
<header><h1>qieval reports{escape(heading)}</h1>
{banner}
<nav aria-label="Projects"><ul>{"".join(toc)}</ul></nav></header>
<main id="main">
{body}
</main>
<footer><p class="muted">Written by <code>qieval run</code>. Links are relative: the folder can be copied or zipped whole. PDF copies (<code>qieval run --pdf</code>) sit beside their HTML report.</p></footer>
</body>
</html>
"""


def write_index(reports_dir: Path) -> Path:
    """Write ``<reports_dir>/index.html`` (evaluator copies) and an ``index-<audience>.html`` for each
    other audience that has copies (atomically); return the evaluator index's path."""
    reports_dir = Path(reports_dir)
    audiences = {m.get("audience", "evaluator") for _, m in _manifests(reports_dir)} - {"evaluator"}
    for audience in sorted(a for a in audiences if isinstance(a, str) and a.isidentifier()):
        write_atomic(reports_dir / index_name(audience), render_index(reports_dir, audience))
    path = reports_dir / "index.html"
    write_atomic(path, render_index(reports_dir))
    return path
