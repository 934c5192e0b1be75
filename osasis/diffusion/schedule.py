"""Noise schedules and timestep respacing (DDIM ``ddimN`` grids and guided-diffusion ``space_timesteps``).

Coefficients are computed in float64 and cast to float32 when indexed, as the official samplers do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from benchmark.errors import ConfigError

T_DEFAULT = 1000


def linear_betas(num_timesteps: int = T_DEFAULT, beta_start: float = 1e-4, beta_end: float = 0.02) -> np.ndarray:
    """Linear β schedule (scaled by 1000/T so any T spans the same noise range), float64."""
    scale = 1000 / num_timesteps
    return np.linspace(scale * beta_start, scale * beta_end, num_timesteps, dtype=np.float64)


def space_timesteps(num_timesteps: int, section_counts: str | int | Sequence[int]) -> list[int]:
    """Kept original timesteps, sorted (guided-diffusion semantics).

    ``"ddimN"``: the integer stride ``s`` with ``len(range(0, T, s)) == N`` (grid 0, s, 2s, ...). Otherwise each
    of the equal sections of ``[0, T)`` keeps ``count`` steps evenly spaced with a fractional stride, rounded.
    """
    if isinstance(section_counts, str):
        if section_counts.startswith("ddim"):
            desired = int(section_counts[len("ddim"):])
            for stride in range(1, num_timesteps):
                if len(range(0, num_timesteps, stride)) == desired:
                    return list(range(0, num_timesteps, stride))
            raise ConfigError(f"cannot make exactly {desired} DDIM steps out of {num_timesteps} with an integer stride")
        section_counts = [int(x) for x in section_counts.split(",")]
    if isinstance(section_counts, int):
        section_counts = [section_counts]
    size_per, extra = divmod(num_timesteps, len(section_counts))
    start, kept = 0, []
    for i, count in enumerate(section_counts):
        size = size_per + (1 if i < extra else 0)
        if size < count:
            raise ConfigError(f"cannot divide a section of {size} steps into {count}")
        frac_stride = 1 if count <= 1 else (size - 1) / (count - 1)
        cur = 0.0
        for _ in range(count):
            kept.append(start + round(cur))
            cur += frac_stride
        start += size
    return sorted(set(kept))


def ddim_timesteps(n_steps: int, num_timesteps: int = T_DEFAULT) -> list[int]:
    """The official DDIM grid with ``n_steps`` points: 0, T/n, 2T/n, ..."""
    return space_timesteps(num_timesteps, f"ddim{n_steps}")


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


@dataclass(frozen=True)
class Schedule:
    """A (possibly respaced) diffusion. Grid index ``k`` stands for original timestep ``timesteps[k]``."""

    timesteps: torch.Tensor
    betas: torch.Tensor
    alphas_cumprod: torch.Tensor
    alphas_cumprod_prev: torch.Tensor
    alphas_cumprod_next: torch.Tensor
    posterior_variance: torch.Tensor
    posterior_log_variance_clipped: torch.Tensor
    posterior_mean_coef1: torch.Tensor
    posterior_mean_coef2: torch.Tensor

    @classmethod
    def from_betas(cls, base_betas: np.ndarray, use_timesteps: Sequence[int] | None = None) -> Schedule:
        """Respace ``base_betas`` to ``use_timesteps`` (all steps when None), re-deriving the betas."""
        base_ac = np.cumprod(1.0 - base_betas)
        keep = sorted(use_timesteps) if use_timesteps is not None else list(range(len(base_betas)))
        keep_set, last, betas = set(keep), 1.0, []
        for i, ac in enumerate(base_ac):
            if i in keep_set:
                betas.append(1 - ac / last)
                last = ac
        b = np.array(betas, dtype=np.float64)
        ac = np.cumprod(1.0 - b)
        ac_prev = np.append(1.0, ac[:-1])
        ac_next = np.append(ac[1:], 0.0)
        post_var = b * (1.0 - ac_prev) / (1.0 - ac)
        return cls(
            timesteps=torch.tensor(keep, dtype=torch.long),
            betas=_t(b),
            alphas_cumprod=_t(ac),
            alphas_cumprod_prev=_t(ac_prev),
            alphas_cumprod_next=_t(ac_next),
            posterior_variance=_t(post_var),
            posterior_log_variance_clipped=_t(np.log(np.append(post_var[1], post_var[1:]))),
            posterior_mean_coef1=_t(b * np.sqrt(ac_prev) / (1.0 - ac)),
            posterior_mean_coef2=_t((1.0 - ac_prev) * np.sqrt(1.0 - b) / (1.0 - ac)),
        )

    @classmethod
    def ddim(cls, n_steps: int, num_timesteps: int = T_DEFAULT) -> Schedule:
        """Linear-β schedule on the official ``ddimN`` grid (DiffAE samplers)."""
        return cls.from_betas(linear_betas(num_timesteps), ddim_timesteps(n_steps, num_timesteps))

    @classmethod
    def respaced(cls, spec: str | int | Sequence[int], num_timesteps: int = T_DEFAULT) -> Schedule:
        """Linear-β schedule respaced like guided-diffusion's ``--timestep_respacing spec``."""
        return cls.from_betas(linear_betas(num_timesteps), space_timesteps(num_timesteps, spec))

    def __len__(self) -> int:
        return len(self.timesteps)

    def coef(self, name: str, k: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Float64 coefficient ``name`` (or a derived ``sqrt_*``) at grid indices ``k``, float32, broadcast to x."""
        arr = {
            "sqrt_recip_alphas_cumprod": lambda: torch.sqrt(1.0 / self.alphas_cumprod),
            "sqrt_recipm1_alphas_cumprod": lambda: torch.sqrt(1.0 / self.alphas_cumprod - 1),
            "sqrt_alphas_cumprod": lambda: torch.sqrt(self.alphas_cumprod),
            "sqrt_one_minus_alphas_cumprod": lambda: torch.sqrt(1.0 - self.alphas_cumprod),
            "log_betas": lambda: torch.log(self.betas),
        }.get(name, lambda: getattr(self, name))()
        out = arr.to(k.device)[k].float()
        return out.reshape(-1, *([1] * (x.ndim - 1)))

    def model_t(self, k: torch.Tensor) -> torch.Tensor:
        """Original timesteps fed to the network for grid indices ``k``."""
        return self.timesteps.to(k.device)[k]
