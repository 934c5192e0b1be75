"""The evaluate stage: metrics for one (method, reference) cell over every split, or for any two folders."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from benchmark.atomic import atomic_write_text, check_output_file, check_owned_files, write_owned_files
from benchmark.dryrun.profile import stamp
from benchmark.errors import ConfigError
from benchmark.params import method_cells, pipeline_methods
from benchmark.stages.common import settings
from benchmark.stages.layout import Layout

log = logging.getLogger(__name__)


METRICS_KIND = "metrics"


def _dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"


def _write(out: Path, payload: dict[str, Any]) -> None:
    atomic_write_text(out, _dumps(payload))


def run_evaluate_folders(content: Path, stylized: Path, style: Path | None, metrics: str, out: Path,
                         ground_truth: Path | None = None, device: str = "cpu", resolution: int = 256,
                         seed: int = 0, random_weights: bool = False) -> dict[str, Any]:  # fmt: skip
    """Evaluate any folder pair (no pipeline needed) and write the JSON result."""
    from benchmark.metrics import METRICS
    from benchmark.metrics.evaluate import evaluate_folders

    check_output_file(out, [content, stylized, style, ground_truth])
    for option, folder in (("--content", content), ("--stylized", stylized), ("--ground-truth", ground_truth)):
        if folder is not None and not Path(folder).is_dir():
            raise ConfigError(f"{option} {folder}: not a folder")
    if style is not None and not Path(style).exists():
        raise ConfigError(f"--style {style}: no such file or folder")
    check_resolution(resolution)
    names = [m.strip() for m in metrics.split(",") if m.strip()]
    if not names:
        raise ConfigError(f"--metrics {metrics!r}: name at least one metric (see `osasis-bench metrics`)")
    for name in names:
        METRICS.get(name)  # unknown names: a named error before any image is read
    options = {name: {"random_weights": True} for name in names} if random_weights else None
    result = evaluate_folders(content, stylized, style if style is not None else (), names,
                              ground_truth_dir=ground_truth, device=device, options=options, seed=seed,
                              resolution=resolution)  # fmt: skip
    _write(out, result)
    return result


def check_resolution(resolution: int) -> int:
    from benchmark.imageio import MIN_SIDE

    if resolution < MIN_SIDE or resolution > 4096:
        raise ConfigError(f"--resolution {resolution}: must be between {MIN_SIDE} and 4096 pixels")
    return resolution


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
    if dry_run := stamp(run.params):
        payload["dry_run"] = dry_run
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
    runs ``method`` on (``out`` is a folder of ``<reference>.json``); networks are built once.

    In folder mode everything is computed first; then only this stage's own files (those listed in the
    folder's marker) are replaced or removed, and a foreign file of the same name stops the stage early."""
    run = settings(params_path, device)
    layout = Layout.from_params(run.params)
    instances: dict[str, Any] = {}
    if method not in pipeline_methods(run.params):
        raise ConfigError(f"--method {method}: not a method of the {run.params['profile']} profile; choose from "
                          f"{pipeline_methods(run.params)}")  # fmt: skip
    references = method_cells(run.params, method)[0]
    sources = [layout.stylized_dir(method, r, s) for r in references for s in method_cells(run.params, method)[1]]
    if reference is not None:
        if reference not in references:
            raise ConfigError(f"--reference {reference}: the profile does not run {method!r} on it; "
                              f"choose from {sorted(references)}")  # fmt: skip
        check_output_file(out, sources)
        _write(Path(out), evaluate_cell(method, reference, run, layout, instances))
        return
    out = Path(out)
    names = [f"{r}.json" for r in references]
    check_owned_files(out, METRICS_KIND, names, sources)  # before computing: a bad --out fails fast
    payloads = {f"{ref}.json": _dumps(evaluate_cell(method, ref, run, layout, instances)) for ref in references}
    write_owned_files(out, METRICS_KIND, payloads, sources)  # only after everything was computed
