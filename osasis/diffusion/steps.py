"""Single diffusion steps shared by every loop: DDIM (both directions), DDPM ancestral (optionally guided), forward
noising, and the reverse-step posterior (mean, variance) that guidance builds on.

All steps take a model-agnostic callable ``model(x, t, **cond) -> output`` where ``t`` holds *original*
timesteps and ``output`` is ε (C channels) or ε stacked with variance values (2C channels, learned σ).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import nullcontext
from typing import Any, NamedTuple

import torch

from benchmark.devices import autocast
from osasis.diffusion.schedule import Schedule

ModelFn = Callable[..., torch.Tensor]


class StepOutput(NamedTuple):
    """Result of one step: the next state, the clamped x̂0 prediction and the (re-derived) ε."""

    x_next: torch.Tensor
    x0_pred: torch.Tensor
    eps: torch.Tensor


def _index(k: int | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    if isinstance(k, torch.Tensor) and k.ndim == 1:
        return k.to(x.device)
    return torch.full((x.shape[0],), int(k), dtype=torch.long, device=x.device)


def call_model(model: ModelFn, x: torch.Tensor, t: torch.Tensor, cond: Mapping[str, Any] | None,
               precision: str | None = None) -> torch.Tensor:  # fmt: skip
    """Run ``model`` (optionally under fp16/bf16 autocast) and return its output in float32."""
    ctx = autocast(x.device, precision) if precision not in (None, "fp32") else nullcontext()
    with ctx:
        out = model(x, t, **(cond or {}))
    return out.float()


def split_output(out: torch.Tensor, channels: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(ε, variance values or None) from a model output with C or 2C channels."""
    if out.shape[1] == 2 * channels:
        return out[:, :channels], out[:, channels:]
    return out, None


def predict_x0(sched: Schedule, x: torch.Tensor, k: torch.Tensor, eps: torch.Tensor, clip: bool) -> torch.Tensor:
    """x̂0 = √(1/ᾱ)·x − √(1/ᾱ−1)·ε, clamped to [-1, 1] when ``clip``."""
    x0 = sched.coef("sqrt_recip_alphas_cumprod", k, x) * x - sched.coef("sqrt_recipm1_alphas_cumprod", k, x) * eps
    return x0.clamp(-1, 1) if clip else x0


def eps_from_x0(sched: Schedule, x: torch.Tensor, k: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
    """ε consistent with (x_t, x̂0)."""
    return (sched.coef("sqrt_recip_alphas_cumprod", k, x) * x - x0) / sched.coef("sqrt_recipm1_alphas_cumprod", k, x)


def ddim_step(model: ModelFn, x: torch.Tensor, k: int | torch.Tensor, sched: Schedule,
              cond: Mapping[str, Any] | None = None, *, inverse: bool = False, clip: bool = True,
              precision: str | None = None) -> StepOutput:  # fmt: skip
    """Deterministic DDIM (η=0) from grid index ``k`` to ``k-1`` (``inverse``: to ``k+1``, i.e. inversion).

    x̂0 is clamped to [-1, 1] and ε re-derived from the clamped x̂0, in both directions (official behaviour).
    Differentiable: call it under ``torch.no_grad()`` when gradients are not needed.
    """
    k = _index(k, x)
    eps_raw, _ = split_output(call_model(model, x, sched.model_t(k), cond, precision), x.shape[1])
    x0 = predict_x0(sched, x, k, eps_raw, clip)
    eps = eps_from_x0(sched, x, k, x0)
    target = sched.coef("alphas_cumprod_next" if inverse else "alphas_cumprod_prev", k, x)
    x_next = x0 * torch.sqrt(target) + torch.sqrt(1 - target) * eps
    return StepOutput(x_next, x0, eps)


def _randn(shape: torch.Size, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    device = generator.device if generator is not None else like.device
    return torch.randn(shape, generator=generator, device=device, dtype=like.dtype).to(like.device)


def q_sample(x0: torch.Tensor, k: int | torch.Tensor, sched: Schedule, generator: torch.Generator | None = None,
             noise: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
    """Noise clean images to grid index ``k``: √ᾱ·x0 + √(1−ᾱ)·n."""
    k = _index(k, x0)
    noise = _randn(x0.shape, x0, generator) if noise is None else noise
    return sched.coef("sqrt_alphas_cumprod", k, x0) * x0 + sched.coef("sqrt_one_minus_alphas_cumprod", k, x0) * noise


class Posterior(NamedTuple):
    """The model's reverse-step distribution p(x_{k-1} | x_k) = N(mean, variance) (guided-diffusion
    ``p_mean_variance``), with the x̂0 and raw ε it was derived from."""

    mean: torch.Tensor
    variance: torch.Tensor
    log_variance: torch.Tensor
    x0_pred: torch.Tensor
    eps: torch.Tensor


def p_mean_variance(model: ModelFn, x: torch.Tensor, k: int | torch.Tensor, sched: Schedule,
                    cond: Mapping[str, Any] | None = None, *, clip: bool = True,
                    precision: str | None = None) -> Posterior:  # fmt: skip
    """Posterior mean and (learned or fixed) variance at grid index ``k``.

    With a 2C-channel output the variance is the learned interpolation (``learned_range``) between the clipped
    posterior variance and β of the (respaced) schedule; with C channels the posterior variance is used.
    Differentiable in ``x`` (guidance calls it with gradients enabled).
    """
    k = _index(k, x)
    eps_raw, var_values = split_output(call_model(model, x, sched.model_t(k), cond, precision), x.shape[1])
    x0 = predict_x0(sched, x, k, eps_raw, clip)
    mean = sched.coef("posterior_mean_coef1", k, x) * x0 + sched.coef("posterior_mean_coef2", k, x) * x
    min_log = sched.coef("posterior_log_variance_clipped", k, x)
    if var_values is not None:
        frac = (var_values + 1) / 2
        log_var = frac * sched.coef("log_betas", k, x) + (1 - frac) * min_log
    else:
        log_var = min_log
    return Posterior(mean, torch.exp(log_var), log_var, x0, eps_raw)


#: ``guidance(x, k, posterior) -> gradient``: the gradient of log p(y | x_k) that shifts the mean by Σ·gradient.
Guidance = Callable[[torch.Tensor, torch.Tensor, Posterior], torch.Tensor]


def ddpm_step(model: ModelFn, x: torch.Tensor, k: int | torch.Tensor, sched: Schedule,
              cond: Mapping[str, Any] | None = None, *, generator: torch.Generator | None = None, clip: bool = True,
              precision: str | None = None, noise: torch.Tensor | None = None,
              guidance: Guidance | None = None) -> StepOutput:  # fmt: skip
    """Ancestral DDPM step ``k → k-1`` (guided-diffusion ``p_sample``); no noise is added at ``k == 0``.

    ``noise`` (default: drawn from ``generator``) is the standard normal sample of the step. ``guidance``
    (Sohl-Dickstein conditioning, guided-diffusion ``condition_mean``) shifts the mean to ``mean + Σ·g`` with
    ``g = guidance(x, k, posterior)``; call the step with gradients enabled and ``x`` requiring grad when the
    guidance differentiates through the posterior. ``x_next`` is detached from any graph then.
    """
    k = _index(k, x)
    post = p_mean_variance(model, x, k, sched, cond, clip=clip, precision=precision)
    noise = _randn(x.shape, x, generator) if noise is None else noise
    mean = post.mean
    if guidance is not None:
        mean = mean.detach() + post.variance.detach() * guidance(x, k, post).float()
    nonzero = (k != 0).float().reshape(-1, *([1] * (x.ndim - 1)))
    x_next = mean + nonzero * torch.exp(0.5 * post.log_variance) * noise
    if guidance is not None:
        x_next = x_next.detach()
    return StepOutput(x_next, post.x0_pred, eps_from_x0(sched, x, k, post.x0_pred))
