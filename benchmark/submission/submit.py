"""Results-only submissions: validate a folder of PNGs, copy it, evaluate it with the pipeline's metrics.

Output layout (``--out``, e.g. ``results/submissions/<name>``)::

    submission.json                  name, profile, file count, SHA-256 of every file
    stylized/<reference>/<split>/*   the validated PNGs (copied byte for byte; evaluation reads these)
    metrics/<reference>.json         the same format as the evaluate stage's results/metrics/<method>/<ref>.json

The report stage reads ``<submissions_dir>/*/metrics`` and puts each submission on the leaderboard.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.imageio import atomic_write_bytes, atomic_write_text
from benchmark.provenance import relpath
from benchmark.stages.common import settings
from benchmark.stages.layout import Layout
from benchmark.submission.protocol import Protocol, check_name
from benchmark.submission.validate import validate

log = logging.getLogger(__name__)


def _json(path: Path, payload: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def copy_validated(folder: Path, files: list[str], out: Path) -> dict[str, str]:
    """Copy the validated files into ``out/stylized``; return their SHA-256 digests."""
    target = out / "stylized"
    if target.exists():
        shutil.rmtree(target)
    digests = {}
    for rel in files:
        data = (folder / rel).read_bytes()
        digests[rel] = hashlib.sha256(data).hexdigest()
        atomic_write_bytes(target / rel, data)
    return digests


def evaluate_submission(name: str, stylized: Path, params: dict[str, Any], device: str, seed: int,
                        out: Path) -> list[Path]:  # fmt: skip
    """Evaluate every reference cell like the evaluate stage does; one metrics JSON per reference."""
    from benchmark.metrics.evaluate import evaluate_folders

    layout = Layout.from_params(params)
    cfg = params.get("evaluate", {})
    written = []
    for reference in params["references"]:
        info = layout.reference_info(reference)
        payload: dict[str, Any] = {"method": name, "reference": reference, "reference_set": info["set"],
                                   "reference_kind": info["kind"], "profile": params["profile"], "splits": {},
                                   "submission": True}  # fmt: skip
        for split in params["splits"]:
            truth = layout.ground_truth_dir(reference, split) if info.get("ground_truth") else None
            has_truth = truth is not None and truth.is_dir()
            metrics = list(cfg.get("metrics", [])) + (list(cfg.get("ground_truth_metrics", [])) if has_truth else [])
            log.info("evaluate submission %s / %s / %s: %s", name, reference, split, ",".join(metrics))
            result = evaluate_folders(layout.split_dir(split), stylized / reference / split,
                                      [layout.reference_path(reference)], metrics,
                                      ground_truth_dir=truth if has_truth else None, device=device,
                                      options=cfg.get("options", {}), seed=seed,
                                      resolution=int(cfg.get("resolution", params["resolution"])))  # fmt: skip
            result["content_dir"] = relpath(layout.split_dir(split))
            payload["splits"][split] = result
        path = out / "metrics" / f"{reference}.json"
        _json(path, payload)
        written.append(path)
    return written


def run_submit(name: str, folder: Path, out: Path, params_path: Path | None = None, device: str | None = None,
               validate_only: bool = False) -> dict[str, Any]:  # fmt: skip
    """Validate ``folder`` against the active profile, then (unless ``validate_only``) copy and evaluate it."""
    run = settings(params_path, device)
    check_name(name, tuple(run.params["methods"]))
    protocol = Protocol.from_params(run.params)
    files = validate(folder, protocol)
    log.info("submission %s: %d files valid", name, len(files))
    record: dict[str, Any] = {"name": name, "profile": run.params["profile"], "n_files": len(files),
                              "references": list(protocol.references), "splits": list(protocol.splits),
                              "resolution": protocol.resolution}  # fmt: skip
    if validate_only:
        return record
    out = Path(out)
    record["sha256"] = copy_validated(Path(folder), files, out)
    evaluate_submission(name, out / "stylized", run.params, run.device, run.seed, out)
    _json(out / "submission.json", record)
    return record


def collect_submissions(submissions_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tidy and per-image rows of every evaluated submission under ``submissions_dir`` (sorted)."""
    from benchmark.stages.aggregate import PER_IMAGE_COLUMNS, TIDY_COLUMNS, collect

    tidy, per_image = [], []
    for metrics_dir in sorted(Path(submissions_dir).glob("*/metrics")):
        t, p = collect(metrics_dir)
        tidy.append(t)
        per_image.append(p)
    if not tidy:
        return pd.DataFrame(columns=TIDY_COLUMNS), pd.DataFrame(columns=PER_IMAGE_COLUMNS)
    return pd.concat(tidy, ignore_index=True), pd.concat(per_image, ignore_index=True)
