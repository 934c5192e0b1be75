"""Throughput of our batched Inception feature extraction vs pytorch-fid's own loop (random-init weights).

Both sides use the same FID Inception architecture and the same seeded random weights (pytorch-fid's
download is replaced by our state dict), on the same PNG files. Ours: benchmark.imageio loading + PIL-bicubic
resize to 299 + batched forward (feature cache disabled). Theirs: ``pytorch_fid.fid_score.get_activations``
(PIL loading, ToTensor, bilinear resize inside the model). Prints images/s for both and the ratio. Not a test.

    .venv/bin/python scripts/bench_features.py --n 32 --size 256 --batch-size 16 --dims 2048
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import benchmark  # noqa: F401  (torchvision shim first)
from benchmark import imageio
from benchmark.features.cache import FeatureCache
from benchmark.features.extractor import extract_set
from benchmark.features.inception import DIMS, FIDInception
from benchmark.metrics.base import EvalSet


def make_images(folder: Path, n: int, size: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        base = rng.uniform(0, 1, (3, 8, 8)).astype(np.float32)
        noise = torch.from_numpy(rng.normal(0, 0.05, (3, size, size))).float()
        img = imageio.resize(torch.from_numpy(base), size) + noise
        paths.append(imageio.save_png(img.clamp(0, 1), folder / f"img{i:04d}.png"))
    return paths


def pytorch_fid_model(state: dict[str, torch.Tensor], dims: int) -> torch.nn.Module:
    """pytorch-fid's own InceptionV3 wrapper, with ``state`` served instead of the weight download."""
    import pytorch_fid.inception as pfi

    original = pfi.load_state_dict_from_url
    pfi.load_state_dict_from_url = lambda *a, **k: state
    try:
        model = pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[dims]])
    finally:
        pfi.load_state_dict_from_url = original
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--dims", type=int, default=2048, choices=DIMS)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: leave default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from pytorch_fid.fid_score import get_activations

    from benchmark.features.inception import _fid_inception_architecture, _random_init

    ours = FIDInception(args.dims, random_weights=True, seed=0)  # seeded: same weights as the next line
    theirs = pytorch_fid_model(_random_init(_fid_inception_architecture, 0).state_dict(), args.dims)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "imgs"
        folder.mkdir()
        paths = make_images(folder, args.n, args.size)
        data = EvalSet(names=[p.stem for p in paths], content=paths, stylized=paths, resolution=args.size)
        warm = EvalSet(names=["w"], content=paths[:1], stylized=paths[:1], resolution=args.size)
        extract_set(ours, warm, "stylized", 1, FeatureCache(enabled=False))  # warm-up both
        get_activations([str(paths[0])], theirs, 1, args.dims, "cpu", num_workers=0)
        start = time.perf_counter()
        feats_ours = extract_set(ours, data, "stylized", args.batch_size, FeatureCache(enabled=False))
        t_ours = time.perf_counter() - start
        start = time.perf_counter()
        files = [str(p) for p in paths]
        feats_theirs = get_activations(files, theirs, args.batch_size, args.dims, "cpu", num_workers=0)
        t_theirs = time.perf_counter() - start
    corr = np.corrcoef(feats_ours.ravel(), feats_theirs.ravel())[0, 1]
    threads = torch.get_num_threads()
    print(f"images: {args.n} x {args.size}px, dims {args.dims}, batch {args.batch_size}, threads {threads}")
    print(f"ours        : {t_ours:7.2f} s  {args.n / t_ours:7.2f} img/s  (PIL-bicubic resize, with decoding)")
    print(f"pytorch-fid : {t_theirs:7.2f} s  {args.n / t_theirs:7.2f} img/s  (in-model bilinear resize, with decoding)")
    print(f"ratio ours/pytorch-fid throughput: {t_theirs / t_ours:.2f}x")
    print(f"feature correlation (different resizers, same weights): {corr:.4f}")


if __name__ == "__main__":
    main()
