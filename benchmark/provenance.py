"""What ran, where and how long: environment records and compute-cost measurement."""

from __future__ import annotations

import platform
import resource
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from benchmark.assets import REPO_ROOT

_PACKAGES = ("torch", "torchvision", "numpy", "pillow", "open_clip_torch", "lpips", "pytorch-fid", "dvc")


def environment() -> dict[str, Any]:
    """Package versions and the git commit (machine-independent fields only, so records stay stable)."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": platform.python_version(), "packages": versions, "git_commit": git_commit()}


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads, {platform.machine()})"


@dataclass
class Cost:
    """Wall-clock time and peak memory of a block of work."""

    seconds: float = 0.0
    peak_memory_mb: float = 0.0
    device: str = ""
    extra: dict[str, float] = field(default_factory=dict)


@contextmanager
def measure(device: torch.device):
    """Measure wall time and peak memory (CUDA allocator peak, or the process's peak RSS on CPU)."""
    cost = Cost(device=device_name(device))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    try:
        yield cost
    finally:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            cost.peak_memory_mb = torch.cuda.max_memory_allocated(device) / 2**20
        else:
            scale = 1024 if sys.platform != "darwin" else 1
            cost.peak_memory_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20
        cost.seconds = time.perf_counter() - start


def relpath(path: Path) -> str:
    """Path relative to the repository when inside it (keeps records machine-independent)."""
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
