"""Unpacking archive assets (manifest field ``extract``).

An entry may declare ``extract: zip`` (or ``tar``, ``tar.gz``) and optionally ``extract_to: <dir>`` (default: the
file name without its archive suffix), relative to the directory the archive was placed in. The archive is kept
(it is what the checksum pins); members are unpacked into a temporary sibling directory that is renamed into
place, so a half-extracted tree never appears. Members with absolute paths or ``..`` are refused.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path

from benchmark.atomic import umask
from benchmark.errors import AssetError

SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")


def default_target(archive: Path) -> Path:
    name = archive.name
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return archive.with_name(name[: -len(suffix)])
    return archive.with_name(name + ".d")


def _safe(name: str) -> bool:
    parts = Path(name).parts
    return not Path(name).is_absolute() and ".." not in parts


def extract(archive: Path, kind: str, target: Path | None = None) -> Path:
    """Unpack ``archive`` into ``target`` (created atomically; an existing target is kept as is)."""
    target = target or default_target(archive)
    if target.is_dir():
        return target
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    os.chmod(tmp, 0o777 & ~umask())  # mkdtemp makes 0700 folders; extracted assets get the ordinary permissions
    try:
        if kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                bad = [n for n in zf.namelist() if not _safe(n)]
                if bad:
                    raise AssetError(f"{archive}: refusing unsafe member path {bad[0]!r}")
                zf.extractall(tmp)
        elif kind in ("tar", "tar.gz", "tgz"):
            with tarfile.open(archive) as tf:
                tf.extractall(tmp, filter="data")
        else:
            raise AssetError(f"{archive}: unknown extract kind {kind!r} (use zip, tar or tar.gz)")
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
