"""Collection entries: one manifest entry standing for many per-item files (e.g. FFHQ images by id).

A collection entry has ``file: <directory>`` and a ``collection:`` mapping with a ``format``:

* ``template``: ``url_template`` and ``file_template`` are ``str.format`` patterns over ``id`` (an int when the
  id is numeric), e.g. ``url_template: "https://host/images/{id:05d}.png"``, ``file_template: "{id:05d}.png"``;
  optional ``id_range: [0, 70000]`` bounds the ids.
* ``ffhq-v2``: per-item URL, path, size and MD5 come from NVIDIA's ``ffhq-dataset-v2.json`` (the asset named
  by ``index``), fields ``image.file_url``, ``image.file_path``, ``image.file_size``, ``image.file_md5``.

Items are expanded only for the ids a caller asks for (for the density split: its N candidate ids), as
ordinary :class:`~benchmark.assets.Asset` objects named ``<collection>:<id>`` with ``file`` under the
collection directory; ``md5`` (when known) is in ``extra`` and is checked when no SHA-256 is pinned.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from benchmark.assets import Asset, asset_state
from benchmark.errors import AssetError


def is_collection(asset: Asset) -> bool:
    return "collection" in asset.extra


def _id_value(item_id: int | str) -> int | str:
    return int(item_id) if str(item_id).isdigit() else item_id


@lru_cache(maxsize=1)
def _ffhq_index(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def expand(asset: Asset, ids: Iterable[int | str], manifest: dict[str, Asset]) -> list[Asset]:
    """The per-item assets of collection ``asset`` for ``ids``."""
    spec = asset.extra["collection"]
    kind = spec.get("format", "template")
    items: list[Asset] = []
    if kind == "template":
        low, high = spec.get("id_range", [None, None])
        for raw in ids:
            value = _id_value(raw)
            if isinstance(value, int) and low is not None and not low <= value < high:
                raise AssetError(f"collection '{asset.name}': id {value} outside [{low}, {high})")
            items.append(_item(asset, value, spec["url_template"].format(id=value),
                               spec["file_template"].format(id=value), None, None))  # fmt: skip
    elif kind == "ffhq-v2":
        index_asset = manifest[spec["index"]]
        state, path = asset_state(index_asset)
        if path is None or state == "checksum mismatch":
            raise AssetError(f"collection '{asset.name}' needs its index '{index_asset.name}' ({index_asset.file}) "
                             f"first: {index_asset.instructions()}")  # fmt: skip
        index = _ffhq_index(str(path))
        for raw in ids:
            value = _id_value(raw)
            entry = index.get(str(value))
            if entry is None:
                raise AssetError(f"collection '{asset.name}': id {value} not in {path}")
            image = entry["image"]
            items.append(_item(asset, value, image["file_url"], image["file_path"], image.get("file_size"),
                               image.get("file_md5")))  # fmt: skip
    else:
        raise AssetError(f"collection '{asset.name}': unknown format {kind!r} (template or ffhq-v2)")
    return items


def _item(parent: Asset, item_id: int | str, url: str, rel: str, size: int | None, md5: str | None) -> Asset:
    extra = {"md5": md5} if md5 else {}
    return Asset(name=f"{parent.name}:{item_id}", file=str(Path(parent.file) / rel), url=url, sha256=None,
                 size=size, license=parent.license, profiles=parent.profiles, used_by=parent.used_by,
                 description=f"item {item_id} of {parent.name}", how_to_get=parent.how_to_get, extra=extra)
