"""``reports/index.html``: one self-contained, byte-stable page (inline CSS, figures as base64 data URIs,
no scripts, no network), readable from a ``file://`` URL."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmark.report.paper_figures import FigureResult
from benchmark.report.tables import Table

CSS = """
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 24px; color: #222; max-width: 1340px; }
h1 { font-size: 22px; } h2 { font-size: 18px; border-bottom: 1px solid #ccc; margin-top: 32px; }
h3 { font-size: 15px; margin-bottom: 6px; }
table { border-collapse: collapse; font-size: 12px; margin: 6px 0; }
th, td { border: 1px solid #bbb; padding: 3px 6px; text-align: left; white-space: nowrap; }
th { background: #eef1f5; white-space: normal; max-width: 150px; vertical-align: bottom; }
td.best { background: #e8f5e9; }
p.note { font-size: 12px; color: #555; margin: 3px 0; max-width: 1200px; }
p.banner { background: #fff3cd; border: 1px solid #e0c36c; padding: 8px; font-size: 13px; }
figure { margin: 12px 0 24px 0; } figcaption { font-size: 13px; font-weight: bold; margin-bottom: 4px; }
img { max-width: 100%; border: 1px solid #ddd; }
nav a { margin-right: 12px; font-size: 13px; }
"""


@dataclass
class Section:
    """A titled part of the page: tables, then figures."""

    key: str
    title: str
    tables: Sequence[tuple[str, Table]] = ()
    figures: Sequence[FigureResult] = ()
    intro: str = ""


def _figure(fig: FigureResult, root: Path) -> str:
    title = html.escape(fig.title)
    png = next((p for p in fig.paths if p.suffix == ".png"), None)
    if png is None:
        return (f'<figure id="fig-{fig.name}" class="skipped"><figcaption>{title}</figcaption>'
                f'<p class="note">{html.escape(fig.note or "skipped")}</p></figure>\n')  # fmt: skip
    data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
    pdf = next((p for p in fig.paths if p.suffix == ".pdf"), None)
    link = f' <a href="{html.escape(Path(pdf).relative_to(root).as_posix())}">PDF</a>' if pdf is not None else ""
    return (f'<figure id="fig-{fig.name}"><figcaption>{title}{link}</figcaption>'
            f'<img alt="{html.escape(fig.name)}" src="data:image/png;base64,{data}"></figure>\n')  # fmt: skip


def render_page(title: str, banner: str, sections: Sequence[Section], root: Path) -> str:
    """The whole page as text (``root`` = the folder of index.html, for relative PDF links)."""
    nav = " ".join(f'<a href="#{s.key}">{html.escape(s.title)}</a>' for s in sections)
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f"<title>{html.escape(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
             f"<h1>{html.escape(title)}</h1>", f"<nav>{nav}</nav>"]  # fmt: skip
    if banner:
        parts.append(f'<p class="banner" id="banner">{html.escape(banner)}</p>')
    for s in sections:
        parts.append(f'<section id="{s.key}">\n<h2>{html.escape(s.title)}</h2>')
        if s.intro:
            parts.append(f'<p class="note">{html.escape(s.intro)}</p>')
        parts += [t.to_html(f"table-{key}") for key, t in s.tables]
        parts += [_figure(f, root) for f in s.figures]
        parts.append("</section>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
