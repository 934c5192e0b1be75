"""The evaluate stage: metrics for one (method, reference) cell over every split, or for any two folders."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from benchmark.imageio import atomic_write_text
from benchmark.params import method_cells
from benchmark.stages.common import settings
from benchmark.stages.layout import Layout

log = logging.getLogger(__name__)


def _write(out: Path, payload: dict[str, Any]) -> None:
    atomic_write_text(out, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def run_evaluate_folders(content: Path, stylized: Path, style: Path | None, metrics: str, out: Path,
                         ground_truth: Path | None = None, device: str = "cpu", resolution: int = 256,
                         seed: int = 0, random_weights: bool = False) -> dict[str, Any]:  # fmt: skip
    """Evaluate any folder pair (no pipeline needed) and write the JSON result."""
    from benchmark.metrics.evaluate import evaluate_folders

    names = [m.strip() for m in metrics.split(",") if m.strip()]
    options = {name: {"random_weights": True} for name in names} if random_weights else None
    result = evaluate_folders(content, stylized, style if style is not None else (), names,
                              ground_truth_dir=ground_truth, device=device, options=options, seed=seed,
                              resolution=resolution)  # fmt: skip
    _write(out, result)
    return result


def evaluate_cell(method: str, reference: str, run, layout: Layout, instances: dict[str, Any]) -> dict[str, Any]:
    """Metrics of ``results/stylized/<method>/<reference>/<split>`` for the method's splits in the profile
    (see :func:`benchmark.params.method_cells`)."""
    from benchmark.metrics.evaluate import evaluate_folders

    cfg = run.params.get("evaluate", {})
    ref_info = layout.reference_info(reference)
    payload: dict[str, Any] = {
        "method": method,
        "reference": reference,
        "reference_set": ref_info["set"],
        "reference_kind": ref_info["kind"],
        "profile": run.params["profile"],
        "splits": {},
    }
    for split in method_cells(run.params, method)[1]:
        truth = layout.ground_truth_dir(reference, split)
        has_truth = bool(ref_info.get("ground_truth")) and truth.is_dir()
        metrics = list(cfg.get("metrics", [])) + (list(cfg.get("ground_truth_metrics", [])) if has_truth else [])
        log.info("evaluate %s / %s / %s: %s", method, reference, split, ",".join(metrics))
        result = evaluate_folders(
            layout.split_dir(split),
            layout.stylized_dir(method, reference, split),
            [layout.reference_path(reference)],
            metrics,
            ground_truth_dir=truth if has_truth else None,
            device=run.device,
            options=cfg.get("options", {}),
            seed=run.seed,
            resolution=int(cfg.get("resolution", run.resolution)),
            instances=instances,
        )
        payload["splits"][split] = result
    return payload


def run_evaluate_cell(method: str, reference: str | None, params_path: Path | None, out: Path,
                      device: str | None = None) -> None:  # fmt: skip
    """Evaluate one reference (``out`` is a JSON file) or, without ``reference``, every reference the profile
    runs ``method`` on (``out`` is a folder of ``<reference>.json``); networks are built once."""
    run = settings(params_path, device)
    layout = Layout.from_params(run.params)
    instances: dict[str, Any] = {}
    if reference is not None:
        _write(Path(out), evaluate_cell(method, reference, run, layout, instances))
        return
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    references = method_cells(run.params, method)[0]
    wanted = {f"{r}.json" for r in references}
    for stale in out.glob("*.json"):
        if stale.name not in wanted:
            stale.unlink()
    for ref in references:
        _write(out / f"{ref}.json", evaluate_cell(method, ref, run, layout, instances))
