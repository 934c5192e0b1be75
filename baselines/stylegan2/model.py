"""StyleGAN2 generator and discriminator (config-F layout of rosinality/stylegan2-pytorch)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from baselines.stylegan2.layers import (
    BLUR,
    ConstantInput,
    ConvLayer,
    EqualLinear,
    PixelNorm,
    ResBlock,
    StyledConv,
    ToRGB,
)


@dataclass(frozen=True)
class StyleGAN2Config:
    """Architecture of a StyleGAN2 G/D pair.

    Channels at resolution ``r`` are ``min(max_channels, channel_base // r)``; the official
    config-F (``channel_multiplier=2``) is ``channel_base=32768, max_channels=512``.  ``channels``
    may list explicit widths per resolution instead (used when inferring from a checkpoint).
    """

    size: int = 1024
    style_dim: int = 512
    n_mlp: int = 8
    channel_base: int = 32768
    max_channels: int = 512
    lr_mlp: float = 0.01
    channels: dict[int, int] = field(default_factory=dict)

    @classmethod
    def official(cls, size: int = 1024, channel_multiplier: int = 2) -> StyleGAN2Config:
        """The rosinality ``Generator(size, 512, 8, channel_multiplier)`` configuration."""
        return cls(size=size, channel_base=16384 * channel_multiplier)

    @classmethod
    def tiny(cls, size: int = 32, style_dim: int = 32, n_mlp: int = 2, width: int = 16) -> StyleGAN2Config:
        """A cheap configuration for tests (same code, few channels)."""
        return cls(size=size, style_dim=style_dim, n_mlp=n_mlp, channel_base=width * 16, max_channels=width)

    @property
    def log_size(self) -> int:
        return int(math.log2(self.size))

    @property
    def n_latent(self) -> int:
        """Number of W+ codes (18 at 1024 px)."""
        return 2 * self.log_size - 2

    def width(self, res: int) -> int:
        if self.channels:
            return self.channels[res]
        return min(self.max_channels, self.channel_base // res)

    def __post_init__(self) -> None:
        if self.size < 8 or self.size & (self.size - 1):
            raise ValueError(f"size must be a power of two >= 8, got {self.size}")


NoiseArg = str | Sequence[torch.Tensor]


class Generator(nn.Module):
    """Mapping network ``style`` + synthesis network; forward takes W+ codes [B, n_latent, style_dim]."""

    def __init__(self, cfg: StyleGAN2Config | None = None, blur_taps: Sequence[float] = BLUR) -> None:
        super().__init__()
        cfg = cfg or StyleGAN2Config()
        self.cfg = cfg
        self.size, self.style_dim, self.log_size, self.n_latent = cfg.size, cfg.style_dim, cfg.log_size, cfg.n_latent
        mlp: list[nn.Module] = [PixelNorm()]
        mlp += [
            EqualLinear(cfg.style_dim, cfg.style_dim, lr_mul=cfg.lr_mlp, activation="fused_lrelu")
            for _ in range(cfg.n_mlp)
        ]
        self.style = nn.Sequential(*mlp)
        c4 = cfg.width(4)
        self.input = ConstantInput(c4)
        self.conv1 = StyledConv(c4, c4, cfg.style_dim, blur_taps=blur_taps)
        self.to_rgb1 = ToRGB(c4, cfg.style_dim, upsample=False)
        self.num_layers = 2 * (self.log_size - 2) + 1
        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        self.noises = nn.Module()
        for i in range(self.num_layers):
            res = 2 ** ((i + 5) // 2)
            self.noises.register_buffer(f"noise_{i}", torch.randn(1, 1, res, res))
        cin = c4
        for level in range(3, self.log_size + 1):
            cout = cfg.width(2**level)
            self.convs.append(StyledConv(cin, cout, cfg.style_dim, upsample=True, blur_taps=blur_taps))
            self.convs.append(StyledConv(cout, cout, cfg.style_dim, blur_taps=blur_taps))
            self.to_rgbs.append(ToRGB(cout, cfg.style_dim, blur_taps=blur_taps))
            cin = cout

    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        """Map z [B, style_dim] to w [B, style_dim]."""
        return self.style(z)

    @torch.no_grad()
    def mean_latent(self, n: int, rng: torch.Generator | None = None) -> torch.Tensor:
        """Average w over ``n`` random z (shape [1, style_dim])."""
        dev = self.input.input.device
        z = torch.randn(n, self.style_dim, generator=rng, device=rng.device if rng is not None else dev)
        return self.style(z.to(dev)).mean(0, keepdim=True)

    def fixed_noises(self) -> list[torch.Tensor]:
        """The stored noise buffers ``noises.noise_i`` (deterministic synthesis)."""
        return [getattr(self.noises, f"noise_{i}") for i in range(self.num_layers)]

    def random_noises(self, batch: int, rng: torch.Generator | None = None) -> list[torch.Tensor]:
        """Fresh noise maps, one per layer, drawn from ``rng``."""
        dev = self.input.input.device
        gen_dev = rng.device if rng is not None else dev
        return [
            torch.randn(batch, 1, *n.shape[-2:], generator=rng, device=gen_dev).to(dev) for n in self.fixed_noises()
        ]

    def condition_layer(self, resolution: int) -> int:
        """Index ``k`` of the upsampling conv ``convs[2k]`` whose output has ``resolution`` px (HFGI's injection
        point: ``k = log2(resolution) - 3``, i.e. ``convs[6]`` / upstream loop index ``i == 7`` at 64 px)."""
        k = int(math.log2(resolution)) - 3 if resolution > 0 else -1
        if resolution != 2 ** (k + 3) or not 0 <= k < len(self.to_rgbs):
            raise ValueError(f"no upsampling layer outputs {resolution}px in a {self.size}px generator")
        return k

    def forward(
        self,
        w_plus: torch.Tensor,
        noise: NoiseArg = "const",
        rng: torch.Generator | None = None,
        conditions: Sequence[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Synthesise images in [-1, 1] from W+ codes.

        ``noise``: ``"const"`` uses the stored buffers, ``"random"`` draws from ``rng``,
        or an explicit list of ``num_layers`` tensors.  A [B, style_dim] input is broadcast to W+.
        ``conditions``: HFGI's ``(scale, shift)`` maps [B, C, R, R]; the output of the upsampling conv at R px
        becomes ``out * (1 + scale) + shift`` before the next conv (no parameters are added).
        """
        if w_plus.ndim == 2:
            w_plus = w_plus.unsqueeze(1).expand(-1, self.n_latent, -1)
        if w_plus.shape[1] != self.n_latent:
            raise ValueError(f"expected {self.n_latent} W+ codes, got {tuple(w_plus.shape)}")
        batch = w_plus.shape[0]
        if noise == "const":
            noises: Sequence[torch.Tensor] = self.fixed_noises()
        elif noise == "random":
            noises = self.random_noises(batch, rng)
        elif isinstance(noise, str):
            raise ValueError(f"noise must be 'const', 'random' or a list of tensors, got {noise!r}")
        else:
            noises = noise
        inject_at = -1
        if conditions is not None:
            scale, shift = conditions
            inject_at = self.condition_layer(int(scale.shape[-1]))
            width = self.convs[2 * inject_at].conv.cout
            if scale.shape[1] != width or shift.shape != scale.shape:
                raise ValueError(
                    f"conditions {tuple(scale.shape)}/{tuple(shift.shape)} do not match the {width}-channel "
                    f"{scale.shape[-1]}px layer"
                )
        out = self.conv1(self.input(batch), w_plus[:, 0], noises[0])
        skip = self.to_rgb1(out, w_plus[:, 1])
        i = 1
        for k, to_rgb in enumerate(self.to_rgbs):
            out = self.convs[2 * k](out, w_plus[:, i], noises[2 * k + 1])
            if k == inject_at:
                out = out * (1 + scale) + shift
            out = self.convs[2 * k + 1](out, w_plus[:, i + 1], noises[2 * k + 2])
            skip = to_rgb(out, w_plus[:, i + 2], skip)
            i += 2
        return skip

    def sample(self, z: torch.Tensor, truncation: float = 1.0, w_avg: torch.Tensor | None = None) -> torch.Tensor:
        """Images from z with truncation toward ``w_avg`` (constant noise): ``w_avg + truncation * (w - w_avg)``.

        Any ``truncation != 1`` needs ``w_avg`` ([1, style_dim] or [style_dim]): the checkpoint's ``latent_avg``,
        or ``mean_latent(4096)`` as the official ``generate.py`` computes it. Without one this raises instead of
        silently sampling untruncated.
        """
        w = self.mapping(z)
        if truncation != 1.0:
            if w_avg is None:
                raise ValueError(
                    f"truncation={truncation} needs w_avg: pass the checkpoint's latent_avg or g.mean_latent(4096) "
                    "(the official generate.py)"
                )
            w_avg = w_avg.reshape(-1, self.style_dim)[:1].to(w)
            w = w_avg + truncation * (w - w_avg)
        return self(w)


class Discriminator(nn.Module):
    """Residual discriminator: ``convs`` (from-RGB + ResBlocks down to 4x4), minibatch-stddev,
    ``final_conv``, ``final_linear``.  :meth:`features` returns block outputs for a perceptual loss."""

    def __init__(self, cfg: StyleGAN2Config | None = None, blur_taps: Sequence[float] = BLUR) -> None:
        super().__init__()
        cfg = cfg or StyleGAN2Config()
        self.cfg = cfg
        cin = cfg.width(cfg.size)
        blocks: list[nn.Module] = [ConvLayer(3, cin, 1)]
        for level in range(cfg.log_size, 2, -1):
            cout = cfg.width(2 ** (level - 1))
            blocks.append(ResBlock(cin, cout, blur_taps))
            cin = cout
        self.convs = nn.Sequential(*blocks)
        self.stddev_group, self.stddev_feat = 4, 1
        c4 = cfg.width(4)
        self.final_conv = ConvLayer(cin + 1, c4, 3)
        self.final_linear = nn.Sequential(
            EqualLinear(c4 * 16, c4, activation="fused_lrelu"),
            EqualLinear(c4, 1),
        )

    def features(self, x: torch.Tensor, blocks: Sequence[int]) -> list[torch.Tensor]:
        """Outputs of ``convs[i]`` for each ``i`` in ``blocks`` (stops after the last one)."""
        wanted, last, feats = set(blocks), max(blocks), []
        for i, block in enumerate(self.convs):
            x = block(x)
            if i in wanted:
                feats.append(x)
            if i == last:
                break
        return feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Realness logits [B, 1]."""
        out = self.convs(x)
        b, c, h, w = out.shape
        group = min(b, self.stddev_group)
        s = out.reshape(group, -1, self.stddev_feat, c // self.stddev_feat, h, w)
        s = torch.sqrt(s.var(0, unbiased=False) + 1e-8).mean(dim=(2, 3, 4), keepdim=True).squeeze(2)
        out = torch.cat([out, s.repeat(group, 1, h, w)], dim=1)
        out = self.final_conv(out)
        return self.final_linear(out.reshape(b, -1))
