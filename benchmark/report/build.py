"""The report stage: paper tables (with published numbers), figures, the leaderboard and ``index.html``.

Inputs (relative to the repository root, the DVC working directory): ``results/tidy.csv`` and, beside it,
``per_image.csv`` and ``costs.csv``; ``data/prepared`` (images for the grids); ``data/splits/<profile>_density.json``;
``data/published/osasis_cvpr2024.yaml``; evaluated submissions under ``report.leaderboard.submissions_dir``.
Outputs: ``reports/tables/*.{md,tex,csv}``, ``reports/figures/*.{png,pdf}``, ``reports/index.html``.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.atomic import atomic_write_text, check_output_dir, staged_directory
from benchmark.dryrun.profile import stamp
from benchmark.errors import ConfigError
from benchmark.metrics.protocols import check_single_mode
from benchmark.params import Ablation, ablation, load_params
from benchmark.report.agreement import agreement, agreement_table, density_split_table
from benchmark.report.dryrun_stamp import stamp_figures, stamp_tables
from benchmark.report.figures import image_grid
from benchmark.report.html import Section, render_page
from benchmark.report.paper import paper_tables
from benchmark.report.paper_figures import FORMATS, FigureResult, build_figures, wrap
from benchmark.report.published import NOT_COMPARABLE, load_published, published_table1
from benchmark.report.ranking import costs_per_set, paired_values, rank, rule_text
from benchmark.report.ranking import tables as leaderboard_tables
from benchmark.report.summarize import summarize
from benchmark.report.tables import Table, csv_text, raw_rows, write_table, write_tables
from benchmark.stages.aggregate import collect_bootstrap
from benchmark.stages.layout import Layout
from benchmark.submission.submit import collect_submissions, submission_status

log = logging.getLogger(__name__)


def qualitative_grid(params: dict, layout: Layout, out_dir: Path) -> list[Path]:
    """Inputs × methods for the configured references on the configured split (``report.grid``)."""
    cfg = params.get("report", {}).get("grid", {})
    split = cfg.get("split", params["splits"][0])
    n_inputs = int(cfg.get("n_inputs", 4))
    references = cfg.get("references") or params["references"][:1]
    methods = params["methods"]
    inputs = sorted(layout.split_dir(split).glob("*.png"))[:n_inputs]
    rows, labels = [], []
    for reference in references:
        for path in inputs:
            cells = [path, layout.reference_path(reference)]
            for method in methods:
                out = layout.stylized_dir(method, reference, split) / path.name
                cells.append(out if out.is_file() else None)
            rows.append(cells)
            labels.append(f"{wrap(reference)}\n{path.stem}")
    if not rows:
        log.warning("no inputs in %s: qualitative grid skipped", layout.split_dir(split))
        return []
    return image_grid(rows, labels, ["input", "reference", *methods], out_dir / "figures" / "qualitative_grid",
                      formats=FORMATS)  # fmt: skip


def _stack(*frames: pd.DataFrame | None) -> pd.DataFrame | None:
    present = [f for f in frames if f is not None and len(f)]
    return pd.concat(present, ignore_index=True) if present else None


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if Path(path).is_file() else pd.DataFrame()


def _without_methods(frame: pd.DataFrame, methods: tuple[str, ...]) -> pd.DataFrame:
    return frame[~frame["method"].isin(methods)] if len(frame) else frame


def _ablation_rows(frame: pd.DataFrame, abl: Ablation) -> pd.DataFrame:
    """Rows comparable across the ablation: its references and split only (every method, so the base
    method's row of Table 2 comes from the main matrix on the same cells)."""
    if not len(frame):
        return frame
    return frame[frame["reference"].isin(abl.references) & (frame["split"] == abl.split)]


def leaderboard(summary: pd.DataFrame, tidy: pd.DataFrame, costs: pd.DataFrame, params: dict[str, Any],
                tables_dir: Path, seed: int, per_image: pd.DataFrame | None = None,
                replicates: pd.DataFrame | None = None) -> tuple[list[Table], str]:  # fmt: skip
    """Rank pipeline methods and evaluated submissions; write ``leaderboard.md`` and ``leaderboard.csv``.

    Returns the rendered tables and the ranking rule text.
    """
    cfg = (params.get("report") or {}).get("leaderboard") or {}
    t1 = (params.get("report") or {}).get("table1") or {}
    sub_tidy, sub_images = collect_submissions(Path(cfg.get("submissions_dir", "results/submissions")))
    sub_tidy = sub_tidy[sub_tidy["reference"].isin(params["references"])] if len(sub_tidy) else sub_tidy
    # the same 6-significant-digit round trip as the pipeline's CSVs, so equal outputs rank as equal
    sub_tidy, sub_images = (pd.read_csv(io.StringIO(csv_text(f))) if len(f) else f for f in (sub_tidy, sub_images))
    if len(sub_tidy):
        modes = [*tidy.get("protocol_mode", []), *sub_tidy.get("protocol_mode", [])]
        check_single_mode(modes, "leaderboard (pipeline methods and submissions)")
        summary = pd.concat([summary, summarize(sub_tidy, sub_images, seed=seed)], ignore_index=True)
    present = set(summary["metric"])
    metrics = [m for m in (cfg.get("metrics") or t1.get("metrics") or sorted(present)) if m in present]
    primary = cfg.get("primary") or (metrics[0] if metrics else "")
    digits = int((params.get("report") or {}).get("digits", 4))
    tiebreak = [m for m in (cfg.get("tiebreak") or []) if m != primary]
    ref_sets = dict(zip(tidy["reference"], tidy["reference_set"])) if len(tidy) else {}
    splits = list(cfg.get("splits") or params["splits"])
    summary = summary[summary["split"].isin(splits)]
    if primary not in present:
        table = Table("Leaderboard", [], [], notes=[f"(no results for the primary metric {primary!r})"])
        atomic_write_text(tables_dir / "leaderboard.md", table.to_markdown())
        atomic_write_text(tables_dir / "leaderboard.csv", "")
        return [table], ""
    sub_reps = [collect_bootstrap(d) for d in sorted(Path(cfg.get("submissions_dir", "results/submissions")).glob(
        "*/metrics"))]  # fmt: skip
    paired = paired_values(_stack(tidy, sub_tidy), _stack(per_image, sub_images), _stack(replicates, *sub_reps))
    board = rank(summary, primary, metrics, costs_per_set(costs, ref_sets), tiebreak,
                 set(sub_tidy["method"]) if len(sub_tidy) else set(), paired, seed)  # fmt: skip
    rendered = leaderboard_tables(board, summary, primary, metrics, digits, tiebreak,
                                  (params.get("report") or {}).get("metric_labels"))  # fmt: skip
    rule = rule_text(primary, str(summary.loc[summary["metric"] == primary, "direction"].iloc[0]), tiebreak)
    text = "## Leaderboard\n\n" + rule + "\n\n" + "\n".join(t.to_markdown() for t in rendered)
    incomplete = submission_status(Path(cfg.get("submissions_dir", "results/submissions")))[1]
    if incomplete:
        rule += " Incomplete submissions (not ranked): " + "; ".join(f"{n}: {why}" for n, why in incomplete) + "."
        text += "\n### Incomplete submissions (not ranked)\n\n" + "".join(f"- {n}: {why}\n" for n, why in incomplete)
    atomic_write_text(tables_dir / "leaderboard.md", text)
    atomic_write_text(tables_dir / "leaderboard.csv", csv_text(board))
    return rendered, rule


def _clean_skipped(figures: list[FigureResult], figures_dir: Path) -> None:
    for fig in figures:
        if not fig.paths:
            for fmt in FORMATS:
                (figures_dir / f"{fig.name}.{fmt}").unlink(missing_ok=True)


REPORT_KIND = "report"


def build_report(tidy_csv: Path, params_path: Path | None, out_dir: Path) -> None:
    """Write ``out_dir/tables/*``, ``out_dir/figures/*`` and ``out_dir/index.html``, atomically: ``out_dir`` must be
    new, empty or an earlier report (:mod:`benchmark.atomic`), and is replaced only when the report is complete."""
    tidy_csv = Path(tidy_csv)
    if not tidy_csv.is_file():
        raise ConfigError(f"--tidy {tidy_csv}: no such file; run `osasis-bench aggregate` first")
    sources = [tidy_csv, tidy_csv.with_name("per_image.csv"), tidy_csv.with_name("costs.csv")]
    check_output_dir(out_dir, REPORT_KIND, sources)
    with staged_directory(out_dir, REPORT_KIND, sources) as staging:
        _write_report(tidy_csv, params_path, staging, Path(out_dir))


def _write_report(tidy_csv: Path, params_path: Path | None, out_dir: Path, final_dir: Path) -> None:
    params = load_params(params_path)
    cfg = params.get("report", {})
    try:
        tidy = pd.read_csv(tidy_csv)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--tidy {tidy_csv}: not a tidy CSV written by `osasis-bench aggregate` ({exc})") from exc
    missing = sorted({"method", "reference", "split", "metric", "value"} - set(tidy.columns))
    if missing:
        raise ConfigError(f"--tidy {tidy_csv}: not a tidy CSV written by `osasis-bench aggregate` (no {missing})")
    per_image = _read(Path(tidy_csv).with_name("per_image.csv"))
    costs = _read(Path(tidy_csv).with_name("costs.csv"))
    seed = int(params["seed"])
    abl = ablation(params)
    main_tidy, main_images = (_without_methods(f, abl.methods) for f in (tidy, per_image))
    summary = summarize(main_tidy, main_images, seed=seed)
    ablation_summary = None
    if abl.methods:
        ablation_summary = summarize(*(_ablation_rows(f, abl) for f in (tidy, per_image)), seed=seed)
    out_dir = Path(out_dir)
    tables_dir, figures_dir = out_dir / "tables", out_dir / "figures"
    digits = int(cfg.get("digits", 4))
    all_metrics = sorted(summary["metric"].unique())
    main_metrics = [m for m in cfg.get("main_metrics", all_metrics) if m in all_metrics]
    profile = str(params["profile"])
    write_tables(summary, main_metrics, tables_dir / "main", f"Main metrics ({profile} profile)", digits)
    write_tables(summary, all_metrics, tables_dir / "all_metrics", f"All metrics ({profile} profile)", digits)

    pub = load_published((cfg.get("published") or {}).get("file"))
    paper = paper_tables(summary, params, pub, ablation_summary)
    for key, table in paper.tables.items():
        raw = paper.raw[key]
        write_table(table, tables_dir / key, raw if "published" in key else raw_rows(raw, list(raw["metric"].unique())))
    pub_table = published_table1(pub)
    write_table(pub_table, tables_dir / "published_table1")
    replicates = _read(Path(tidy_csv).with_name("bootstrap.csv"))
    board, rule = leaderboard(summary, main_tidy, costs, params, tables_dir, seed, main_images, replicates)
    truth_metric = (cfg.get("agreement") or {}).get("ground_truth", "gt-lpips-vgg")
    agree = agreement(main_tidy, truth_metric)
    agree_table = agreement_table(agree, truth_metric)
    write_table(agree_table, tables_dir / "metric_agreement", agree)
    split_file = Path((cfg.get("figures") or {}).get("split_file") or f"data/splits/{profile}_density.json")
    density_table = density_split_table(split_file)
    ground_truth_tables = [("metric_agreement", agree_table)]
    if density_table is not None:
        write_table(density_table, tables_dir / "density_split_precision")
        ground_truth_tables.append(("density_split_precision", density_table))

    layout = Layout.from_params(params)
    grid = qualitative_grid(params, layout, out_dir)
    figures = build_figures(params, layout, summary, per_image, figures_dir, split_file)
    _clean_skipped(figures, figures_dir)
    figures.append(FigureResult("qualitative_grid", "Qualitative grid (all methods)", grid))

    compare = "table1_vs_published" in paper.tables
    banner = "" if compare else NOT_COMPARABLE.format(profile=profile.capitalize())
    title = f"osasis-bench report ({profile} profile)"
    dry_run = stamp(params)
    if dry_run:
        stamp_tables(tables_dir, dry_run)
        stamp_figures(figures_dir, dry_run)
        banner = f"{dry_run.upper()}. {banner}".strip()
        title = f"{title}: {dry_run}"
    t = paper.tables
    sections = [
        Section("paper-tables", "Paper tables",
                [(k, t[k]) for k in ("table1", "table1_vs_published", "table2", "table2_vs_published") if k in t]),
        Section("leaderboard", "Leaderboard", [(f"leaderboard-{i}", b) for i, b in enumerate(board)], intro=rule),
        Section("figures", "Figures", figures=figures),
        Section("extended", "Extended results", [("table1_extended", t["table1_extended"])]),
        Section("agreement", "Checks against ground truth", ground_truth_tables),
        Section("published", "Published numbers", [("published_table1", pub_table)]),
    ]  # fmt: skip
    page = render_page(title, banner, sections, out_dir)
    atomic_write_text(out_dir / "index.html", page)
    log.info("report written to %s (%d tables, %d figures)", final_dir, len(t) + len(board) + 1,
             sum(1 for f in figures if f.paths))  # fmt: skip
