"""Fake pipeline products for report and leaderboard tests: tidy/per_image/costs CSVs, prepared images,
stylized outputs, a density split file and a params file, all tiny and deterministic."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from PIL import Image

from benchmark.report.summarize import SUMMARY_COLUMNS

METHODS = ["alpha", "beta", "alpha-spn0p5"]
REFERENCES = {"aahq_1": ("AAHQ", "in-domain"), "aahq_2": ("AAHQ", "in-domain"), "ood_1": ("ood", "ood")}
SPLITS = {"low_density": ["00001", "00002", "00003"], "high_density": ["00004", "00005", "00006"]}
METRICS = {"artfid": "lower", "id-dlib-resnet": "higher", "structure-dino-vitb8": "lower"}
SIZE = 16


def summary_rows(rows: list[tuple]) -> pd.DataFrame:
    """Summary frame from ``(method, split, reference_set, metric, value, low, high, direction)`` tuples."""
    records = [[m, s, r, k, v, lo, hi, 3, 1, d, ""] for m, s, r, k, v, lo, hi, d in rows]
    return pd.DataFrame(records, columns=SUMMARY_COLUMNS)


def _png(path: Path, seed: int, size: int = SIZE) -> None:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, size=(size, size, 3), dtype=np.uint8), "RGB").save(path)


def _value(method: str, reference: str, split: str, metric: str, image: str) -> float:
    base = {"artfid": 30.0, "id-dlib-resnet": 0.6, "structure-dino-vitb8": 0.04}[metric]
    bump = (METHODS.index(method) + 1) * (0.1 if metric != "artfid" else 3.0)
    jitter = (int(image) % 3) * 0.01 + (reference == "aahq_2") * 0.005 + (split == "high_density") * 0.002
    return round(base + bump * (1 if metric != "id-dlib-resnet" else -0.5) + jitter, 6)


def params(profile: str = "smoke", **report: Any) -> dict[str, Any]:
    cfg = {
        "digits": 3,
        "main_method": "alpha",
        "table1": {"split": "low_density", "metrics": list(METRICS)},
        "table2": {"split": "low_density", "reference_set": "AAHQ",
                   "variants": {"alpha-spn-off": "w/o SPN", "alpha": "λ=0.1", "alpha-spn0p5": "λ=0.5"}},
        "published": {"methods": {"alpha": "osasis"}},
        "leaderboard": {"primary": "artfid", "tiebreak": ["structure-dino-vitb8"], "metrics": list(METRICS),
                        "submissions_dir": "results/submissions"},
        "figures": {"n_inputs": 2, "tradeoff": {"x": "structure-dino-vitb8", "y": "artfid"},
                    "density": {"metric": "id-dlib-resnet"},
                    "mixing": {"variants": {"alpha": "default", "alpha-rev": "reversed"}}},
        "grid": {"split": "low_density", "n_inputs": 2, "references": ["aahq_1"]},
    }  # fmt: skip
    cfg.update(report)
    return {"profile": profile, "seed": 0, "device": "cpu", "resolution": SIZE, "methods": list(METHODS),
            "references": list(REFERENCES), "splits": list(SPLITS),
            "method_cfg": {"alpha": {}, "beta": {}, "alpha-spn0p5": {"base": "alpha", "spn_weight": 0.5}},
            "evaluate": {"metrics": ["ssim"], "ground_truth_metrics": []}, "report": cfg}  # fmt: skip


def write_project(root: Path, profile: str = "smoke", **report: Any) -> Path:
    """Write a fake repository state under ``root``; returns the params file."""
    prepared = root / "data" / "prepared"
    index = []
    for i, (ref, (ref_set, kind)) in enumerate(REFERENCES.items()):
        _png(prepared / "references" / f"{ref}.png", 100 + i)
        index.append({"name": ref, "set": ref_set, "kind": kind, "ground_truth": False})
    (prepared / "references.json").write_text(json.dumps(index, indent=1))
    images = []
    for split, stems in SPLITS.items():
        for stem in stems:
            _png(prepared / "splits" / split / f"{stem}.png", int(stem))
            images.append({"id": stem, "score": round(0.3 - 0.04 * int(stem), 4), "rank": int(stem)})
    (root / "data" / "splits").mkdir(parents=True)
    (root / "data" / "splits" / f"{profile}_density.json").write_text(json.dumps({"images": images}))
    tidy, per_image, costs = [], [], []
    for method in METHODS:
        for ref, (ref_set, kind) in REFERENCES.items():
            costs.append([method, ref, 1.5 + METHODS.index(method), 100.0 * (1 + METHODS.index(method)), 0.25, 240.0,
                          "cpu (2 threads, x86_64)"])  # fmt: skip
            for split, stems in SPLITS.items():
                for stem in stems:
                    out = root / "results" / "stylized" / method / ref / split / f"{stem}.png"
                    _png(out, zlib.crc32(f"{method}{stem}".encode()) % 999)
                for metric, direction in METRICS.items():
                    vals = [_value(method, ref, split, metric, s) for s in stems]
                    mean = float(np.mean(vals))
                    tidy.append([method, ref, ref_set, kind, split, metric, mean, mean - 0.01, mean + 0.01, len(vals),
                                 direction, "test protocol", "",
                                 "reference" if metric in ("artfid", "structure-dino-vitb8") else None])  # fmt: skip
                    if metric != "artfid":  # artfid stays set-level (no per-image values)
                        per_image += [[method, ref, ref_set, split, metric, s, v] for s, v in zip(stems, vals)]
    results = root / "results"
    from benchmark.stages.aggregate import COST_COLUMNS, PER_IMAGE_COLUMNS, TIDY_COLUMNS

    pd.DataFrame(tidy, columns=TIDY_COLUMNS).to_csv(results / "tidy.csv", index=False, lineterminator="\n")
    pd.DataFrame(per_image, columns=PER_IMAGE_COLUMNS).to_csv(results / "per_image.csv", index=False,
                                                              lineterminator="\n")  # fmt: skip
    pd.DataFrame(costs, columns=COST_COLUMNS).to_csv(results / "costs.csv", index=False, lineterminator="\n")
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(params(profile, **report), allow_unicode=True))
    return path


def write_submission(folder: Path, size: int = SIZE) -> list[Path]:
    """A valid submission folder for the fake project."""
    paths = []
    for ref in REFERENCES:
        for split, stems in SPLITS.items():
            for stem in stems:
                path = folder / ref / split / f"{stem}.png"
                _png(path, int(stem) + 7, size)
                paths.append(path)
    return paths


ABLATION = {"alpha-spn-off": 0.2, "alpha-rev": -0.1}  # variant -> offset of its values from alpha's


def add_ablation(root: Path, reference: str = "aahq_1", split: str = "low_density") -> None:
    """Add an ``ablation`` section (two variants of alpha on one reference and split) with its results."""
    results = root / "results"
    tidy = pd.read_csv(results / "tidy.csv")
    per_image = pd.read_csv(results / "per_image.csv", dtype={"image": str})
    ref_set, kind = REFERENCES[reference]
    stems = SPLITS[split]
    new_tidy, new_images = [], []
    for variant, offset in ABLATION.items():
        for stem in stems:
            _png(results / "stylized" / variant / reference / split / f"{stem}.png", int(stem) + 50)
        for metric, direction in METRICS.items():
            vals = [round(_value("alpha", reference, split, metric, s) + offset, 6) for s in stems]
            mean = float(np.mean(vals))
            new_tidy.append([variant, reference, ref_set, kind, split, metric, mean, mean - 0.01, mean + 0.01,
                             len(vals), direction, "test protocol", "",
                             "reference" if metric in ("artfid", "structure-dino-vitb8") else None])  # fmt: skip
            if metric != "artfid":
                new_images += [[variant, reference, ref_set, split, metric, s, v] for s, v in zip(stems, vals)]
    tidy = pd.concat([tidy, pd.DataFrame(new_tidy, columns=tidy.columns)], ignore_index=True)
    per_image = pd.concat([per_image, pd.DataFrame(new_images, columns=per_image.columns)], ignore_index=True)
    tidy.to_csv(results / "tidy.csv", index=False, lineterminator="\n")
    per_image.to_csv(results / "per_image.csv", index=False, lineterminator="\n")
    path = root / "params.yaml"
    cfg = yaml.safe_load(path.read_text())
    cfg["ablation"] = {"methods": list(ABLATION), "references": [reference], "split": split}
    cfg["method_cfg"].update({"alpha-spn-off": {"base": "alpha", "use_spn": False},
                              "alpha-rev": {"base": "alpha", "mix": "reversed"}})  # fmt: skip
    cfg["report"]["table2"]["variants"] = {"alpha-spn-off": "w/o SPN", "alpha": "λ=0.1"}
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
