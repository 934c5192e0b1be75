"""Folder-level evaluation API used by ``osasis-bench evaluate`` and ``osasis-bench metrics``."""

from __future__ import annotations

import hashlib
import math
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

import benchmark
from benchmark import imageio, stats
from benchmark.errors import BenchmarkError
from benchmark.features.cache import file_hash
from benchmark.metrics import METRICS, create_metric
from benchmark.metrics.base import EvalSet, SetMetric


def _json_safe(value: Any) -> Any:
    """Non-finite floats become the strings 'inf', '-inf', 'nan' (strict JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return _json_safe(value.item())
    if isinstance(value, Path):
        return str(value)
    return value


def _file_set(paths: Sequence[Path], folder: str | Path | Sequence[str | Path] | None) -> dict[str, Any]:
    hashes = [file_hash(p) for p in paths]
    combined = hashlib.sha256("\n".join(f"{p.name}:{h}" for p, h in zip(paths, hashes)).encode()).hexdigest()
    entry: dict[str, Any] = {"n": len(paths), "sha256_of_files": combined}
    if folder is not None and isinstance(folder, (str, Path)):
        entry["path"] = str(folder)
    if len(paths) <= 16:
        entry["files"] = {p.name: h for p, h in zip(paths, hashes)}
    return entry


def evaluate_folders(
    content_dir: str | Path,
    stylized_dir: str | Path,
    style: str | Path | Sequence[str | Path],
    metrics: list[str],
    ground_truth_dir: str | Path | None = None,
    device: str = "cpu",
    options: dict[str, dict] | None = None,
    seed: int = 0,
    resolution: int = 256,
    on_error: str = "raise",
    instances: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Evaluate ``metrics`` on paired folders; returns a JSON-serialisable dict.

    ``options[name]`` holds per-metric keyword options (e.g. ``{"artfid": {"allow_small_n": True}}``,
    ``{"fid-inception2015": {"random_weights": True}}``; ``batch_size`` is accepted there too).
    ``on_error="record"`` stores a failing metric's error message instead of raising. ``instances`` is an
    optional dict that keeps metric objects (and their networks) across calls, e.g. over the references and
    splits of one pipeline stage; results are identical with or without it.
    """
    options = options or {}
    ignored = sorted(set(options) - set(metrics))  # e.g. a profile's options for metrics not selected
    for name in metrics:
        METRICS.get(name)  # fail fast on unknown names
    data = EvalSet.from_folders(content_dir, stylized_dir, style, ground_truth_dir, resolution=resolution)
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in metrics:
        opts = dict(options.get(name, {}))
        batch_size = int(opts.pop("batch_size", 16))
        try:
            metric = _metric(name, device, batch_size, seed, opts, instances)
            results[name] = metric.compute(data).to_dict()
        except BenchmarkError as exc:
            if on_error != "record":
                raise
            errors[name] = f"{type(exc).__name__}: {exc}"
    files = {
        "content": _file_set(data.content, content_dir),
        "stylized": _file_set(data.stylized, stylized_dir),
        "style": _file_set(data.style, style if isinstance(style, (str, Path)) else None),
    }
    if data.ground_truth is not None:
        files["ground_truth"] = _file_set(data.ground_truth, ground_truth_dir)
    out = {
        "metrics": results,
        "errors": errors,
        "names": data.names,
        "files": files,
        "protocol": {
            "resolution": resolution,
            "resizer": imageio.RESIZER,
            "metric_protocols": {k: v.get("protocol_mode") for k, v in results.items() if v.get("protocol_mode")},
            "pairing": "content and stylized paired by file stem (exact set equality)",
            "seed": seed,
            "device": device,
            "bootstrap": {
                "level": stats.CI_LEVEL,
                "per_image_resamples": stats.DEFAULT_BOOTSTRAP,
                "set_resamples": SetMetric.n_boot,
                "over": "inputs",
            },  # fmt: skip
            "options": {k: v for k, v in options.items() if k in metrics},
            "ignored_options": ignored,
            "versions": {
                "osasis-bench": benchmark.__version__,
                "torch": torch.__version__,
                "numpy": np.__version__,
                "python": platform.python_version(),
            },  # fmt: skip
        },
    }
    return _json_safe(out)


def _metric(name: str, device: str, batch_size: int, seed: int, opts: dict[str, Any],
            instances: dict[str, Any] | None) -> Any:  # fmt: skip
    """A fresh metric, or the kept instance with its construction-time notes restored."""
    if instances is None:
        return create_metric(name, device=device, batch_size=batch_size, seed=seed, **opts)
    key = f"{name}|{device}|{batch_size}|{seed}|{sorted(opts.items())!r}"
    if key not in instances:
        metric = create_metric(name, device=device, batch_size=batch_size, seed=seed, **opts)
        instances[key] = (metric, list(metric.notes))
    metric, notes = instances[key]
    metric.notes = list(notes)
    return metric


def describe_metrics() -> list[dict[str, Any]]:
    """Name, direction, range, protocol, inputs and description of every registered metric."""
    rows = []
    for name in METRICS.names():
        info = METRICS.get(name).info
        rows.append(_json_safe({"name": name, "direction": info.direction, "range": list(info.range),
                                "protocol": info.protocol, "needs": list(info.needs),
                                "description": info.description}))  # fmt: skip
    return rows
