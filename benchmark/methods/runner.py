"""Run any registered method the same way: fine-tune per reference, then stylize folders.

Guarantees, whatever the method: inputs sorted and fully decoded before any work (a bad file stops
the stage with its name), outputs validated (shape, range, finite) and written as PNG named after the
inputs, everything staged in a temporary folder and renamed into place only on success, and the
resolved configuration plus cost recorded beside the outputs. Every file a fine-tune writes is recorded
(SHA-256 and size, :data:`WORKDIR_RECORD`) and checked before the method loads the workdir: a changed, missing
or extra file stops the stage with its name.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from benchmark import imageio
from benchmark.atomic import MARKER, check_output_dir, staged_directory
from benchmark.checkpoints import sha256_of
from benchmark.errors import BenchmarkError, CheckpointError, ConfigError
from benchmark.methods import create_method
from benchmark.methods.base import StylizationMethod
from benchmark.progress import progress
from benchmark.provenance import environment, measure, relpath
from benchmark.seeding import seed_everything

log = logging.getLogger(__name__)
CONFIG_FILE = "method_config.json"
COST_FILE = "cost.json"
WORKDIR_RECORD = "workdir_files.json"  # relative path -> SHA-256 and size of every file the fine-tune wrote


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
    fine-tuned for another method, on another reference image than ``reference``, or when a file of it is not
    exactly what the fine-tune wrote (:func:`verify_workdir_files`)."""
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
    verify_workdir_files(workdir, f"osasis-bench finetune {method or 'METHOD'} --reference {reference} "
                                  f"--workdir {workdir}")  # fmt: skip
    return config


def _workdir_entries(workdir: Path) -> list[str]:
    """Relative paths (POSIX) of everything in ``workdir`` that is not a plain folder, except the suite's marker
    and the file record; symbolic links (to files or folders) count as entries."""
    entries = []
    for root, dirs, files in os.walk(workdir):
        base = Path(root)
        names = files + [d for d in dirs if (base / d).is_symlink()]
        entries += [(base / name).relative_to(workdir).as_posix() for name in names]
    return sorted(e for e in entries if e not in (MARKER, WORKDIR_RECORD))


def record_workdir_files(workdir: Path) -> dict[str, dict[str, Any]]:
    """Write :data:`WORKDIR_RECORD` into ``workdir``: SHA-256 and size of every file in it (recursively)."""
    files: dict[str, dict[str, Any]] = {}
    for name in _workdir_entries(workdir):
        path = workdir / name
        if path.is_symlink() or not path.is_file():
            raise MethodOutputError(f"the fine-tune wrote {name} into the workdir, which is not a regular file "
                                    "(a link or special file); the suite only vouches for regular files")  # fmt: skip
        files[name] = {"sha256": sha256_of(path), "size": path.stat().st_size}
    _write_json(workdir / WORKDIR_RECORD, {"files": files})
    return files


def verify_workdir_files(workdir: Path, command: str = "osasis-bench finetune ...") -> None:
    """Check every file of ``workdir`` against :data:`WORKDIR_RECORD`; a :class:`CheckpointError` naming the file
    when one is missing, changed (size or SHA-256) or was not written by the fine-tune, or when there is no record."""
    workdir = Path(workdir)
    record_path = workdir / WORKDIR_RECORD
    try:
        recorded = json.loads(record_path.read_text())["files"]
        if not isinstance(recorded, dict):
            raise TypeError(type(recorded).__name__)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"--workdir {workdir} holds no readable record {WORKDIR_RECORD} of the files its "
                              f"fine-tune wrote (written by older versions of the suite, or removed); refusing to "
                              f"load it: run finetune again (`{command}`)") from exc  # fmt: skip
    present = _workdir_entries(workdir)
    extra = sorted(set(present) - set(recorded))
    if extra:
        raise CheckpointError(f"--workdir {workdir}: {extra[0]} was not written by its fine-tune (not in "
                              f"{WORKDIR_RECORD}); refusing to load it: move it away, or run finetune again "
                              f"(`{command}`)")  # fmt: skip
    for name, entry in sorted(recorded.items()):
        path = workdir / name
        if not path.is_file() or path.is_symlink():
            raise CheckpointError(f"--workdir {workdir}: {name}, written by its fine-tune, is missing or no longer a "
                                  f"regular file; run finetune again (`{command}`)")  # fmt: skip
        sha, size = (entry.get("sha256"), entry.get("size")) if isinstance(entry, dict) else (None, None)
        if path.stat().st_size != size or sha256_of(path) != sha:
            raise CheckpointError(f"--workdir {workdir}: {name} changed since its fine-tune wrote it (recorded size "
                                  f"{size}, sha256 {str(sha)[:16]}...); run finetune again (`{command}`)")  # fmt: skip


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
        record_workdir_files(staging)
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
            # again just before loading (memoised per file identity: no unchanged file is read twice)
            verify_workdir_files(Path(workdir), f"osasis-bench finetune {method.name} --reference {reference} "
                                                f"--workdir {workdir}")  # fmt: skip
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
