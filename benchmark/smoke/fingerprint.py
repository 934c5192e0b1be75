"""A reproducibility fingerprint: smoke ground truth (as the prepare stage writes it) and one evaluation.

``python -m benchmark.smoke.fingerprint --threads N OUT.json`` builds a few integer-defined input images, writes a
one-shot task for every procedural stylizer with :func:`benchmark.smoke.stylizers.write_style_task` (the function
the prepare stage uses) and evaluates one method-like output folder with the evaluate stage's API. It records the
SHA-256 of every written PNG and every metric value. The README's reproducibility promise is tested by comparing
fingerprints made under different thread counts with the committed one (``tests/smoke/data/fingerprint.json``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageFilter

from benchmark.smoke.stylizers import STYLIZERS, write_style_task

SIZE = 64
N_INPUTS = 5
METRICS = ["lpips-vgg", "ssim", "gram-vgg16", "gt-lpips-vgg", "gt-ssim", "fid-inception2015"]
OPTIONS = {"fid-inception2015": {"random_weights": True, "dims": 64, "allow_small_n": True, "reference": "content",
                                 "cache": False, "n_boot": 50}}  # fmt: skip
# Relative tolerance of the cross-CPU promise for metric values (README, "Reproducibility"): float32 network
# features may differ in the last bits between CPUs; stored values agree to this tolerance.
REL_TOL = 1e-4


def input_image(seed: int, size: int = SIZE) -> Image.Image:
    """An image defined by integers only (seeded integer noise, an integer box blur, integer gradients)."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
    img = Image.fromarray(noise, "RGB").resize((size, size), Image.NEAREST).filter(ImageFilter.BoxBlur(3))
    yy, xx = np.mgrid[0:size, 0:size]
    ramp = ((xx * 3 + yy * 2) % 256).astype(np.uint16)
    arr = (np.asarray(img, dtype=np.uint16) + ramp[..., None]) // 2
    return Image.fromarray(arr.astype(np.uint8), "RGB")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fingerprint(threads: int) -> dict[str, Any]:
    """Hashes of the ground-truth PNGs of every procedural stylizer and the values of one evaluation."""
    from benchmark.metrics.evaluate import evaluate_folders

    torch.set_num_threads(threads)
    inputs = {f"in{i}": input_image(i) for i in range(N_INPUTS)}
    reference = input_image(100)
    hashes: dict[str, str] = {}
    values: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in STYLIZERS:
            task = write_style_task(name, reference, inputs, root / name)
            for png in sorted(task.rglob("*.png")):
                hashes[f"{name}/{png.relative_to(task).as_posix()}"] = _sha(png)
        # "a method": the pencil-sketch ground truth of another style's inputs, scored against posterize-ink
        truth = root / "posterize-ink"
        result = evaluate_folders(truth / "inputs", root / "pencil-sketch" / "ground_truth", [truth / "reference.png"],
                                  METRICS, ground_truth_dir=truth / "ground_truth", options=OPTIONS,
                                  resolution=SIZE)  # fmt: skip
    for metric, res in sorted(result["metrics"].items()):
        values[f"{metric}/value"] = res["value"]
        values[f"{metric}/ci_low"] = res["ci_low"]
        values[f"{metric}/ci_high"] = res["ci_high"]
        for image, v in sorted((res.get("per_image") or {}).items()):
            values[f"{metric}/{image}"] = v
    return {"threads": threads, "ground_truth_sha256": hashes, "metric_values": values}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    args.out.write_text(json.dumps(fingerprint(args.threads), indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
