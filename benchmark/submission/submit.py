"""Results-only submissions: validate a folder of PNGs, copy it, evaluate it with the pipeline's metrics.

Output layout (``--out``, e.g. ``results/submissions/<name>``)::

    submission.json                  name, profile, file count, SHA-256 of every file
    stylized/<reference>/<split>/*   the validated PNGs (copied byte for byte; evaluation reads these)
    metrics/<reference>.json         the same format as the evaluate stage's results/metrics/<method>/<ref>.json

The folder appears atomically (staged, renamed into place when everything succeeded), so a failed submission
leaves nothing behind. The report stage ranks every *complete* submission under ``<submissions_dir>`` (its
``submission.json`` and one metrics file per reference it lists) and lists any other folder there as
incomplete, with the reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.atomic import atomic_write_bytes, atomic_write_text, check_output_dir, staged_directory
from benchmark.errors import BenchmarkError
from benchmark.provenance import relpath
from benchmark.stages.common import settings
from benchmark.stages.layout import Layout
from benchmark.submission.protocol import Protocol, check_name
from benchmark.submission.validate import validate

log = logging.getLogger(__name__)
SUBMISSION_KIND = "submission"
RECORD_FILE = "submission.json"


def _json(path: Path, payload: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def copy_validated(folder: Path, files: list[str], out: Path) -> dict[str, str]:
    """Copy the validated files into ``out/stylized``; return their SHA-256 digests."""
    target = out / "stylized"
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
    if not Path(folder).is_dir():
        raise BenchmarkError(f"--folder {folder}: not a folder (<folder>/<reference>/<split>/<input stem>.png)")
    if not validate_only:
        check_output_dir(out, SUBMISSION_KIND, [folder])
    protocol = Protocol.from_params(run.params)
    files = validate(folder, protocol)
    log.info("submission %s: %d files valid", name, len(files))
    record: dict[str, Any] = {"name": name, "profile": run.params["profile"], "n_files": len(files),
                              "references": list(protocol.references), "splits": list(protocol.splits),
                              "resolution": protocol.resolution}  # fmt: skip
    if validate_only:
        return record
    with staged_directory(out, SUBMISSION_KIND, [folder]) as staging:
        record["sha256"] = copy_validated(Path(folder), files, staging)
        evaluate_submission(name, staging / "stylized", run.params, run.device, run.seed, staging)
        _json(staging / RECORD_FILE, record)
    return record


def submission_status(submissions_dir: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """Complete submission folders, and ``(name, reason)`` of every other folder under ``submissions_dir``.

    Complete means: a readable ``submission.json`` and a metrics file for every reference it lists. Staging
    folders of a submission in progress (hidden names) are skipped.
    """
    complete: list[Path] = []
    incomplete: list[tuple[str, str]] = []
    root = Path(submissions_dir)
    if not root.is_dir():
        return complete, incomplete
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            record = json.loads((folder / RECORD_FILE).read_text())
        except FileNotFoundError:
            incomplete.append((folder.name, f"no {RECORD_FILE} (the submission did not finish)"))
            continue
        except (OSError, ValueError) as exc:
            incomplete.append((folder.name, f"unreadable {RECORD_FILE} ({exc})"))
            continue
        references = record.get("references") if isinstance(record, dict) else None
        if not references:
            incomplete.append((folder.name, f"{RECORD_FILE} lists no references"))
            continue
        missing = [r for r in references if not (folder / "metrics" / f"{r}.json").is_file()]
        if missing:
            incomplete.append((folder.name, f"metrics missing for {', '.join(missing)}"))
            continue
        complete.append(folder)
    return complete, incomplete


def collect_submissions(submissions_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tidy and per-image rows of every complete submission under ``submissions_dir`` (sorted)."""
    from benchmark.stages.aggregate import PER_IMAGE_COLUMNS, TIDY_COLUMNS, collect

    tidy, per_image = [], []
    for folder in submission_status(submissions_dir)[0]:
        t, p = collect(folder / "metrics")
        tidy.append(t)
        per_image.append(p)
    if not tidy:
        return pd.DataFrame(columns=TIDY_COLUMNS), pd.DataFrame(columns=PER_IMAGE_COLUMNS)
    return pd.concat(tidy, ignore_index=True), pd.concat(per_image, ignore_index=True)
