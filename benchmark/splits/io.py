"""Split files (one JSON file, written atomically) and split folders (resized PNGs with the originals kept).

Split file layout (``format: osasis-bench/density-split/v1``)::

    {"format": ..., "settings": {N, k, seed, resolution, resizer, reconstructor, distance, code_version, ...},
     "low_density": [ids, rarest first], "high_density": [ids, most typical first],
     "images": [{"id": ..., "score": ..., "rank": 1 = highest distance}, ... in rank order]}
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from benchmark import imageio
from benchmark.errors import ConfigError
from benchmark.splits.density import SPLIT_FORMAT, SplitResult

SPLITS = ("low_density", "high_density")


def write_split(result: SplitResult, path: str | Path) -> Path:
    """Write ``result`` as a split file (atomic)."""
    ranks = result.ranks()
    order = result.order()
    data = {"format": SPLIT_FORMAT, "settings": result.settings, "low_density": result.low_density,
            "high_density": result.high_density,
            "images": [{"id": result.ids[i], "score": result.scores[i], "rank": ranks[result.ids[i]]} for i in order]}
    imageio.atomic_write_text(path, json.dumps(data, indent=1) + "\n")
    return Path(path)


def read_split(path: str | Path) -> SplitResult:
    """Read a split file written by :func:`write_split` (scores round-trip exactly)."""
    data = json.loads(Path(path).read_text())
    if data.get("format") != SPLIT_FORMAT:
        raise ConfigError(f"{path}: not a density split file (format {data.get('format')!r})")
    images = data["images"]
    result = SplitResult(ids=[im["id"] for im in images], scores=[float(im["score"]) for im in images],
                         k=int(data["settings"]["k"]), settings=data["settings"])  # fmt: skip
    if result.low_density != data["low_density"] or result.high_density != data["high_density"]:
        raise ConfigError(f"{path}: stored splits disagree with the stored scores")
    return result


def materialise_split(split: SplitResult, images: Mapping[str, str | Path] | Sequence[str | Path], out_dir: str | Path,
                      resolution: int, which: Sequence[str] = SPLITS, originals: str = "symlink") -> dict[str, Path]:
    """Write ``<out_dir>/<split>/<id>.png`` at ``resolution`` (the suite's resizer) for each split in ``which``.

    The source files are kept beside them in ``<out_dir>/<split>/originals/`` as symlinks (``originals='symlink'``),
    copies (``'copy'``) or not at all (``'none'``). ``images`` maps ids to files (or lists files named by id).
    """
    table = dict(images) if isinstance(images, Mapping) else {Path(p).stem: p for p in images}
    out: dict[str, Path] = {}
    for name in which:
        if name not in SPLITS:
            raise ConfigError(f"unknown split {name!r}; choose from {SPLITS}")
        folder = Path(out_dir) / name
        folder.mkdir(parents=True, exist_ok=True)
        for image_id in getattr(split, name):
            if image_id not in table:
                raise ConfigError(f"split image {image_id} has no source file")
            source = Path(table[image_id])
            imageio.save_png(imageio.resize_pil(imageio.load_pil(source), resolution), folder / f"{image_id}.png")
            if originals != "none":
                _keep_original(source, folder / "originals" / f"{image_id}{source.suffix.lower()}", originals)
        out[name] = folder
    return out


def _keep_original(source: Path, target: Path, how: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        target.unlink()
    if how == "symlink":
        os.symlink(source.resolve(), target)
    elif how == "copy":
        shutil.copy2(source, target)
    else:
        raise ConfigError(f"originals must be 'symlink', 'copy' or 'none', got {how!r}")
