"""Building blocks shared by the UNets: timestep embedding, float32 GroupNorm, attention, resampling."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding ``[cos, sin]`` of a 1-D tensor of (possibly fractional) timesteps."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t[:, None].float() * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


class GroupNorm32(nn.GroupNorm):
    """GroupNorm computed in float32 and cast back to the input dtype."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.float()).type(x.dtype)


def norm_min32(channels: int) -> GroupNorm32:
    """DiffAE normalisation: ``min(32, channels)`` groups."""
    return GroupNorm32(min(32, channels), channels)


def norm32(channels: int) -> GroupNorm32:
    """guided-diffusion normalisation: always 32 groups."""
    return GroupNorm32(32, channels)


def zero_init(module: nn.Module) -> nn.Module:
    """Zero all parameters of ``module`` in place and return it."""
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


class Upsample(nn.Module):
    """Nearest x2 upsampling with an optional 3x3 conv (param name ``conv``)."""

    def __init__(self, channels: int, use_conv: bool, out_channels: int | None = None) -> None:
        super().__init__()
        self.channels = channels
        if use_conv:
            self.conv = nn.Conv2d(channels, out_channels or channels, 3, padding=1)
        self.use_conv = use_conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.conv(x) if self.use_conv else x


class Downsample(nn.Module):
    """x2 downsampling: strided 3x3 conv or 2x2 average pooling (param name ``op``)."""

    def __init__(self, channels: int, use_conv: bool, out_channels: int | None = None) -> None:
        super().__init__()
        if use_conv:
            self.op: nn.Module = nn.Conv2d(channels, out_channels or channels, 3, stride=2, padding=1)
        else:
            self.op = nn.AvgPool2d(kernel_size=2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


#: Attention kernel of :func:`qkv_attention_legacy`: ``einsum`` (the official formula) or ``sdpa``
#: (``F.scaled_dot_product_attention``, the same function; fused/flash kernels on GPUs). Set with
#: :func:`attention_backend`.
_ATTENTION = {"backend": "einsum"}
ATTENTION_BACKENDS = ("einsum", "sdpa")


@contextmanager
def attention_backend(name: str) -> Iterator[None]:
    """Use ``name`` (``einsum`` | ``sdpa``) for every DiffAE/ADM attention block inside the ``with`` block."""
    if name not in ATTENTION_BACKENDS:
        raise ValueError(f"attention backend must be one of {ATTENTION_BACKENDS}, got {name!r}")
    previous = _ATTENTION["backend"]
    _ATTENTION["backend"] = name
    try:
        yield
    finally:
        _ATTENTION["backend"] = previous


def qkv_attention_legacy(qkv: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Multi-head attention on ``[N, heads*3*C, T]`` with heads split before q/k/v (legacy ordering)."""
    bs, width, length = qkv.shape
    ch = width // (3 * n_heads)
    q, k, v = qkv.reshape(bs * n_heads, ch * 3, length).split(ch, dim=1)
    if _ATTENTION["backend"] == "sdpa":  # softmax(q^T k / sqrt(ch)) v^T: the einsum below, fused
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return out.transpose(1, 2).reshape(bs, -1, length)
    scale = 1 / math.sqrt(math.sqrt(ch))
    weight = torch.einsum("bct,bcs->bts", q * scale, k * scale)
    weight = torch.softmax(weight.float(), dim=-1).type(weight.dtype)
    out = torch.einsum("bts,bcs->bct", weight, v)
    return out.reshape(bs, -1, length)


class AttentionBlock(nn.Module):
    """Spatial self-attention with a residual connection (params ``norm``, ``qkv``, ``proj_out``)."""

    def __init__(self, channels: int, num_heads: int = 1, num_head_channels: int = -1,
                 norm: Callable[[int], nn.Module] | None = None) -> None:  # fmt: skip
        super().__init__()
        self.num_heads = num_heads if num_head_channels == -1 else channels // num_head_channels
        self.norm = (norm or norm_min32)(channels)
        self.qkv = nn.Conv1d(channels, channels * 3, 1)
        self.proj_out = zero_init(nn.Conv1d(channels, channels, 1))

    def forward(self, x: torch.Tensor, **_: object) -> torch.Tensor:
        b, c, *spatial = x.shape
        x = x.reshape(b, c, -1)
        h = self.proj_out(qkv_attention_legacy(self.qkv(self.norm(x)), self.num_heads))
        return (x + h).reshape(b, c, *spatial)
