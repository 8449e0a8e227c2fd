"""Plain helpers for the trust tests: an HTML structure parser, normalisation of run-specific text,
and the audience of a rendered output. No pytest here, so the functions can be reused by scripts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

#: "2026-11-23 12:41:19 UTC": every run timestamp qieval writes (report footer, index, failed pages).
TIMESTAMP = re.compile(r"\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?( ?UTC|\+00:00|Z)")
COMMIT = re.compile(r"qieval commit [0-9a-f]{7,40}(\+dirty)?|qieval commit unknown")
EXTERNAL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
#: attributes that load or point at a resource
URL_ATTRS = {"src", "href", "data", "poster", "srcset", "action", "formaction", "xlink:href", "background"}
CSS_URL = re.compile(r"""(url\(\s*['"]?\s*(https?:)?//|@import\s+(url\()?\s*['"]?\s*(https?:)?//)""", re.IGNORECASE)


def normalise(html: str, roots: list[Path] | tuple[Path, ...] = ()) -> str:
    """Text with what legitimately differs between two runs replaced by placeholders: run
    timestamps, the commit line, and absolute temporary project roots."""
    for root in roots:
        for form in {str(root), str(root.resolve())}:
            html = html.replace(form, "<ROOT>")
    html = TIMESTAMP.sub("<TIMESTAMP>", html)
    return COMMIT.sub("qieval commit <COMMIT>", html)


@dataclass
class Structure:
    """What the readability and offline checks need from one page."""

    headings: list[tuple[int, str]] = field(default_factory=list)
    imgs: list[dict] = field(default_factory=list)
    svgs: list[dict] = field(default_factory=list)  # inline <svg> with whether it has <title>/aria-label
    tables: list[dict] = field(default_factory=list)  # {"th": n, "caption": bool}
    urls: list[tuple[str, str, str]] = field(default_factory=list)  # (tag, attribute, value)
    links: list[str] = field(default_factory=list)
    scripts: int = 0
    styles: list[str] = field(default_factory=list)
    style_attrs: list[str] = field(default_factory=list)
    ends_with_html: bool = False


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.s = Structure()
        self._h: list | None = None
        self._tables: list[dict] = []
        self._svg: list[dict] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        for k, v in a.items():
            if k in URL_ATTRS:
                self.s.urls.append((tag, k, v))
            if k == "style":
                self.s.style_attrs.append(v)
        if tag == "a" and "href" in a:
            self.s.links.append(a["href"])
        if re.fullmatch(r"h[1-6]", tag):
            self._h = [int(tag[1]), []]
        elif tag == "img":
            self.s.imgs.append(a)
        elif tag == "table":
            self._tables.append({"th": 0, "caption": False})
        elif tag == "th" and self._tables:
            self._tables[-1]["th"] += 1
        elif tag == "caption" and self._tables:
            self._tables[-1]["caption"] = True
        elif tag == "svg":
            d = {"labelled": bool(a.get("aria-label") or a.get("aria-labelledby")), "hidden": a.get("aria-hidden") == "true"}
            self._svg.append(d)
        elif tag == "title" and self._svg:
            self._svg[-1]["labelled"] = True
        elif tag == "script":
            self.s.scripts += 1
        elif tag == "style":
            self._in_style = True

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in ("svg", "table"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if self._h is not None and tag == f"h{self._h[0]}":
            self.s.headings.append((self._h[0], " ".join("".join(self._h[1]).split())))
            self._h = None
        elif tag == "table" and self._tables:
            self.s.tables.append(self._tables.pop())
        elif tag == "svg" and self._svg:
            self.s.svgs.append(self._svg.pop())
        elif tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._h is not None:
            self._h[1].append(data)
        if self._in_style:
            self.s.styles.append(data)


def structure(html: str) -> Structure:
    p = _Parser()
    p.feed(html)
    p.close()
    p.s.ends_with_html = html.rstrip().lower().endswith("</html>")
    return p.s


def heading_problems(headings: list[tuple[int, str]]) -> list[str]:
    """Headings must start at h1 and never skip a level going down (h2 → h4)."""
    out = []
    if not headings:
        return ["no headings"]
    if headings[0][0] != 1:
        out.append(f"first heading is h{headings[0][0]} ({headings[0][1]!r}), not h1")
    for (l0, t0), (l1, t1) in zip(headings, headings[1:]):
        if l1 > l0 + 1:
            out.append(f"h{l0} {t0!r} is followed by h{l1} {t1!r} (skips a level)")
    return out


def external_resources(html: str) -> list[str]:
    """Every reference to a network resource: http(s):// or protocol-relative // in URL
    attributes, and url()/@import in inline CSS."""
    s = structure(html)
    out = [f"<{tag} {k}={v[:80]!r}>" for tag, k, v in s.urls if EXTERNAL.match(v)
           or (k == "srcset" and re.search(r"(^|,)\s*(https?:)?//", v))]
    for css in s.styles + s.style_attrs:
        out += [f"CSS {m.group(0)!r}" for m in CSS_URL.finditer(css)]
    return out


def audience_of(path: Path, text: str | None = None) -> str:
    """``commissioner`` / ``public`` / ``evaluator`` / ``unstated`` for a rendered file: the
    ``data-audience`` attribute the template writes, else a path part or file-name suffix naming the
    audience (``reports/<project>/public/…``, ``site.commissioner.html``)."""
    if text is not None:
        m = re.search(r"<html[^>]*\bdata-audience=\"([a-z]+)\"", text[:2000])
        if m and m.group(1) != "unstated":
            return m.group(1)
    names = [p.lower() for p in path.parts] + path.name.lower().split(".")
    for a in ("commissioner", "public", "evaluator"):
        if a in names:
            return a
    return "unstated"
