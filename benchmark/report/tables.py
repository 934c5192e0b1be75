"""Result tables rendered to Markdown, LaTeX, HTML and CSV: mean ± 95% CI half-width, arrows, best in bold.

A :class:`Table` holds already-formatted cells (text + bold flag); the renderers only lay them out, so the
three text formats always agree. Raw numbers go to the CSV files written next to them.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from benchmark.imageio import atomic_write_text
from benchmark.report.summarize import best_mask

ARROWS = {"lower": "↓", "higher": "↑"}
DASH = "–"
CI_CAPTION = "Mean ± 95% bootstrap CI half-width over inputs; ↓/↑ = lower/higher is better; best per column in bold."


@dataclass(frozen=True)
class Cell:
    """One formatted table cell."""

    text: str
    bold: bool = False


@dataclass
class Table:
    """A titled table of formatted cells with a caption and free-text notes under it."""

    title: str
    columns: list[str]
    rows: list[list[Cell]]
    caption: str = ""
    notes: list[str] = field(default_factory=list)

    def to_markdown(self) -> str:
        lines = [f"### {self.title}", ""]
        if self.rows:
            cells = [[_md(c) for c in row] for row in self.rows]
            header = [_md(Cell(h)) for h in self.columns]
            widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(header)]
            lines.append("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
            lines.append("|" + "|".join(":" + "-" * (w + 1) for w in widths) + "|")
            lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells]
        else:
            lines.append("(no results)")
        for text in [self.caption, *self.notes]:
            lines += ["", text] if text else []
        return "\n".join(lines).rstrip() + "\n"

    def to_latex(self) -> str:
        spec = "l" * len(self.columns)
        body = [" & ".join(_tex(Cell(h)) for h in self.columns) + r" \\", r"\midrule"]
        body += [" & ".join(_tex(c) for c in row) + r" \\" for row in self.rows]
        caption = _tex(Cell(" ".join([self.title + ".", self.caption, *self.notes]).strip()))
        return "\n".join([r"\begin{table}", r"\centering", rf"\caption{{{caption}}}", rf"\begin{{tabular}}{{{spec}}}",
                          r"\toprule", *body, r"\bottomrule", r"\end{tabular}", r"\end{table}", ""])  # fmt: skip

    def to_html(self, table_id: str = "") -> str:
        attr = f' id="{html.escape(table_id)}"' if table_id else ""
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.columns)
        body = "".join("<tr>" + "".join(_html_cell(c) for c in row) + "</tr>\n" for row in self.rows)
        notes = "".join(f'<p class="note">{html.escape(n)}</p>\n' for n in [self.caption, *self.notes] if n)
        table = f"<table{attr}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>\n" if self.rows \
            else '<p class="empty">(no results)</p>\n'
        return f"<h3>{html.escape(self.title)}</h3>\n{table}{notes}"


def _md(cell: Cell) -> str:
    text = cell.text.replace("|", "\\|")
    return f"**{text}**" if cell.bold and text != DASH else text


_TEX_SUBS = [("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("#", r"\#"), ("_", r"\_"), ("{", r"\{"),
             ("}", r"\}"), ("±", r"$\pm$"), ("↓", r"$\downarrow$"), ("↑", r"$\uparrow$"), ("Δ", r"$\Delta$"),
             ("λ", r"$\lambda$"), ("≈", r"$\approx$"), ("−", "-")]  # fmt: skip


def _tex(cell: Cell) -> str:
    text = cell.text
    for old, new in _TEX_SUBS:
        text = text.replace(old, new)
    return rf"\textbf{{{text}}}" if cell.bold else text


def _html_cell(cell: Cell) -> str:
    text = html.escape(cell.text)
    return f'<td class="best"><b>{text}</b></td>' if cell.bold else f"<td>{text}</td>"


def fmt_number(value: float, digits: int) -> str:
    """Fixed-point text, a dash for missing values, a true minus sign."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return DASH
    return f"{value:.{digits}f}".replace("-", "−")


def fmt_ci(value: float, low: float, high: float, digits: int) -> str:
    """``mean ± half-width`` where the half-width is the larger side of the (possibly asymmetric) CI."""
    if not math.isfinite(value):
        return DASH
    if not (math.isfinite(low) and math.isfinite(high)):
        return fmt_number(value, digits)
    half = max(value - low, high - value, 0.0)
    return f"{fmt_number(value, digits)} ± {half:.{digits}f}"


def metric_header(metric: str, direction: str, labels: dict[str, str] | None = None) -> str:
    return f"{(labels or {}).get(metric, metric)} {ARROWS.get(direction, '')}".strip()


def directions(summary: pd.DataFrame) -> dict[str, str]:
    return summary.drop_duplicates("metric").set_index("metric")["direction"].to_dict()


def wide_table(summary: pd.DataFrame, metrics: list[str], digits: int, title: str,
               labels: dict[str, str] | None = None) -> Table:  # fmt: skip
    """Rows split × reference set × method; one column per metric; best per (split, set, metric) in bold."""
    summary = summary[summary["metric"].isin(metrics)].copy()
    summary["best"] = best_mask(summary)
    dirs = directions(summary)
    cells: dict[tuple[str, str, str], dict[str, Cell]] = {}
    for rec in summary.itertuples(index=False):
        cell = Cell(fmt_ci(rec.value, rec.ci_low, rec.ci_high, digits), bool(rec.best))
        cells.setdefault((rec.split, rec.reference_set, rec.method), {})[rec.metric] = cell
    ordered = [m for m in metrics if m in dirs]
    columns = ["split", "reference set", "method", *(metric_header(m, dirs[m], labels) for m in ordered)]
    rows = [[Cell(s), Cell(r), Cell(m), *(row.get(k, Cell(DASH)) for k in ordered)]
            for (s, r, m), row in sorted(cells.items())]  # fmt: skip
    return Table(title, columns, rows, caption(summary))


def split_notes(text: object) -> list[str]:
    """Split a ``"; "``-joined notes string, ignoring separators inside brackets or parentheses."""
    if not isinstance(text, str) or not text:
        return []
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += 1 if ch in "([" else -1 if ch in ")]" else 0
        if depth <= 0 and text.startswith("; ", i):
            parts.append(text[start:i])
            start = i + 2
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def caption(summary: pd.DataFrame) -> str:
    """The CI caption plus, per metric, the notes every cell shares (cell-specific notes stay in the CSV)."""
    texts = []
    for metric, group in summary.groupby("metric", sort=True):
        sets = [set(split_notes(t)) for t in group["notes"]]
        common = set.intersection(*sets) if sets else set()
        varying = set.union(*sets) - common if sets else set()
        if common or varying:
            extra = f" (+{len(varying)} cell-specific notes in the CSV)" if varying else ""
            texts.append(f"{metric}: {'; '.join(sorted(common)) or '—'}{extra}.")
    return CI_CAPTION + (" Notes. " + " ".join(texts) if texts else "")


def write_table(table: Table, out_stem: Path, raw: pd.DataFrame | None = None) -> list[Path]:
    """``<stem>.md`` and ``<stem>.tex``, plus ``<stem>.csv`` with raw numbers when ``raw`` is given."""
    out_stem = Path(out_stem)
    atomic_write_text(out_stem.with_suffix(".md"), table.to_markdown())
    atomic_write_text(out_stem.with_suffix(".tex"), table.to_latex())
    written = [out_stem.with_suffix(".md"), out_stem.with_suffix(".tex")]
    if raw is not None:
        atomic_write_text(out_stem.with_suffix(".csv"), csv_text(raw))
        written.append(out_stem.with_suffix(".csv"))
    return written


def csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, float_format="%.6g", lineterminator="\n")


def raw_rows(summary: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    return summary[summary["metric"].isin(metrics)].sort_values(["split", "reference_set", "method", "metric"])


def write_tables(summary: pd.DataFrame, metrics: list[str], out_stem: Path, title: str, digits: int = 4) -> Table:
    """The long-standing ``main`` / ``all_metrics`` tables: md, tex and csv."""
    table = wide_table(summary, metrics, digits, title)
    write_table(table, out_stem, raw_rows(summary, metrics))
    return table
