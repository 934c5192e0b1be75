"""The dry run's overlay manifest: the real manifest's entries, with each dry-run file's loopback URL and pins.

Every entry keeps its name, file, licence, profiles and users; entries whose file the dry run wrote get
``url: <base_url>/<file>``, the file's SHA-256 and size, and a description saying they are random stand-ins.
Entries the dry run does not replace (real offline weights shipped in packages, the smoke models) are kept as they
are, so the dry run uses the real files where they exist.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from benchmark.assets import MANIFEST_DIR, Asset, sha256_file
from benchmark.errors import AssetError
from benchmark.imageio import atomic_write_text


def asset_entry(asset: Asset) -> dict[str, Any]:
    """A manifest entry (the YAML mapping) of ``asset``, with its extra fields."""
    entry = {f.name: getattr(asset, f.name) for f in dataclasses.fields(asset) if f.name != "extra"}
    entry["profiles"], entry["used_by"] = list(asset.profiles), list(asset.used_by)
    return {**entry, **asset.extra}


def overlay_entry(entry: Mapping[str, Any] | Asset, path: Path | None, base_url: str) -> dict[str, Any]:
    """The dry-run twin of a manifest entry: URL under ``base_url``, SHA-256 and size of ``path`` (a written file).

    Collection entries (``path`` a folder, or None) keep no URL and no pin: their items are checked against the
    dry-run index's MD5s. Upstream MD5s are dropped (the SHA-256 of the written file is the pin).
    """
    entry = asset_entry(entry) if isinstance(entry, Asset) else dict(entry)
    entry.pop("md5", None)
    if path is None or Path(path).is_dir():
        return {**entry, "url": "", "sha256": None, "size": None}
    return {**entry, "url": f"{base_url.rstrip('/')}/{entry['file']}", "sha256": sha256_file(path),
            "size": Path(path).stat().st_size}  # fmt: skip


def write_overlay(out_dir: Path, base_url: str, written: Mapping[str, Path], served: Path,
                  manifest_dir: Path = MANIFEST_DIR) -> list[Path]:
    """Write ``out_dir/<group>.yaml`` for each manifest file; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    paths = []
    for source in sorted(manifest_dir.glob("*.yaml")):
        raw = yaml.safe_load(source.read_text()) or {}
        entries = []
        for entry in raw.get("assets") or []:
            entry = dict(entry)
            path = written.get(entry["name"])
            if path is not None:
                seen.add(entry["name"])
                relative = Path(path).resolve().relative_to(served.resolve()).as_posix()
                if relative != entry["file"]:
                    raise AssetError(f"dry run: {entry['name']} was written at {relative}, not at its manifest "
                                     f"file {entry['file']}")  # fmt: skip
                entry = overlay_entry(entry, path, base_url)
                entry["description"] = f"DRY RUN random stand-in, not the real asset. {entry.get('description', '')}"
                entry.pop("how_to_get", None)
            entries.append(entry)
        target = out_dir / source.name
        atomic_write_text(target, yaml.safe_dump({"assets": entries}, sort_keys=False))
        paths.append(target)
    unknown = sorted(set(written) - seen)
    if unknown:
        raise AssetError(f"dry run wrote files for assets the manifest does not have: {unknown}")
    return paths
