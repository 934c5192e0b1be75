"""Result tables as Markdown, LaTeX and CSV: mean ± 95% CI half-width, direction arrows, best in bold."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmark.imageio import atomic_write_text
from benchmark.report.summarize import best_mask

ARROWS = {"lower": "↓", "higher": "↑"}
LATEX_ARROWS = {"lower": r"$\downarrow$", "higher": r"$\uparrow$"}


def _cell(value: float, low: float, high: float, digits: int) -> str:
    half = max(value - low, high - value)
    return f"{value:.{digits}f} ± {half:.{digits}f}"


def wide_table(summary: pd.DataFrame, metrics: list[str], digits: int, latex: bool = False) -> pd.DataFrame:
    """Rows method × split × reference set; one column per metric (header carries the arrow)."""
    summary = summary[summary["metric"].isin(metrics)].copy()
    summary["best"] = best_mask(summary)
    arrows = LATEX_ARROWS if latex else ARROWS
    directions = summary.drop_duplicates("metric").set_index("metric")["direction"].to_dict()
    rows: dict[tuple[str, str, str], dict[str, str]] = {}
    for rec in summary.itertuples(index=False):
        text = _cell(rec.value, rec.ci_low, rec.ci_high, digits)
        if latex:
            text = text.replace("±", r"$\pm$")
            text = rf"\textbf{{{text}}}" if rec.best else text
        else:
            text = f"**{text}**" if rec.best else text
        rows.setdefault((rec.split, rec.reference_set, rec.method), {})[rec.metric] = text
    ordered = [m for m in metrics if m in directions]
    records = []
    for (split, ref_set, method), cells in sorted(rows.items()):
        records.append({"split": split, "reference set": ref_set, "method": method,
                        **{f"{m} {arrows[directions[m]]}": cells.get(m, "–") for m in ordered}})  # fmt: skip
    return pd.DataFrame(records)


def caption(summary: pd.DataFrame) -> str:
    notes = sorted({n for text in summary["notes"].fillna("") for n in text.split("; ") if n})
    base = "Mean ± 95% bootstrap CI half-width over inputs; ↓/↑ = lower/higher is better; best per group in bold."
    return base + (" Notes: " + " ".join(f"[{n}]" for n in notes) if notes else "")


def write_tables(summary: pd.DataFrame, metrics: list[str], out_stem: Path, title: str, digits: int = 4) -> None:
    """``<stem>.md``, ``<stem>.tex`` and ``<stem>.csv`` (the CSV holds raw numbers)."""
    md = wide_table(summary, metrics, digits)
    tex = wide_table(summary, metrics, digits, latex=True)
    cap = caption(summary[summary["metric"].isin(metrics)])
    markdown = f"### {title}\n\n{md.to_markdown(index=False) if len(md) else '(no results)'}\n\n{cap}\n"
    atomic_write_text(out_stem.with_suffix(".md"), markdown)
    latex = tex.style.hide(axis="index").to_latex(hrules=True, caption=cap.replace("±", r"$\pm$").replace("↓", r"$\downarrow$").replace("↑", r"$\uparrow$").replace("%", r"\%"))
    atomic_write_text(out_stem.with_suffix(".tex"), latex)
    raw = summary[summary["metric"].isin(metrics)].sort_values(["split", "reference_set", "method", "metric"])
    atomic_write_text(out_stem.with_suffix(".csv"), raw.to_csv(index=False, float_format="%.6g", lineterminator="\n"))
