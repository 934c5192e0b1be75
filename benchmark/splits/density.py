"""The OSASIS density split: rank images by stochastic-reconstruction distance (osasis.md §6.1).

For each image x: reconstruct it stochastically (the caller's DiffAE encodes z_sem = Enc(x) and decodes from
fresh noise x_T ~ N(0, I), no inversion), score ``distance(x, x_hat)`` (LPIPS in the paper), and rank by score.
The top-k scores are the **low-density** split (hard to reconstruct = rare), the bottom-k the **high-density** one.

Randomness: ``reconstruct(batch, generators)`` gets one ``torch.Generator`` per batch row, seeded by
``benchmark.seeding.generator(seed, image_id)``, so a score depends on the image and the seed only, never on
batch size or order. (The second argument is a list of generators rather than a single one for that reason;
:func:`noise_like` draws per-row noise from it.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

import benchmark
from benchmark import imageio, seeding
from benchmark.errors import ConfigError
from benchmark.progress import progress

Reconstructor = Callable[[torch.Tensor, Sequence[torch.Generator]], torch.Tensor]
Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
SPLIT_FORMAT = "osasis-bench/density-split/v1"


@dataclass
class SplitResult:
    """Scores of every candidate, the two splits, and the settings that produced them."""

    ids: list[str]
    scores: list[float]
    k: int
    settings: dict = field(default_factory=dict)

    def order(self) -> list[int]:
        """Indices by decreasing score (ties broken by id, so the order is total and reproducible)."""
        return sorted(range(len(self.ids)), key=lambda i: (-self.scores[i], self.ids[i]))

    def ranks(self) -> dict[str, int]:
        """Rank of each id, 1 = highest distance (rarest)."""
        return {self.ids[i]: r + 1 for r, i in enumerate(self.order())}

    @property
    def low_density(self) -> list[str]:
        """The k highest-distance ids, rarest first."""
        return [self.ids[i] for i in self.order()[: self.k]]

    @property
    def high_density(self) -> list[str]:
        """The k lowest-distance ids, most typical first."""
        return [self.ids[i] for i in reversed(self.order()[-self.k :])] if self.k else []


def noise_like(shape: Sequence[int], generators: Sequence[torch.Generator], device: str | torch.device = "cpu"
               ) -> torch.Tensor:  # fmt: skip
    """Standard normal noise ``len(generators) x shape``, row i drawn from generator i (e.g. x_T for DiffAE)."""
    rows = [torch.randn(tuple(shape), generator=g, device=g.device) for g in generators]
    return torch.stack(rows).to(device) if rows else torch.empty(0, *shape, device=device)


def sample_candidates(population: int | Sequence[str], n: int, seed: int, width: int = 5) -> list[str]:
    """``n`` distinct ids drawn at random (seeded) from ``population`` (a count: ids 0..count-1, zero-padded)."""
    pool = [f"{i:0{width}d}" for i in range(population)] if isinstance(population, int) else list(population)
    if n > len(pool):
        raise ConfigError(f"cannot draw {n} candidates from a population of {len(pool)}")
    picks = np.random.default_rng(seed).choice(len(pool), size=n, replace=False)
    return sorted(pool[i] for i in picks)


def code_version() -> str:
    """The package version. (Not the git commit: the committed split file must not change with every commit;
    ``dvc.lock`` pins the exact code that produced it.)"""
    return benchmark.__version__


def density_split(image_paths: Sequence[str | Path], reconstruct: Reconstructor, distance: Distance, k: int,
                  seed: int, batch_size: int = 8, *, resolution: int = 256, reconstructor: str = "",
                  distance_name: str = "", device: str | torch.device = "cpu", extra: dict | None = None,
                  n_decodes: int = 1) -> SplitResult:  # fmt: skip
    """Score every image and split off the k rarest (low density) and k most typical (high density) ones.

    ``n_decodes`` > 1 averages the distance over that many stochastic reconstructions (fresh x_T each, from the
    generators of keys (image id, "decode", j); decode 0 uses the image id alone, as with one decode), which
    lowers the variance the fresh noise adds to a score without changing what is measured.
    """
    if n_decodes < 1:
        raise ConfigError(f"n_decodes must be >= 1, got {n_decodes}")
    paths = [Path(p) for p in image_paths]
    ids = [p.stem for p in paths]
    if len(set(ids)) != len(ids):
        raise ConfigError("image ids (file stems) must be unique for a density split")
    if k < 0 or 2 * k > len(paths):
        raise ConfigError(f"k={k} needs 2k <= N images, got N={len(paths)}")
    scores: list[float] = []
    batches = range(0, len(paths), max(1, batch_size))
    with torch.no_grad():
        for start in progress(batches, desc="density split", total=len(batches)):
            chunk = paths[start : start + batch_size]
            x = imageio.load_batch(chunk, resolution).to(device)
            total = torch.zeros(len(chunk), dtype=torch.float64)
            for j in range(n_decodes):
                keys = [(p.stem,) if j == 0 else (p.stem, "decode", j) for p in chunk]
                gens = [seeding.generator(seed, *key, device=device) for key in keys]
                recon = reconstruct(x, gens)
                if recon.shape != x.shape:
                    raise ConfigError(f"reconstructor returned shape {tuple(recon.shape)} for input {tuple(x.shape)}")
                score = distance(x, recon).reshape(-1)
                if score.numel() != len(chunk):
                    raise ConfigError(f"distance must return one value per image, got {score.numel()} for "
                                      f"{len(chunk)}")  # fmt: skip
                total += score.detach().double().cpu()
            final = total / n_decodes if n_decodes > 1 else score.detach().cpu()  # one decode: as before
            scores.extend(float(s) for s in final)
    settings = {"N": len(paths), "k": k, "seed": seed, "resolution": resolution, "resizer": imageio.RESIZER,
                "reconstructor": reconstructor or getattr(reconstruct, "__name__", repr(reconstruct)),
                "distance": distance_name or getattr(distance, "__name__", repr(distance)),
                "batch_size": batch_size, "code_version": code_version(), **(extra or {})}  # fmt: skip
    if n_decodes > 1:
        settings["n_decodes"] = n_decodes
    return SplitResult(ids=ids, scores=scores, k=k, settings=settings)
