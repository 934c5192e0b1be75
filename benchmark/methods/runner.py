"""Run any registered method the same way: fine-tune per reference, then stylize folders.

Guarantees, whatever the method: inputs sorted and fully decoded before any work (a bad file stops
the stage with its name), outputs validated (shape, range, finite) and written as PNG named after the
inputs, everything staged in a temporary folder and renamed into place only on success, and the
resolved configuration plus cost recorded beside the outputs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from benchmark import imageio
from benchmark.atomic import check_output_dir, staged_directory
from benchmark.errors import BenchmarkError, ConfigError
from benchmark.methods import create_method
from benchmark.methods.base import StylizationMethod
from benchmark.progress import progress
from benchmark.provenance import environment, measure, relpath
from benchmark.seeding import seed_everything

log = logging.getLogger(__name__)
CONFIG_FILE = "method_config.json"
COST_FILE = "cost.json"


class MethodOutputError(BenchmarkError):
    """A method returned something that breaks the contract."""


def _write_json(path: Path, payload: Mapping[str, Any]) -> None:
    imageio.atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


WORKDIR_KIND = "workdir"
STYLIZED_KIND = "stylized"


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def check_batch_size(batch_size: int) -> int:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ConfigError(f"--batch-size {batch_size}: must be a whole number of at least 1")
    return batch_size


def check_workdir(workdir: Path, reference: Path, method: str | None = None) -> dict[str, Any]:
    """The fine-tune record of ``workdir``; named errors when it is missing, empty, not a fine-tuned state,
    fine-tuned for another method, or on another reference image than ``reference``."""
    workdir = Path(workdir)
    hint = f"run `osasis-bench finetune {method or 'METHOD'} --reference {reference} --workdir {workdir}` first"
    if not workdir.is_dir():
        raise ConfigError(f"--workdir {workdir} does not exist or is not a folder; {hint}")
    if not any(workdir.iterdir()):
        raise ConfigError(f"--workdir {workdir} is empty; {hint}")
    config_path = workdir / CONFIG_FILE
    try:
        config = json.loads(config_path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--workdir {workdir} holds no readable {CONFIG_FILE}, so it was not written by "
                          f"`osasis-bench finetune`; {hint}") from exc  # fmt: skip
    if method is not None and config.get("method") not in (None, method):
        raise ConfigError(f"--workdir {workdir} was fine-tuned for method {config.get('method')!r}, not {method!r}; "
                          f"{hint}")  # fmt: skip
    recorded = config.get("reference_sha256")
    if recorded and Path(reference).is_file() and file_sha256(Path(reference)) != recorded:
        raise ConfigError(f"--reference {reference} is not the image --workdir {workdir} was fine-tuned on "
                          f"({config.get('reference')}); pass that reference, or fine-tune on this one")  # fmt: skip
    return config


def finetune(method: StylizationMethod, reference: Path, workdir: Path) -> dict[str, Any]:
    """Run ``method.prepare`` for one reference into ``workdir`` (atomically); return the cost record."""
    reference = Path(reference)
    imageio.load_pil(reference)  # fail early, naming the file, if the reference is unreadable
    seed_everything(method.seed)
    with staged_directory(workdir, WORKDIR_KIND, inputs=[reference], option="--workdir") as staging:
        with measure(method.device) as cost:
            method.prepare(reference, staging)
        record = {"stage": "finetune", "reference": relpath(reference), **dataclasses.asdict(cost)}
        _write_json(staging / CONFIG_FILE, {**method.resolved_config(), "reference": relpath(reference),
                                            "reference_sha256": file_sha256(reference),
                                            "environment": environment()})  # fmt: skip
        _write_json(staging / COST_FILE, record)
    return record


def _check_output(out: torch.Tensor, batch: torch.Tensor, names: list[str], method: str) -> None:
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != tuple(batch.shape):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise MethodOutputError(
            f"method {method!r} returned {shape} for inputs {tuple(batch.shape)} ({names[0]}...)"
        )
    if not torch.isfinite(out).all():
        raise MethodOutputError(f"method {method!r} returned non-finite values for {names}")
    if out.min() < -1e-4 or out.max() > 1 + 1e-4:
        raise MethodOutputError(f"method {method!r} returned values outside [0, 1] for {names}")


def stylize_folder(
    method: StylizationMethod,
    reference: Path,
    workdir: Path,
    inputs_dir: Path,
    out_dir: Path,
    batch_size: int = 8,
) -> dict[str, Any]:
    """Stylize every image in ``inputs_dir`` into ``out_dir`` (PNG, same stems); return the cost record.

    ``out_dir`` must be new, empty or an earlier stylized output (see :mod:`benchmark.atomic`); the workdir
    must hold a fine-tuned state for ``reference``.
    """
    check_batch_size(batch_size)
    inputs = [inputs_dir, workdir, reference]
    check_output_dir(out_dir, STYLIZED_KIND, inputs)
    imageio.load_pil(reference)
    check_workdir(workdir, reference, method.name)
    files = imageio.validate_folder(inputs_dir)
    if not files:
        raise BenchmarkError(f"no input images in {inputs_dir}")
    imageio.check_unique_stems(files)
    seed_everything(method.seed)
    with staged_directory(out_dir, STYLIZED_KIND, inputs) as staging:
        with measure(method.device) as cost:
            method.load(Path(reference), Path(workdir))
            for start in progress(range(0, len(files), batch_size), desc=f"stylize {method.name}"):
                chunk = files[start : start + batch_size]
                names = [p.stem for p in chunk]
                batch = imageio.load_batch(chunk, method.resolution).to(method.device)
                with torch.no_grad():
                    out = method.stylize(batch, names)
                _check_output(out, batch, names, method.name)
                for path, image in zip(chunk, out.float().cpu()):
                    imageio.save_png(image, staging / imageio.output_name(path))
        record = {"stage": "stylize", "inputs": relpath(inputs_dir), "n_images": len(files),
                  "seconds_per_image": cost.seconds / len(files), **dataclasses.asdict(cost)}  # fmt: skip
        notes = getattr(method, "cost_notes", None)
        if callable(notes):  # e.g. the GAN baselines' inversion-cache hits, which make the timing cheaper
            record.update(notes())
        config = {**method.resolved_config(), "reference": relpath(reference),
                  "reference_sha256": file_sha256(Path(reference)), "inputs": [p.name for p in files],
                  "environment": environment()}  # fmt: skip
        _write_json(staging / CONFIG_FILE, config)
        _write_json(staging / COST_FILE, record)
    return record


def build(name: str, params: Mapping[str, Any] | None, device: str, seed: int, resolution: int) -> StylizationMethod:
    """Instantiate a registered method from its params section."""
    return create_method(name, dict(params or {}), device=device, seed=seed, resolution=resolution)
