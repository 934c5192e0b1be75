"""Procedural stand-ins for every dataset asset of the paper profile, at the paper's sizes, in the official layout.

:func:`write_datasets` writes ``folder/<asset.file>`` for each name in :data:`DATASET_ASSETS` (the paper-profile
entries of ``data/assets/datasets.yaml``), so that a loopback server rooted at ``folder`` serves each file at
``base_url + "/" + asset.file``:

* ``ffhq-metadata``: an ``ffhq-dataset-v2.json`` with ``n_ffhq`` entries (keys ``"<id>"``, ids drawn from 0..69999
  so that several ``NNN00`` folders are used), each with ``image.file_url`` (the loopback URL), ``file_path``
  (``images1024x1024/NNN00/NNNNN.png``), ``file_size``, ``file_md5``, ``pixel_size`` and ``pixel_md5``;
* ``ffhq-images1024``: those images, 1024 x 1024 PNG, aligned procedural faces of the smoke domain
  (:mod:`benchmark.smoke.faces`, drawn natively at 1024 px without supersampling), under ``datasets/ffhq``;
* AAHQ / MetFaces: their metadata files (``AAHQ-dataset.json``: ``{aligned name: {image_url, raw_name,
  landmarks}}``; ``metfaces.json``: ``[{obj_id, image_path, image_md5, ...}]``) with exactly the 5 reference
  entries, ordered so that the manifest's seeded ``selection`` rule picks reference ``i`` for index ``i - 1``;
  and the references: 1024 x 1024 PNG, smoke faces drawn at 512 px, stylized by a procedural smoke stylizer
  and upscaled with the suite's resizer (the stylizers are slow at 1024 px);
* ``prev`` references and the OSASIS repository's style images: the same kind of stylized faces;
* the OSASIS repository's input images: 1024 px faces with an accessory or occluder (hat, glasses, hand, paint);
* the out-of-domain references (``.jpg``): the smoke world's offline non-face photos (and one portrait),
  stylized, at their own aspect ratio with a 1024 px long side (the real files' sizes are not recorded).

Every byte depends only on ``seed``, ``n_ffhq`` and ``base_url`` (same arguments: byte-identical files).
Their manifest twins (loopback URL, SHA-256, size) are made by :mod:`benchmark.dryrun.overlay`.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from benchmark.assets import MANIFEST_DIR, Asset, manifest
from benchmark.atomic import atomic_write_bytes, atomic_write_text
from benchmark.errors import ConfigError
from benchmark.imageio import resize_pil
from benchmark.seeding import derive_seed
from benchmark.smoke.faces import EYE_DX, EYE_Y, FaceAttributes, render_face, sample_attributes
from benchmark.smoke.photos import LOADERS
from benchmark.smoke.stylizers import apply_style
from benchmark.splits.density import sample_candidates

#: Every paper-profile dataset asset written by :func:`write_datasets` (the paper entries of datasets.yaml).
DATASET_ASSETS: tuple[str, ...] = (
    "ffhq-metadata", "ffhq-images1024",
    "aahq-metadata", *(f"aahq-ref-{i}" for i in range(1, 6)),
    "metfaces-metadata", *(f"metfaces-ref-{i}" for i in range(1, 6)),
    "prev-ref-digital-painting-jing", "prev-ref-speed-paint", "prev-ref-mermaid", "prev-ref-anastasia",
    "prev-ref-sketch",
    *(f"osasis-style-img{i}" for i in range(1, 6)), *(f"osasis-input-img{i}" for i in range(1, 7)),
    "ood-ref-starry-night", "ood-ref-shipwreck", "ood-ref-the-scream", "ood-ref-woman-with-hat-matisse",
    "ood-ref-seated-nude",
)  # fmt: skip

FACE_SIZE = 1024  # FFHQ, AAHQ, MetFaces, the MTG "Aligned" and OSASIS repository images are 1024 px aligned faces
REFERENCE_DRAW_SIZE = 512  # references are drawn and stylized at this size, then upscaled to FACE_SIZE
OOD_LONG_SIDE = 1024
FFHQ_POPULATION = 70000
#: Procedural stylizers that stay fast at 512 px, used in turn for the stylized references.
REFERENCE_STYLIZERS = ("posterize-ink", "pencil-sketch", "mosaic", "palette-swap")
#: OOD reference -> (offline photo, stylizer); the photos are non-faces except one portrait (as Woman with a Hat).
OOD_SOURCES = {
    "ood-ref-starry-night": ("coffee", "palette-swap"),
    "ood-ref-shipwreck": ("chelsea", "pencil-sketch"),
    "ood-ref-the-scream": ("rocket", "posterize-ink"),
    "ood-ref-woman-with-hat-matisse": ("grace-hopper", "mosaic"),
    "ood-ref-seated-nude": ("horse", "palette-swap"),
}
OCCLUDERS = ("hat", "glasses", "hand", "face_paint")
JPEG_QUALITY = 92


def _png_bytes(img: Image.Image) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def _jpeg_bytes(img: Image.Image) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=False, progressive=False)
    return buffer.getvalue()


def _write(folder: Path, rel: str, data: bytes) -> Path:
    path = folder / rel
    atomic_write_bytes(path, data)
    return path


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _face(seed: int, domain: str, index: int, size: int, occluder: str | None = None) -> tuple[Image.Image,
                                                                                               FaceAttributes]:
    attrs = sample_attributes(derive_seed(seed, "dryrun", domain), index)
    if occluder is not None:
        setattr(attrs, occluder, True)
        attrs.rare = sorted({*attrs.rare, occluder})
    return render_face(attrs, size, supersample=1), attrs


def _landmarks(attrs: FaceAttributes, size: int) -> dict[str, list[float]]:
    """Eye and mouth-corner positions of a smoke face (the four points AAHQ's alignment reads), in pixels."""
    fx = 0.5 + attrs.yaw * 0.012 + attrs.yaw * 0.035
    dx = EYE_DX + attrs.eye_spacing
    mouth_y = EYE_Y + 0.205
    points = {"eye_left": (fx - dx, EYE_Y), "eye_right": (fx + dx, EYE_Y),
              "mouth_left": (fx - attrs.mouth_width, mouth_y), "mouth_right": (fx + attrs.mouth_width, mouth_y)}
    return {k: [round(x * size, 2), round(y * size, 2)] for k, (x, y) in points.items()}  # fmt: skip


def _stylized_reference(seed: int, name: str) -> tuple[bytes, FaceAttributes]:
    face, attrs = _face(seed, name, 0, REFERENCE_DRAW_SIZE)
    stylizer = REFERENCE_STYLIZERS[derive_seed(seed, "dryrun-stylizer", name) % len(REFERENCE_STYLIZERS)]
    return _png_bytes(resize_pil(apply_style(stylizer, face), FACE_SIZE)), attrs


def _ood_reference(name: str) -> bytes:
    photo, stylizer = OOD_SOURCES[name]
    img = LOADERS[photo]()
    scale = OOD_LONG_SIDE / max(img.size)
    size = (round(img.height * scale), round(img.width * scale))
    return _jpeg_bytes(resize_pil(apply_style(stylizer, img), size))


def ffhq_ids(seed: int, n_ffhq: int) -> list[int]:
    """The FFHQ ids in the dry-run index: a seeded draw from 0..69999 (so several NNN00 folders are used)."""
    return [int(i) for i in sample_candidates(FFHQ_POPULATION, n_ffhq, derive_seed(seed, "dryrun-ffhq-ids"))]


def _write_ffhq(folder: Path, assets: dict[str, Asset], base_url: str, seed: int, n_ffhq: int) -> dict[str, Path]:
    collection_dir = assets["ffhq-images1024"].file
    index: dict[str, Any] = {}
    for image_id in ffhq_ids(seed, n_ffhq):
        face, _ = _face(seed, "ffhq", image_id, FACE_SIZE)
        data = _png_bytes(face)
        file_path = f"images1024x1024/{image_id // 1000 * 1000:05d}/{image_id:05d}.png"
        rel = f"{collection_dir}/{file_path}"
        _write(folder, rel, data)
        index[str(image_id)] = {
            "category": "training" if image_id < 60000 else "validation",
            "metadata": {"photo_title": f"dry run {image_id:05d}", "author": "osasis-bench dry run (procedural)",
                         "license": "dry run: procedural image, not FFHQ"},
            "image": {"file_url": f"{base_url}/{rel}", "file_path": file_path, "file_size": len(data),
                      "file_md5": _md5(data), "pixel_size": [FACE_SIZE, FACE_SIZE],
                      "pixel_md5": _md5(np.asarray(face).tobytes())},
        }  # fmt: skip
    index_path = folder / assets["ffhq-metadata"].file
    atomic_write_text(index_path, json.dumps(index, indent=2) + "\n")
    return {"ffhq-metadata": index_path, "ffhq-images1024": folder / collection_dir}


def _write_groups(folder: Path, assets: dict[str, Asset], base_url: str, seed: int) -> dict[str, Path]:
    out: dict[str, Path] = {}
    aahq: dict[str, Any] = {}
    metfaces: list[dict[str, Any]] = []
    occluder = 0
    for name in DATASET_ASSETS:
        asset = assets[name]
        group = asset.extra.get("group")
        if group is None:
            continue
        index = int(asset.extra.get("selection", {}).get("index", 0))
        if group == "ood_references":
            data = _ood_reference(name)
        elif group == "osasis_repo_inputs":
            face, _ = _face(seed, name, 0, FACE_SIZE, OCCLUDERS[occluder % len(OCCLUDERS)])
            occluder += 1
            data = _png_bytes(face)
        else:
            data, attrs = _stylized_reference(seed, name)
            if group == "aahq_references":  # key order = selection order (sample_candidates sorts the keys)
                aahq[f"dryrun-{index:05d}.png"] = {"image_url": f"{base_url}/{asset.file}",
                                                   "raw_name": f"dryrun_{index:05d}.png",
                                                   "landmarks": _landmarks(attrs, FACE_SIZE)}  # fmt: skip
            elif group == "metfaces_references":
                obj_id = str(10000 + index)
                metfaces.append({"obj_id": obj_id, "image_path": f"images/{obj_id}-00.png", "image_md5": _md5(data),
                                 "title": f"dry run {Path(asset.file).stem}", "face_idx": 0,
                                 "artist_display_name": "osasis-bench dry run (procedural)"})  # fmt: skip
        out[name] = _write(folder, asset.file, data)
    out["aahq-metadata"] = folder / assets["aahq-metadata"].file
    atomic_write_text(out["aahq-metadata"], json.dumps(aahq, indent=2) + "\n")
    out["metfaces-metadata"] = folder / assets["metfaces-metadata"].file
    atomic_write_text(out["metfaces-metadata"], json.dumps(metfaces, indent=2) + "\n")
    return out


def write_datasets(folder: Path, *, base_url: str, seed: int = 0, n_ffhq: int = 8) -> dict[str, Path]:
    """Procedural stand-ins at the paper's sizes, in the official layout, at folder/<asset.file>; name -> path.

    ``ffhq-images1024`` (a collection) maps to its folder; every other name to its file. ``base_url`` is where
    ``folder`` will be served (the FFHQ index's per-image ``file_url`` and AAHQ's ``image_url`` point there).
    """
    if n_ffhq < 1 or n_ffhq > FFHQ_POPULATION:
        raise ConfigError(f"n_ffhq must be in 1..{FFHQ_POPULATION}, got {n_ffhq}")
    official = manifest(MANIFEST_DIR)
    unknown = [n for n in DATASET_ASSETS if n not in official]
    if unknown:
        raise ConfigError(f"dry-run dataset assets missing from the manifest: {unknown}")
    folder = Path(folder)
    base_url = base_url.rstrip("/")
    paths = _write_ffhq(folder, official, base_url, seed, n_ffhq)
    paths.update(_write_groups(folder, official, base_url, seed))
    return {name: paths[name] for name in DATASET_ASSETS}

