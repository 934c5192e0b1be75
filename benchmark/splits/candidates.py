"""The density split's candidate images of the paper profile: a seeded draw from the FFHQ index.

``candidates = sample_candidates(ids of ffhq-dataset-v2.json, prepare.density.n_candidates, seed)``, where the
ids are the index's images in key order (``00000 .. 69999`` for the official index, so the draw equals
``sample_candidates(70000, N, seed)``). The fetch stage downloads exactly these images (``osasis-bench fetch
--params params.yaml``) and the prepare stage scores exactly these, so both derive them from the same params.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmark.assets import manifest
from benchmark.errors import ConfigError
from benchmark.fetch import collections
from benchmark.splits.density import sample_candidates


def candidate_collection(params: dict[str, Any]) -> str | None:
    """The collection asset the profile draws density candidates from (``prepare.ffhq_asset``), if any."""
    return (params.get("prepare") or {}).get("ffhq_asset")


def candidate_settings(params: dict[str, Any]) -> tuple[str, int, int]:
    """(collection asset, number of candidates, seed) from the profile's params."""
    asset = candidate_collection(params)
    density = (params.get("prepare") or {}).get("density") or {}
    if not asset or "n_candidates" not in density:
        raise ConfigError("params need prepare.ffhq_asset and prepare.density.n_candidates to draw the density "
                          "split's candidates")  # fmt: skip
    n = int(density["n_candidates"])
    if n < 1:
        raise ConfigError(f"prepare.density.n_candidates must be at least 1, got {n}")
    return str(asset), n, int(params["seed"])


def density_candidates(params: dict[str, Any], manifest_path: str | Path | None = None,
                       index_path: str | Path | None = None) -> list[str]:  # fmt: skip
    """The candidate ids (file stems, sorted) that the profile's density split scores."""
    name, n, seed = candidate_settings(params)
    table = manifest(manifest_path)
    if name not in table or not collections.is_collection(table[name]):
        raise ConfigError(f"prepare.ffhq_asset {name!r} is not a collection entry of the asset manifest")
    return sample_candidates(collections.item_ids(table[name], table, index_path), n, seed)


def candidate_files(params: dict[str, Any], manifest_path: str | Path | None = None) -> dict[str, Path]:
    """The fetched candidate files by id (sorted); an AssetError naming the missing ones."""
    ids = density_candidates(params, manifest_path)
    table = manifest(manifest_path)
    found = collections.resolve_items(table[candidate_collection(params)], ids, table)
    return {i: found[i] for i in ids}
