"""The paper's figures from pipeline outputs: teaser, low-density comparison, OOD references, mixing ablation,
text-driven editing, the style-vs-structure trade-off and metric values against the density score.

Each builder returns a :class:`FigureResult`; a figure whose inputs are absent is skipped with a note instead
of failing, so every profile produces a complete report.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.params import ablation, pipeline_methods
from benchmark.report.figures import density_scatter, image_grid, scatter_ci
from benchmark.report.paper import variants_of
from benchmark.stages.layout import Layout

log = logging.getLogger(__name__)
FORMATS = ("png", "pdf")


@dataclass
class FigureResult:
    """A figure (or the note saying why it was skipped)."""

    name: str
    title: str
    paths: list[Path] = field(default_factory=list)
    note: str = ""


def wrap(label: str, width: int = 14) -> str:
    """Break long names at '_' / '-' so column titles do not overlap."""
    if len(label) <= width:
        return label
    for sep in ("_", "-"):
        if sep in label:
            head, _, tail = label.partition(sep)
            return f"{head}{sep}\n{wrap(tail, width)}"
    return label


def _inputs(layout: Layout, split: str, n: int) -> list[Path]:
    return sorted(layout.split_dir(split).glob("*.png"))[:n]


def _out(layout: Layout, method: str, reference: str, split: str, stem: str) -> Path | None:
    path = layout.stylized_dir(method, reference, split) / f"{stem}.png"
    return path if path.is_file() else None


def teaser(layout: Layout, method: str, references: list[str], split: str, n_inputs: int, stem: Path) -> FigureResult:
    """Inputs (rows) × references (columns) for the main method; the first row shows the references."""
    res = FigureResult("teaser", f"Teaser: {method}, inputs × references ({split})")
    inputs = _inputs(layout, split, n_inputs)
    if not inputs or not any(layout.stylized_dir(method, r, split).is_dir() for r in references):
        res.note = f"skipped: no {split} outputs of {method!r}"
        return res
    rows = [[None, *(layout.reference_path(r) for r in references)]]
    rows += [[p, *(_out(layout, method, r, split, p.stem) for r in references)] for p in inputs]
    labels = ["reference", *(p.stem for p in inputs)]
    res.paths = image_grid(rows, labels, ["input", *(wrap(r) for r in references)], stem, formats=FORMATS)
    return res


def comparison(layout: Layout, methods: list[str], labels: dict[str, str], references: list[str], split: str,
               n_inputs: int, stem: Path, name: str, title: str) -> FigureResult:  # fmt: skip
    """Rows reference × input, columns input, reference and one per method (``labels`` renames columns)."""
    res = FigureResult(name, title)
    inputs = _inputs(layout, split, n_inputs)
    rows, row_labels = [], []
    for reference in references:
        for path in inputs:
            rows.append([path, layout.reference_path(reference),
                         *(_out(layout, m, reference, split, path.stem) for m in methods)])  # fmt: skip
            row_labels.append(f"{wrap(reference, 18)}\n{path.stem}")
    if not rows or all(c is None for row in rows for c in row[2:]):
        res.note = f"skipped: no {split} outputs for {', '.join(methods) or 'no methods'}"
        return res
    cols = ["input", "reference", *(wrap(labels.get(m, m)) for m in methods)]
    res.paths = image_grid(rows, row_labels, cols, stem, formats=FORMATS)
    return res


def text_edits(folder: str | None, layout: Layout, split: str, n_inputs: int, stem: Path) -> FigureResult:
    """``<folder>/<edit name>/<input stem>.png`` as rows input × columns edit."""
    res = FigureResult("text_edit", "Text-driven editing")
    if not folder or not Path(folder).is_dir():
        res.note = "skipped: no text-edit outputs configured (report.figures.text_edit.dir)" if not folder else \
            f"skipped: {folder} does not exist"
        return res
    record_path = Path(folder) / "edits.json"
    record = json.loads(record_path.read_text()) if record_path.is_file() else {}
    if record and not record.get("edits"):
        res.note = f"skipped: {record.get('note') or 'no edits'}"
        return res
    edits = sorted(p.name for p in Path(folder).iterdir() if p.is_dir())
    split = str(record.get("split", split))
    if record:
        res.title += f" ({record.get('method')}, reference {record.get('reference')}; source prompt " \
                     f"'{record.get('source')}')"  # fmt: skip
    stems = sorted({p.stem for e in edits for p in (Path(folder) / e).glob("*.png")})[:n_inputs]
    rows = []
    for s in stems:
        src = layout.split_dir(split) / f"{s}.png"
        rows.append([src if src.is_file() else None,
                     *((Path(folder) / e / f"{s}.png") if (Path(folder) / e / f"{s}.png").is_file() else None
                       for e in edits)])  # fmt: skip
    if not rows:
        res.note = f"skipped: no PNGs under {folder}/<edit>/"
        return res
    res.paths = image_grid(rows, stems, ["input", *(wrap(e) for e in edits)], stem, formats=FORMATS)
    success = edit_success_text(record.get("scores") or {})
    if success:
        res.title += f". {success}"
        res.note = success
    return res


def edit_success_text(scores: dict) -> str:
    """One line per scored edit (the text-edit stage's ``scores``: attribute judge + id-dlib-resnet)."""
    parts = [f"{name}: target {s['target_rate']:.2f} (inputs before {s['target_before']:.2f}), other attributes "
             f"kept {s['kept_rate']:.2f}, id-dlib-resnet {s['id-dlib-resnet']:.3f}"
             + (f" (unstylized ε^A render: target {s['photo_target_rate']:.2f}, kept {s['photo_kept_rate']:.2f})"
                if "photo_target_rate" in s else "")
             for name, s in scores.items() if isinstance(s, dict) and "target_rate" in s]  # fmt: skip
    if not parts:
        return ""
    return (f"Edit success on {scores.get('n_inputs')} inputs, judged by {scores.get('judge')} (an attribute "
            "classifier trained on the smoke labels, not the CLIP that drives the edit): " + "; ".join(parts))


def tradeoff(summary: pd.DataFrame, methods: list[str], split: str, x_metric: str, y_metric: str,
             stem: Path) -> FigureResult:  # fmt: skip
    """Style (y) vs structure (x) per method with 95% CIs, one panel per reference set."""
    res = FigureResult("tradeoff", f"Style vs structure trade-off ({split}): {y_metric} vs {x_metric}")
    sel = summary[(summary["split"] == split) & summary["method"].isin(methods)]
    index = {(r.method, r.reference_set, r.metric): r for r in sel.itertuples(index=False)}
    panels: dict[str, list[dict]] = {}
    for (method, ref_set) in sorted({(m, s) for m, s, _ in index}):
        x, y = index.get((method, ref_set, x_metric)), index.get((method, ref_set, y_metric))
        if x is None or y is None:
            continue
        panels.setdefault(ref_set, []).append({"label": method, "x": x.value, "x_low": x.ci_low, "x_high": x.ci_high,
                                               "y": y.value, "y_low": y.ci_low, "y_high": y.ci_high})  # fmt: skip
    if not panels:
        res.note = f"skipped: {x_metric} and {y_metric} not both computed on {split}"
        return res
    arrows = sel.drop_duplicates("metric").set_index("metric")["direction"].map({"lower": "↓", "higher": "↑"})
    res.paths = scatter_ci(panels, f"{x_metric} {arrows.get(x_metric, '')} (structure)",
                           f"{y_metric} {arrows.get(y_metric, '')} (style)", stem, FORMATS)  # fmt: skip
    return res


def density_scores(split_file: Path) -> dict[str, float]:
    """Image id -> density score from ``data/splits/<profile>_density.json``."""
    data = json.loads(Path(split_file).read_text())
    return {str(rec["id"]): float(rec["score"]) for rec in data.get("images", [])}


def density(per_image: pd.DataFrame, split_file: Path, methods: list[str], metric: str, splits: list[str],
            stem: Path, direction: str | None = None) -> FigureResult:  # fmt: skip
    """Per-image values (averaged over the references of a set) vs the density score of the input."""
    res = FigureResult("density", f"{metric} per image vs density score")
    if not Path(split_file).is_file():
        res.note = f"skipped: {split_file} not found"
        return res
    scores = density_scores(split_file)
    sel = per_image[(per_image["metric"] == metric) & per_image["split"].isin(splits)
                    & per_image["method"].isin(methods)] if len(per_image) else per_image  # fmt: skip
    if not len(sel):
        res.note = f"skipped: no per-image {metric} values on {', '.join(splits)}"
        return res
    sel = sel.assign(image=sel["image"].astype(str).str.zfill(5))
    means = sel.groupby(["reference_set", "method", "split", "image"], sort=True)["value"].mean().reset_index()
    panels: dict[str, list[dict]] = {}
    for r in means.itertuples(index=False):
        if r.image in scores:
            panels.setdefault(r.reference_set, []).append({"label": r.method, "split": r.split,
                                                           "score": scores[r.image], "value": r.value})  # fmt: skip
    if not panels:
        res.note = "skipped: per-image names do not match the split file's image ids"
        return res
    arrow = {"lower": " ↓", "higher": " ↑"}.get(direction or "", "")
    res.paths = density_scatter(panels, f"{metric}{arrow}\n(per image, mean over refs)", stem, FORMATS)
    return res


def build_figures(params: dict[str, Any], layout: Layout, summary: pd.DataFrame, per_image: pd.DataFrame,
                  figures_dir: Path, split_file: Path) -> list[FigureResult]:  # fmt: skip
    """Every configured figure (``report.figures``), in a fixed order."""
    cfg = params.get("report") or {}
    fig = cfg.get("figures") or {}
    methods = list(params["methods"])
    variants = variants_of(params)
    compared = [m for m in methods if m not in variants]
    main = cfg.get("main_method") or (compared[0] if compared else "")
    refs = list(params["references"])
    split = str(fig.get("split", "low_density"))
    n = int(fig.get("n_inputs", 4))
    results = []
    t = fig.get("teaser") or {}
    results.append(teaser(layout, str(t.get("method", main)), list(t.get("references") or refs), split,
                          int(t.get("n_inputs", n)), figures_dir / "teaser"))  # fmt: skip
    c = fig.get("comparison") or {}
    results.append(comparison(layout, compared, {}, list(c.get("references") or refs[:1]), split,
                              int(c.get("n_inputs", n)), figures_dir / "low_density_comparison",
                              "low_density_comparison",
                              f"Comparison on {split} inputs (inputs × methods)"))  # fmt: skip
    o = fig.get("ood") or {}
    ood_refs = list(o.get("references") or [])
    if not ood_refs:
        try:
            ood_refs = [r for r in refs if layout.reference_info(r).get("kind") == "ood"]
        except Exception:  # noqa: BLE001 - no references.json: the figure is skipped below
            ood_refs = []
    if ood_refs:
        results.append(comparison(layout, compared, {}, ood_refs, split, int(o.get("n_inputs", 2)),
                                  figures_dir / "ood_references", "ood_references",
                                  "Out-of-domain references (OOD refs × methods)"))  # fmt: skip
    else:
        results.append(FigureResult("ood_references", "Out-of-domain references", note="skipped: no OOD references"))
    mx = fig.get("mixing") or {}
    mix_variants = dict(mx.get("variants") or {})
    abl = ablation(params)
    ran = [m for m in mix_variants if m in pipeline_methods(params)]
    in_ablation = any(m in abl.methods for m in ran)
    mix_refs = list(mx.get("references") or (abl.references if in_ablation else refs)[:1])
    mix_split = abl.split if in_ablation else split
    if len(ran) >= 2:
        results.append(comparison(layout, ran, mix_variants, mix_refs, mix_split, int(mx.get("n_inputs", n)),
                                  figures_dir / "mixing_ablation", "mixing_ablation",
                                  "Mixing ablation: default vs reversed level assignment"))  # fmt: skip
    else:
        missing = [m for m in mix_variants if m not in ran]
        what = ", ".join(missing) or "none configured in report.figures.mixing"
        results.append(FigureResult("mixing_ablation", "Mixing ablation",
                                    note=f"skipped: variants not run in this profile ({what})"))  # fmt: skip
    te = fig.get("text_edit") or {}
    te_dir = te.get("dir", str(layout.results / "edits"))  # the text-edit stage's output
    results.append(text_edits(te_dir, layout, split, int(te.get("n_inputs", n)), figures_dir / "text_edit"))
    tr = fig.get("tradeoff") or {}
    results.append(tradeoff(summary, compared, str(tr.get("split", split)), str(tr.get("x", "structure-dino-vitb8")),
                            str(tr.get("y", "artfid")), figures_dir / "tradeoff"))  # fmt: skip
    de = fig.get("density") or {}
    de_splits = list(de.get("splits") or ["low_density", "high_density"])
    de_metric = str(de.get("metric", "lpips-alex"))
    de_dir = summary.loc[summary["metric"] == de_metric, "direction"]
    results.append(density(per_image, split_file, compared, de_metric, de_splits, figures_dir / "density",
                           str(de_dir.iloc[0]) if len(de_dir) else None))  # fmt: skip
    for r in results:
        if r.note:
            log.info("figure %s %s", r.name, r.note)
    return results
