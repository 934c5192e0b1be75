"""The training data: the smoke world's face splits, rendered in memory as tensors in [-1, 1]."""

from __future__ import annotations

import numpy as np
import torch

from benchmark.smoke.build import DEFAULT_PARAMS, split_seed
from benchmark.smoke.faces import generate_faces


def face_tensor(split: str, n: int, seed: int = 0, size: int = 64) -> torch.Tensor:
    """Faces ``0..n-1`` of the smoke world's ``split`` (same seed, rates and pixels as ``build_smoke_world``)."""
    faces = generate_faces(n, split_seed(seed, split), size, DEFAULT_PARAMS["rare_rates"])
    arr = np.stack([np.asarray(img.convert("RGB"), dtype=np.uint8) for img, _ in faces])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).float().div(127.5).sub(1.0).contiguous()


def batch_indices(n: int, batch: int, gen: torch.Generator) -> torch.Tensor:
    """``batch`` random indices into ``n`` items (with replacement), drawn from ``gen``."""
    return torch.randint(0, n, (batch,), generator=gen)
