"""The paper's tables regenerated from our results: Table 1 (methods × reference sets × metrics) and Table 2
(the SPN ablation, from method variants), each with the published numbers beside ours in the paper profile."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from benchmark.params import ablation
from benchmark.report.published import (
    NOT_COMPARABLE,
    Published,
    comparison_rows,
    comparison_table,
    metric_digits,
    norm_set,
)
from benchmark.report.summarize import best_mask
from benchmark.report.tables import DASH, Cell, Table, caption, fmt_ci, metric_header, wide_table

NOT_RUN = "(not run in this profile)"


def variants_of(params: dict[str, Any]) -> set[str]:
    """Pipeline entries that are variants (a ``method_cfg`` section with ``base:``), kept out of Table 1."""
    return {m for m, sec in (params.get("method_cfg") or {}).items() if isinstance(sec, dict) and "base" in sec}


@dataclass
class PaperTables:
    """Everything the report writes for one paper table: rendered tables and their raw numbers."""

    tables: dict[str, Table] = field(default_factory=dict)
    raw: dict[str, pd.DataFrame] = field(default_factory=dict)


def _missing_note(metrics: list[str], present: set[str]) -> list[str]:
    missing = [m for m in metrics if m not in present]
    if not missing:
        return []
    return [f"Not computed in this run (configure them in `evaluate.metrics`): {', '.join(missing)}."]


def table1(summary: pd.DataFrame, methods: list[str], metrics: list[str], split: str, digits: int,
           labels: dict[str, str], reference_sets: list[str] | None = None,
           title: str = "Table 1") -> Table:  # fmt: skip
    """Rows = methods (params order), columns = metric × reference set on ``split``; best per column in bold."""
    sel = summary[(summary["split"] == split) & summary["method"].isin(methods) & summary["metric"].isin(metrics)]
    sel = sel.assign(best=best_mask(sel))
    sets = reference_sets or sorted(sel["reference_set"].unique(), key=str.lower)
    dirs = sel.drop_duplicates("metric").set_index("metric")["direction"].to_dict()
    present = [m for m in metrics if m in dirs]
    index = {(r.method, r.reference_set, r.metric): r for r in sel.itertuples(index=False)}
    columns = ["method", *(f"{metric_header(m, dirs[m], labels)} {s}" for m in present for s in sets)]
    rows = []
    for method in [m for m in methods if m in set(sel["method"])]:
        row = [Cell(method)]
        for metric in present:
            for ref_set in sets:
                rec = index.get((method, ref_set, metric))
                row.append(Cell(fmt_ci(rec.value, rec.ci_low, rec.ci_high, digits), bool(rec.best))
                           if rec is not None else Cell(DASH))  # fmt: skip
        rows.append(row)
    notes = [f"Split: {split}."] + _missing_note(metrics, set(dirs))
    if not len(summary[(summary["split"] == split) & summary["method"].isin(methods)]):
        notes.insert(0, NOT_RUN)
    return Table(title, columns, rows, caption(sel) if len(sel) else "", notes)


def table2(summary: pd.DataFrame, variants: dict[str, str], metrics: list[str], split: str, reference_set: str | None,
           digits: int, labels: dict[str, str]) -> tuple[Table, pd.DataFrame]:  # fmt: skip
    """The ablation: one row per configured variant that ran (label from ``variants``), best per column in bold."""
    sel = summary[(summary["split"] == split) & summary["method"].isin(list(variants))
                  & summary["metric"].isin(metrics)]  # fmt: skip
    if reference_set is None and len(sel):
        reference_set = sorted(sel["reference_set"].unique(), key=str.lower)[0]
    sel = sel[sel["reference_set"].map(norm_set) == norm_set(str(reference_set))]
    sel = sel.assign(best=best_mask(sel))
    dirs = sel.drop_duplicates("metric").set_index("metric")["direction"].to_dict()
    present = [m for m in metrics if m in dirs]
    index = {(r.method, r.metric): r for r in sel.itertuples(index=False)}
    rows = []
    for method, label in variants.items():
        if method not in set(sel["method"]):
            continue
        row = [Cell(label), Cell(method)]
        for metric in present:
            rec = index.get((method, metric))
            row.append(Cell(fmt_ci(rec.value, rec.ci_low, rec.ci_high, digits), bool(rec.best)) if rec is not None
                       else Cell(DASH))  # fmt: skip
        rows.append(row)
    columns = ["setting", "method", *(metric_header(m, dirs[m], labels) for m in present)]
    notes = [f"Split: {split}; reference set: {reference_set}."] if rows else [
        f"{NOT_RUN} None of the ablation variants ({', '.join(variants) or 'none configured'}) ran; add them to "
        "`methods` (variants of a base method: a `method_cfg` section with `base:`)."]  # fmt: skip
    raw = sel.assign(setting=sel["method"].map(variants)).drop(columns="best")
    return Table("Table 2: SPN ablation", columns, rows, caption(sel) if len(sel) else "", notes), raw


def compare_table1(summary: pd.DataFrame, pub: Published, split: str, method_map: dict[str, str], digits: int,
                   labels: dict[str, str]) -> tuple[Table, pd.DataFrame]:  # fmt: skip
    """Ours beside published Table 1; ``method_map`` maps our method names to the paper's keys."""
    to_pub = {m: method_map.get(m, m) for m in summary["method"].unique()}
    ours = summary[summary["split"] == split].assign(key=lambda d: d["method"].map(to_pub))
    published = {(m, s, k): v for m, per in pub.table1.items() for s, vals in per.items() for k, v in vals.items()}
    rows = comparison_rows(ours, published)
    return comparison_table(rows, "Table 1: ours vs published", digits, pub.methods,
                            metric_digits=metric_digits(pub)), rows


def compare_table2(summary: pd.DataFrame, pub: Published, variants: dict[str, str], split: str,
                   reference_set: str | None, digits: int) -> tuple[Table, pd.DataFrame]:  # fmt: skip
    """Ours beside published Table 2; variant labels must match the published row labels."""
    ref_set = reference_set or pub.table2_reference_set
    ours = summary[(summary["split"] == split) & summary["method"].isin(list(variants))
                   & (summary["reference_set"].map(norm_set) == norm_set(ref_set))]  # fmt: skip
    ours = ours.assign(key=ours["method"].map(variants))
    published = {(label, ref_set, k): v for label, vals in pub.table2.items() for k, v in vals.items()}
    rows = comparison_rows(ours, published)
    return comparison_table(rows, "Table 2: ours vs published", digits, {}, key_label="setting",
                            metric_digits=metric_digits(pub)), rows


def paper_tables(summary: pd.DataFrame, params: dict[str, Any], pub: Published,
                 ablation_summary: pd.DataFrame | None = None) -> PaperTables:  # fmt: skip
    """Table 1, its extended version, Table 2 and (paper profile) the ours-vs-published comparisons.

    ``ablation_summary`` (the ``ablation`` section's references and split, every method) feeds Table 2 when the
    profile has an ablation; without one, Table 2 reads variants listed in ``methods`` from ``summary``.
    """
    cfg = params.get("report") or {}
    digits = int(cfg.get("digits", 4))
    labels = dict(cfg.get("metric_labels") or {})
    t1 = cfg.get("table1") or {}
    t2 = cfg.get("table2") or {}
    split = str(t1.get("split", "low_density"))
    metrics = list(t1.get("metrics") or cfg.get("main_metrics") or sorted(summary["metric"].unique()))
    variant_names = variants_of(params)
    methods = [m for m in params["methods"] if m not in variant_names]
    out = PaperTables()
    profile = str(params["profile"])
    compare = t1.get("compare_published")
    compare = profile == "paper" if compare is None else bool(compare)
    banner = [] if compare else [NOT_COMPARABLE.format(profile=profile.capitalize())]
    out.tables["table1"] = table1(summary, methods, metrics, split, digits, labels, t1.get("reference_sets"),
                                  f"Table 1: {split.replace('_', '-')} inputs ({profile} profile)")  # fmt: skip
    out.tables["table1"].notes += banner
    # profile-declared per-method notes (e.g. stand-in networks of the smoke profile): `report.method_notes`
    method_notes = dict(cfg.get("method_notes") or {})
    out.tables["table1"].notes += [f"{m}: {method_notes[m]}" for m in methods if m in method_notes]
    out.raw["table1"] = summary[(summary["split"] == split) & summary["method"].isin(methods)
                                & summary["metric"].isin(metrics)]  # fmt: skip
    ext_metrics = list(t1.get("extended_metrics") or sorted(summary["metric"].unique()))
    ext_splits = list(t1.get("extended_splits") or params["splits"])
    ext = summary[summary["split"].isin(ext_splits) & summary["method"].isin(methods)]
    out.tables["table1_extended"] = wide_table(ext, ext_metrics, digits,
                                               f"Table 1 (extended): all metrics, splits {', '.join(ext_splits)}",
                                               labels)  # fmt: skip
    out.raw["table1_extended"] = ext[ext["metric"].isin(ext_metrics)]
    variants = dict(t2.get("variants") or {})
    t2_split = str(t2.get("split", split))
    abl = ablation(params)
    t2_summary = summary if ablation_summary is None else ablation_summary
    t2_split = abl.split if ablation_summary is not None else t2_split
    table, raw = table2(t2_summary, variants, list(t2.get("metrics") or metrics), t2_split,
                        t2.get("reference_set"), digits, labels)  # fmt: skip
    if ablation_summary is not None and len(raw):
        table.notes.append(f"Ablation references: {', '.join(abl.references)} (`ablation` in the profile).")
    table.notes += banner if len(raw) else []
    out.tables["table2"], out.raw["table2"] = table, raw
    if compare:
        method_map = dict((cfg.get("published") or {}).get("methods") or {})
        out.tables["table1_vs_published"], out.raw["table1_vs_published"] = compare_table1(
            summary, pub, split, method_map, digits, labels)
        out.tables["table2_vs_published"], out.raw["table2_vs_published"] = compare_table2(
            t2_summary, pub, variants, t2_split, t2.get("reference_set"), digits)
    return out
