"""The asset manifest and the one resolver every piece of code uses to find a weight or dataset file.

The manifest is the set of YAML files in ``data/assets/`` (one per group: OSASIS, baselines, metrics,
datasets, smoke), each a list under ``assets:`` with one entry per file: name, file name, source URL, SHA-256,
size, licence, profiles and users. Resolution order for an asset named ``NAME``:

1. an explicit path given by the caller (``path=``);
2. ``$OSASIS_BENCH_WEIGHTS/<file>`` (a directory of manually placed or fetched files);
3. the cache directory ``$OSASIS_BENCH_CACHE`` (default ``~/.cache/osasis-bench``) ``/<file>``;
4. for assets shipped inside this repository (``bundled: true``), the repository path ``file``;
5. for assets shipped inside an installed Python package (``package: module/relative/path``), that file.

**Dry-run mode** (``osasis-bench dryrun``, :mod:`benchmark.dryrun`): when ``$OSASIS_BENCH_DRYRUN`` names a dry-run
workspace (a folder holding the ``.osasis-bench-dryrun`` marker), the manifest is that workspace's overlay
(``<workspace>/manifest``: the same entries, pinned to the random-weight files it serves on loopback), the cache is
``<workspace>/cache`` and ``$OSASIS_BENCH_WEIGHTS`` is ignored. Outside dry-run mode a file inside a dry-run
workspace is refused, so random weights can never stand in for a checkpoint of the paper profile.

Nothing here downloads; only the ``fetch`` stage does. A missing file or a checksum mismatch raises
:class:`~benchmark.errors.AssetError` naming the asset, the paths tried, and how to obtain it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml

from benchmark.errors import AssetError

REPO_ROOT = Path(__file__).resolve().parent.parent
MANIFEST_DIR = REPO_ROOT / "data" / "assets"
WEIGHTS_ENV = "OSASIS_BENCH_WEIGHTS"
CACHE_ENV = "OSASIS_BENCH_CACHE"
DRYRUN_ENV = "OSASIS_BENCH_DRYRUN"
DRYRUN_MARKER = ".osasis-bench-dryrun"

AssetState = Literal["present", "missing", "checksum mismatch", "unpinned"]


@dataclass(frozen=True)
class Asset:
    """One manifest entry."""

    name: str
    file: str
    url: str
    sha256: str | None
    size: int | None
    license: str
    profiles: tuple[str, ...]
    used_by: tuple[str, ...]
    description: str = ""
    bundled: bool = False
    package: str = ""
    how_to_get: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def instructions(self) -> str:
        """How a user obtains this file by hand."""
        if self.bundled:
            return f"it ships with the repository at {self.file}; restore it with `git checkout -- {self.file}`"
        if self.package:
            module = self.package.split("/", 1)[0]
            return f"it ships inside the Python package providing `{module}`; {self.how_to_get or 'install it'}"
        steps = f"run `osasis-bench fetch --asset {self.name}`"
        if self.url:
            steps += f", or download {self.url}"
        steps += f" and place it at ${WEIGHTS_ENV}/{self.file} (or pass its path explicitly)"
        if self.how_to_get:
            steps += f". {self.how_to_get}"
        return steps


def dryrun_workspace() -> Path | None:
    """The dry-run workspace named by ``$OSASIS_BENCH_DRYRUN`` (None outside dry-run mode)."""
    value = os.environ.get(DRYRUN_ENV)
    if not value:
        return None
    workspace = Path(value).resolve()
    if not (workspace / DRYRUN_MARKER).is_file():
        raise AssetError(f"${DRYRUN_ENV}={value} is not a dry-run workspace (no {DRYRUN_MARKER} in it); dry runs are "
                         "made by `osasis-bench dryrun`")  # fmt: skip
    return workspace


def inside_dryrun_workspace(path: str | Path) -> Path | None:
    """The dry-run workspace holding ``path`` (None when it is outside every dry-run workspace)."""
    for folder in Path(path).resolve().parents:
        if (folder / DRYRUN_MARKER).is_file():
            return folder
    return None


def cache_dir() -> Path:
    """The download cache used by the fetch stage (the workspace's ``cache`` in dry-run mode)."""
    workspace = dryrun_workspace()
    if workspace is not None:
        return workspace / "cache"
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "osasis-bench"))


@lru_cache(maxsize=4)
def _load_manifest(path: str) -> dict[str, Asset]:
    root = Path(path)
    files = sorted(root.glob("*.yaml")) if root.is_dir() else [root]
    assets: dict[str, Asset] = {}
    for file in files:
        raw = yaml.safe_load(file.read_text()) or {}
        _add_entries(assets, raw.get("assets") or [], file)
    return assets


def _add_entries(assets: dict[str, Asset], entries: list[dict], path: Path) -> None:
    known = {"name", "file", "url", "sha256", "size", "license", "profiles", "used_by", "description", "bundled",
             "how_to_get", "package"}  # fmt: skip
    for entry in entries:
        if entry["name"] in assets:
            raise AssetError(f"duplicate asset name in {path}: {entry['name']}")
        assets[entry["name"]] = Asset(
            name=entry["name"],
            file=entry["file"],
            url=entry.get("url", ""),
            sha256=entry.get("sha256"),
            size=entry.get("size"),
            license=entry.get("license", "unknown"),
            profiles=tuple(entry.get("profiles", ())),
            used_by=tuple(entry.get("used_by", ())),
            description=entry.get("description", ""),
            bundled=bool(entry.get("bundled", False)),
            package=entry.get("package", ""),
            how_to_get=entry.get("how_to_get", ""),
            extra={k: v for k, v in entry.items() if k not in known},
        )


def manifest(path: str | Path | None = None) -> dict[str, Asset]:
    """All assets, by name (the workspace's overlay in dry-run mode, unless ``path`` is given)."""
    if path is None:
        workspace = dryrun_workspace()
        path = workspace / "manifest" if workspace is not None else MANIFEST_DIR
    return _load_manifest(str(path))


def get_asset(name: str) -> Asset:
    assets = manifest()
    if name not in assets:
        raise AssetError(f"unknown asset '{name}'; known assets: {', '.join(sorted(assets))}")
    return assets[name]


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


#: Files hashed in this process: (path, device, inode, size, mtime, ctime) -> SHA-256. Never read from disk, so a
#: file placed beside an asset cannot vouch for it: the pinned checksum comes only from the manifest.
_HASHED: dict[tuple, str] = {}


def verify_checksum(path: Path, expected: str | None) -> bool:
    """True when ``path`` hashes to ``expected`` (the manifest's pin; ``None`` means unpinned)."""
    if expected is None:
        return True
    stat = Path(path).stat()
    key = (str(Path(path).resolve()), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    if key not in _HASHED:
        _HASHED[key] = sha256_file(path)
    return _HASHED[key] == expected


def candidate_paths(asset: Asset) -> list[Path]:
    """Where the resolver looks for ``asset``, in order (explicit paths excluded)."""
    paths: list[Path] = []
    if os.environ.get(WEIGHTS_ENV) and dryrun_workspace() is None:
        paths.append(Path(os.environ[WEIGHTS_ENV]) / asset.file)
    paths.append(cache_dir() / asset.file)
    if asset.bundled:
        paths.append(REPO_ROOT / asset.file)
    if asset.package:
        located = package_file(asset.package)
        if located is not None:
            paths.append(located)
    return paths


def package_file(spec: str) -> Path | None:
    """``module/relative/path`` -> the file inside the installed package (None when not installed)."""
    module, _, relative = spec.partition("/")
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    return Path(list(found.submodule_search_locations)[0]) / relative


def refuse_dryrun_file(name: str, path: Path) -> None:
    """Outside dry-run mode, a file of a dry-run workspace (random weights) is an error."""
    if dryrun_workspace() is None and (workspace := inside_dryrun_workspace(path)) is not None:
        raise AssetError(f"asset '{name}': {path} is a random-weight file of the dry-run workspace {workspace}, "
                         "not the real asset; dry-run files are only read by `osasis-bench dryrun`")  # fmt: skip


def asset_state(asset: Asset, path: str | Path | None = None) -> tuple[AssetState, Path | None]:
    """The state of an asset and the path where it was found."""
    for candidate in [Path(path)] if path else candidate_paths(asset):
        if candidate.is_file():
            refuse_dryrun_file(asset.name, candidate)
            if asset.sha256 is None:
                return "unpinned", candidate
            return ("present" if verify_checksum(candidate, asset.sha256) else "checksum mismatch"), candidate
    return "missing", None


def resolve(name: str, path: str | Path | None = None) -> Path:
    """Path of a verified asset file, or an :class:`AssetError` that says how to get it."""
    asset = get_asset(name)
    tried = [Path(path)] if path else candidate_paths(asset)
    for candidate in tried:
        if candidate.is_file():
            refuse_dryrun_file(name, candidate)
            if not verify_checksum(candidate, asset.sha256):
                raise AssetError(
                    f"asset '{name}': checksum mismatch for {candidate} (expected sha256 {asset.sha256}); "
                    f"the file is corrupt or a different version. To fix: {asset.instructions()}"
                )
            return candidate
    tried_text = ", ".join(str(p) for p in tried)
    raise AssetError(
        f"asset '{name}' ({asset.file}) not found; looked at: {tried_text}. To get it: {asset.instructions()}"
    )
