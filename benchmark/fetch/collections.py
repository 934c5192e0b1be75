"""Collection entries: one manifest entry standing for many per-item files (e.g. FFHQ images by id).

A collection entry has ``file: <directory>`` and a ``collection:`` mapping with a ``format``:

* ``template``: ``url_template`` and ``file_template`` are ``str.format`` patterns over ``id`` (an int when the
  id is numeric), e.g. ``url_template: "https://host/images/{id:05d}.png"``, ``file_template: "{id:05d}.png"``;
  optional ``id_range: [0, 70000]`` bounds the ids.
* ``ffhq-v2``: per-item URL, path, size and MD5 come from NVIDIA's ``ffhq-dataset-v2.json`` (the asset named
  by ``index``), fields ``image.file_url``, ``image.file_path``, ``image.file_size``, ``image.file_md5``.

Items are expanded only for the ids a caller asks for (for the density split: its N candidate ids, see
:mod:`benchmark.splits.candidates`), as ordinary :class:`~benchmark.assets.Asset` objects named
``<collection>:<id>`` with ``file`` under the collection directory; ``md5`` (when known) is in ``extra`` and is
checked when no SHA-256 is pinned. :func:`item_ids` lists every id an index holds; :func:`resolve_items` finds
fetched items where the resolver looks (a collection is a folder, so :func:`benchmark.assets.resolve` cannot).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from benchmark.assets import Asset, asset_state, candidate_paths
from benchmark.errors import AssetError

#: How many missing item names an error message lists.
SHOWN_MISSING = 5


def is_collection(asset: Asset) -> bool:
    return "collection" in asset.extra


def _id_value(item_id: int | str) -> int | str:
    return int(item_id) if str(item_id).isdigit() else item_id


@lru_cache(maxsize=1)
def _ffhq_index(path: str, stamp: tuple[int, int]) -> dict:  # stamp (size, mtime): a rewritten index is re-read
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _index(asset: Asset, manifest: dict[str, Asset], index_path: str | Path | None) -> tuple[dict, Path]:
    """The parsed ffhq-v2 index of ``asset`` (from ``index_path``, else where the resolver finds it)."""
    index_asset = manifest[asset.extra["collection"]["index"]]
    if index_path is not None:
        state, path = "given", Path(index_path)
    else:
        state, path = asset_state(index_asset)
    if path is None or state == "checksum mismatch" or not path.is_file():
        raise AssetError(f"collection '{asset.name}' needs its index '{index_asset.name}' ({index_asset.file}) "
                         f"first: {index_asset.instructions()}")  # fmt: skip
    stat = path.stat()
    try:
        index = _ffhq_index(str(path), (stat.st_size, stat.st_mtime_ns))
    except (ValueError, UnicodeDecodeError) as exc:
        raise AssetError(f"{path}: the index of collection '{asset.name}' is not valid JSON ({exc})") from exc
    if not isinstance(index, dict):
        raise AssetError(f"{path}: the index of collection '{asset.name}' is not a JSON object keyed by image id")
    return index, path


def item_ids(asset: Asset, manifest: dict[str, Asset], index_path: str | Path | None = None) -> list[str]:
    """Every item id of an ffhq-v2 collection, as the file stems (``NNNNN``), in increasing index-key order.

    For the official 70,000-image index this is ``00000 .. 69999``, so a seeded draw from it equals
    ``benchmark.splits.sample_candidates(70000, n, seed)``.
    """
    spec = asset.extra["collection"]
    if spec.get("format", "template") != "ffhq-v2":
        raise AssetError(f"collection '{asset.name}': only an ffhq-v2 collection has an index listing its ids")
    index, path = _index(asset, manifest, index_path)
    try:
        keys = sorted(index, key=int)
        return [Path(index[key]["image"]["file_path"]).stem for key in keys]
    except (KeyError, TypeError, ValueError) as exc:
        raise AssetError(f"{path}: not an ffhq-dataset-v2.json index ({type(exc).__name__}: {exc})") from exc


def resolve_items(asset: Asset, ids: Iterable[int | str], manifest: dict[str, Asset],
                  index_path: str | Path | None = None) -> dict[str, Path]:  # fmt: skip
    """Fetched files of collection items, by id; an :class:`AssetError` naming the missing ones otherwise.

    A file counts when it has the size the index gives (its MD5 was checked by the fetch stage).
    """
    ids = list(ids)
    found: dict[str, Path] = {}
    missing: list[Asset] = []
    for item, raw in zip(expand(asset, ids, manifest, index_path), ids):
        path = next((p for p in candidate_paths(item) if p.is_file()
                     and (item.size is None or p.stat().st_size == item.size)), None)  # fmt: skip
        if path is None:
            missing.append(item)
        else:
            found[str(raw)] = path
    if missing:
        shown = ", ".join(m.file for m in missing[:SHOWN_MISSING]) + (" ..." if len(missing) > SHOWN_MISSING else "")
        raise AssetError(f"collection '{asset.name}': {len(missing)} of {len(found) + len(missing)} items are "
                         f"missing or incomplete ({shown}); fetch them with `osasis-bench fetch --profile paper "
                         f"--params params.yaml` (the dvc fetch stage does), or {asset.how_to_get}")  # fmt: skip
    return found


def expand(asset: Asset, ids: Iterable[int | str], manifest: dict[str, Asset],
           index_path: str | Path | None = None) -> list[Asset]:  # fmt: skip
    """The per-item assets of collection ``asset`` for ``ids`` (``index_path``: the ffhq-v2 index, if not where
    the resolver looks)."""
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
        index, path = _index(asset, manifest, index_path)
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
