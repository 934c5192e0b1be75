"""DiffAE residual block with two conditions: time scale/shift, then a z_sem scale (``resnet_two_cond``)."""

from __future__ import annotations

import torch
from torch import nn

from osasis.networks.common import Downsample, Upsample, norm_min32, zero_init


class DiffAEResBlock(nn.Module):
    """``in_layers`` (GN, SiLU, conv3x3) → [GN·(1+s_t)+b_t]·(1+s_z) → SiLU → dropout → conv3x3, plus a skip.

    Without ``use_condition`` (the semantic encoder) the block is only ``skip(x) + in_layers(x)``.
    """

    def __init__(self, channels: int, emb_channels: int | None, dropout: float, out_channels: int | None = None, *,
                 use_condition: bool = True, two_cond: bool = True, cond_channels: int | None = None,
                 up: bool = False, down: bool = False, has_lateral: bool = False,
                 zero_out: bool = True) -> None:  # fmt: skip
        super().__init__()
        out_channels = out_channels or channels
        self.use_condition = use_condition
        self.two_cond = two_cond and use_condition
        self.has_lateral = has_lateral
        self.in_layers = nn.Sequential(norm_min32(channels), nn.SiLU(), nn.Conv2d(channels, out_channels, 3, padding=1))
        self.updown = up or down
        if up:
            self.h_upd: nn.Module = Upsample(channels, False)
            self.x_upd: nn.Module = Upsample(channels, False)
        elif down:
            self.h_upd = Downsample(channels, False)
            self.x_upd = Downsample(channels, False)
        else:
            self.h_upd = self.x_upd = nn.Identity()
        if use_condition:
            assert emb_channels is not None
            self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb_channels, 2 * out_channels))
            if self.two_cond:
                self.cond_emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(cond_channels or emb_channels, out_channels))
            conv = nn.Conv2d(out_channels, out_channels, 3, padding=1)
            self.out_layers = nn.Sequential(
                norm_min32(out_channels), nn.SiLU(), nn.Dropout(p=dropout), zero_init(conv) if zero_out else conv
            )
        self.skip_connection = nn.Identity() if out_channels == channels else nn.Conv2d(channels, out_channels, 1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None, cond: torch.Tensor | None = None,
                lateral: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
        if self.has_lateral:
            if lateral is None:
                raise ValueError("this decoder block needs a lateral (skip) input")
            x = torch.cat([x, lateral], dim=1)
        if self.updown:
            h = self.in_layers[:-1](x)
            h = self.in_layers[-1](self.h_upd(h))
            x = self.x_upd(x)
        else:
            h = self.in_layers(x)
        if self.use_condition:
            h = self._modulate(h, emb, cond)
        return self.skip_connection(x) + h

    def _modulate(self, h: torch.Tensor, emb: torch.Tensor | None, cond: torch.Tensor | None) -> torch.Tensor:
        h = self.out_layers[0](h)
        if emb is not None:
            scale, shift = self.emb_layers(emb).type(h.dtype)[..., None, None].chunk(2, dim=1)
            h = h * (1 + scale) + shift
            if self.two_cond and cond is not None:
                h = h * (1 + self.cond_emb_layers(cond).type(h.dtype)[..., None, None])
        return self.out_layers[1:](h)


class TimestepSequential(nn.Sequential):
    """Sequential container that forwards ``emb``/``cond``/``lateral`` to the blocks that take them."""

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None, cond: torch.Tensor | None = None,
                lateral: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
        for layer in self:
            if isinstance(layer, DiffAEResBlock):
                x = layer(x, emb=emb, cond=cond, lateral=lateral)
            else:
                x = layer(x)
        return x
