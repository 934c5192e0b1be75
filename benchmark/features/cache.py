"""On-disk cache of extracted features.

Key = SHA-256 over (extractor name, weights id (file SHA-256 or ``random-seed<k>``), preprocessing string,
input resolution, and the ordered SHA-256 of every input file's bytes). Editing any image, swapping the
weights or changing the preprocessing therefore changes the key; stale features are never reused.
Files are ``<key>.npy`` written atomically (temporary name + rename). Directory:
``$OSASIS_BENCH_FEATURE_CACHE`` if set, else ``$OSASIS_BENCH_CACHE/features`` (default
``~/.cache/osasis-bench/features``); ``OSASIS_BENCH_FEATURE_CACHE=off`` disables it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from benchmark import imageio
from benchmark.assets import cache_dir

FEATURE_CACHE_ENV = "OSASIS_BENCH_FEATURE_CACHE"
DISABLED = {"off", "0", "none", "false", "disabled"}


def default_feature_dir() -> Path | None:
    """The feature cache directory, or None when disabled by the environment."""
    value = os.environ.get(FEATURE_CACHE_ENV)
    if value is not None:
        return None if value.strip().lower() in DISABLED else Path(value)
    return cache_dir() / "features"


@lru_cache(maxsize=65536)
def _hash_file(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def file_hash(path: str | Path) -> str:
    """SHA-256 of a file's bytes (memoised on path, size and mtime)."""
    stat = os.stat(path)
    return _hash_file(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


def cache_key(extractor: str, weights_id: str, preprocessing: str, resolution: int, files: Sequence[str | Path]) -> str:
    payload = {
        "extractor": extractor,
        "weights": weights_id,
        "preprocessing": preprocessing,
        "resolution": resolution,
        "files": [file_hash(f) for f in files],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class FeatureCache:
    """A directory of ``<key>.npy`` feature arrays; ``root=None`` or ``enabled=False`` caches nothing."""

    def __init__(self, root: str | Path | None = None, enabled: bool = True) -> None:
        self.root = Path(root) if root is not None else default_feature_dir()
        self.enabled = enabled and self.root is not None

    def path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        if not self.enabled:
            return None
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None  # a damaged entry is recomputed and overwritten

    def put(self, key: str, features: np.ndarray) -> None:
        if not self.enabled:
            return
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(features), allow_pickle=False)
        with contextlib.suppress(OSError):  # a read-only cache must not fail the evaluation
            imageio.atomic_write_bytes(self.path(key), buffer.getvalue())
