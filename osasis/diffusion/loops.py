"""Sampling loops with one shared signature, and the SPN-augmented DDIM step used in training and inference."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import nn

from benchmark.progress import progress as progress_bar
from osasis.diffusion.schedule import Schedule
from osasis.diffusion.steps import ModelFn, StepOutput, ddim_step, ddpm_step

StepCallback = Callable[[int, int, StepOutput], None]
METHODS = ("ddim", "ddim_inverse", "ddpm")


def spn_offset(spn: nn.Module, image: torch.Tensor, k: int | torch.Tensor, weight: float) -> torch.Tensor:
    """λ·SPN(image, k) with ``k`` the grid index (official SPN time input)."""
    if not isinstance(k, torch.Tensor) or k.ndim == 0:
        k = torch.full((image.shape[0],), int(k), dtype=torch.long, device=image.device)
    return weight * spn(image, k)


def spn_ddim_step(model: ModelFn, x: torch.Tensor, k: int | torch.Tensor, sched: Schedule,
                  cond: Mapping[str, Any] | None = None, *, spn: nn.Module | None = None,
                  spn_image: torch.Tensor | None = None, spn_weight: float = 0.1, clip: bool = True,
                  precision: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """One reverse DDIM step with the SPN offset added first: returns ``(x_next, x0_pred)``.

    ``x' = x + spn_weight·SPN(spn_image, k)``; x̂0 and ε are both computed from ``x'``. Gradients flow to the
    model and the SPN (the official trainer detaches ``x_next`` between steps; do that in the caller).
    """
    if spn is not None and spn_weight != 0:
        if spn_image is None:
            raise ValueError("spn_image (the clean input image) is required when an SPN is given")
        x = x + spn_offset(spn, spn_image, k, spn_weight)
    out = ddim_step(model, x, k, sched, cond, clip=clip, precision=precision)
    return out.x_next, out.x0_pred


def sample_loop(model: ModelFn, x: torch.Tensor, sched: Schedule, indices: Iterable[int],
                cond: Mapping[str, Any] | None = None, *, method: str = "ddim",
                generator: torch.Generator | None = None, spn: nn.Module | None = None,
                spn_image: torch.Tensor | None = None, spn_weight: float = 0.1, clip: bool = True,
                precision: str | None = None, progress: bool = False, desc: str = "",
                callback: StepCallback | None = None) -> torch.Tensor:  # fmt: skip
    """Run ``method`` over the grid ``indices`` (in the given order) and return the final state.

    ``method``: ``ddim`` (generation, k → k-1), ``ddim_inverse`` (inversion, k → k+1) or ``ddpm`` (ancestral,
    needs ``generator`` for reproducibility). SPN offsets apply to generation steps only. ``callback(i, k, out)``
    is called after every step. Runs without gradients unless the caller enabled them.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {METHODS}")
    if spn is not None and method == "ddim_inverse":
        raise ValueError("the SPN is not used during inversion")
    indices = list(indices)
    iterator = progress_bar(indices, desc=desc or method, total=len(indices)) if progress else indices
    for i, k in enumerate(iterator):
        if spn is not None and spn_weight != 0:
            x = x + spn_offset(spn, spn_image, k, spn_weight)
        if method == "ddpm":
            out = ddpm_step(model, x, k, sched, cond, generator=generator, clip=clip, precision=precision)
        else:
            out = ddim_step(model, x, k, sched, cond, inverse=method == "ddim_inverse", clip=clip, precision=precision)
        x = out.x_next
        if callback is not None:
            callback(i, int(k), out)
    return x
