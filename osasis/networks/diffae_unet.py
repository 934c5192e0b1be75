"""DiffAE autoencoder: conditional UNet (ε-prediction) + semantic encoder, with OSASIS content/style mixing.

Parameter names follow ``BeatGANsAutoencModel`` so that the official state dicts load strictly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.utils.checkpoint
from torch import nn

from osasis.configs import DiffAEConfig
from osasis.networks.common import AttentionBlock, Downsample, Upsample, norm_min32, timestep_embedding, zero_init
from osasis.networks.diffae_blocks import DiffAEResBlock, TimestepSequential
from osasis.networks.latentnet import MLPSkipNet


@dataclass(frozen=True)
class MixSpec:
    """Which UNet levels see z_style in mixing mode (level 0 = full resolution; decoder levels mirror encoder ones).

    ``style_levels`` are the official ``ref_cond_scale`` indices: an encoder block belongs to the level whose
    resolution it outputs (a down-sampling block belongs to the coarser level), a decoder block to the level of
    its group (a group's final up-sampling block included). ``middle`` says which code the middle block gets.
    """

    style_levels: tuple[int, ...] = (0, 1, 2, 3)
    middle: str = "input"

    def reversed(self, num_levels: int) -> MixSpec:
        """The swapped assignment (paper Fig. 8): z_style on the other levels and the middle block."""
        others = tuple(i for i in range(num_levels) if i not in self.style_levels)
        return MixSpec(others, "style" if self.middle == "input" else "input")


class TimeEmbed(nn.Module):
    """Time MLP stored as ``time_embed.time_embed.{0,2}`` (DiffAE's ``TimeStyleSeperateEmbed``)."""

    def __init__(self, channels: int, out_channels: int) -> None:
        super().__init__()
        self.time_embed = nn.Sequential(nn.Linear(channels, out_channels), nn.SiLU(),
                                        nn.Linear(out_channels, out_channels))  # fmt: skip

    def forward(self, t_emb: torch.Tensor) -> torch.Tensor:
        return self.time_embed(t_emb)


class SemanticEncoder(nn.Module):
    """Half-UNet with unconditioned ResBlocks and a pooled 1x1-conv head: image → z_sem."""

    def __init__(self, cfg: DiffAEConfig) -> None:
        super().__init__()
        mult = cfg.enc_channel_mult or cfg.channel_mult
        attn = cfg.enc_attn_resolutions or cfg.attention_resolutions
        ch = int(mult[0] * cfg.model_channels)
        self.input_blocks = nn.ModuleList([TimestepSequential(nn.Conv2d(cfg.in_channels, ch, 3, padding=1))])
        res = cfg.image_size
        for level, m in enumerate(mult):
            for _ in range(cfg.enc_num_res_block):
                out = int(m * cfg.model_channels)
                layers: list[nn.Module] = [DiffAEResBlock(ch, None, cfg.dropout, out, use_condition=False)]
                ch = out
                if res in attn:
                    layers.append(AttentionBlock(ch, cfg.num_heads, cfg.num_head_channels))
                self.input_blocks.append(TimestepSequential(*layers))
            if level != len(mult) - 1:
                res //= 2
                down = (DiffAEResBlock(ch, None, cfg.dropout, ch, use_condition=False, down=True)
                        if cfg.resblock_updown else Downsample(ch, cfg.conv_resample))  # fmt: skip
                self.input_blocks.append(TimestepSequential(down))
        self.middle_block = TimestepSequential(
            DiffAEResBlock(ch, None, cfg.dropout, use_condition=False),
            AttentionBlock(ch, cfg.num_heads, cfg.num_head_channels),
            DiffAEResBlock(ch, None, cfg.dropout, use_condition=False),
        )
        self.out = nn.Sequential(norm_min32(ch), nn.SiLU(), nn.AdaptiveAvgPool2d((1, 1)),
                                 nn.Conv2d(ch, cfg.enc_out_channels, 1), nn.Flatten())  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.float()
        for block in self.input_blocks:
            h = block(h)
        return self.out(self.middle_block(h).type(x.dtype))


class DiffAEAutoencoder(nn.Module):
    """``BeatGANsAutoencModel``: UNet ε(x_t, t, z_sem) + ``encoder`` (+ ``latent_net`` when configured).

    ``forward(x, t, cond)`` is the plain conditional ε-prediction; with ``cond_style`` it runs OSASIS mixing,
    feeding ``cond_style`` to the levels of ``mix`` and ``cond`` (z_in) elsewhere.
    """

    def __init__(self, cfg: DiffAEConfig) -> None:
        super().__init__()
        self.config = cfg
        n = cfg.num_levels
        kw = dict(two_cond=True, zero_out=cfg.resnet_use_zero_module, cond_channels=cfg.enc_out_channels)
        emb = cfg.embed_channels
        self.time_embed = TimeEmbed(cfg.model_channels, emb)
        ch = input_ch = int(cfg.channel_mult[0] * cfg.model_channels)
        self.input_blocks = nn.ModuleList([TimestepSequential(nn.Conv2d(cfg.in_channels, ch, 3, padding=1))])
        self.input_levels: list[int] = [0]
        skip_chans: list[list[int]] = [[] for _ in range(n)]
        skip_chans[0].append(ch)
        res = cfg.image_size
        for level, m in enumerate(cfg.channel_mult):
            for _ in range(cfg.num_input_res_blocks or cfg.num_res_blocks):
                out = int(m * cfg.model_channels)
                layers: list[nn.Module] = [DiffAEResBlock(ch, emb, cfg.dropout, out, **kw)]
                ch = out
                if res in cfg.attention_resolutions:
                    layers.append(AttentionBlock(ch, cfg.num_heads, cfg.num_head_channels))
                self._add(self.input_blocks, self.input_levels, layers, level)
                skip_chans[level].append(ch)
            if level != n - 1:
                res //= 2
                down = (DiffAEResBlock(ch, emb, cfg.dropout, ch, down=True, **kw)
                        if cfg.resblock_updown else Downsample(ch, cfg.conv_resample))  # fmt: skip
                self._add(self.input_blocks, self.input_levels, [down], level + 1)
                skip_chans[level + 1].append(ch)
        self.middle_block = TimestepSequential(
            DiffAEResBlock(ch, emb, cfg.dropout, **kw),
            AttentionBlock(ch, cfg.num_heads, cfg.num_head_channels),
            DiffAEResBlock(ch, emb, cfg.dropout, **kw),
        )
        self.output_blocks = nn.ModuleList()
        self.output_levels: list[int] = []
        for level, m in list(enumerate(cfg.channel_mult))[::-1]:
            for i in range(cfg.num_res_blocks + 1):
                ich = skip_chans[level].pop() if skip_chans[level] else 0
                out = int(cfg.model_channels * m)
                layers = [DiffAEResBlock(ch + ich, emb, cfg.dropout, out, has_lateral=ich > 0, **kw)]
                ch = out
                if res in cfg.attention_resolutions:
                    layers.append(AttentionBlock(ch, cfg.num_heads, cfg.num_head_channels))
                if level and i == cfg.num_res_blocks:
                    res *= 2
                    layers.append(DiffAEResBlock(ch, emb, cfg.dropout, ch, up=True, **kw)
                                  if cfg.resblock_updown else Upsample(ch, cfg.conv_resample))  # fmt: skip
                self._add(self.output_blocks, self.output_levels, layers, level)
        conv = nn.Conv2d(input_ch, cfg.out_channels, 3, padding=1)
        self.out = nn.Sequential(norm_min32(ch), nn.SiLU(), zero_init(conv) if cfg.resnet_use_zero_module else conv)
        self.encoder = SemanticEncoder(cfg)
        if cfg.latent_net is not None:
            self.latent_net = MLPSkipNet(cfg.latent_net)

    @staticmethod
    def _add(blocks: nn.ModuleList, levels: list[int], layers: list[nn.Module], level: int) -> None:
        blocks.append(TimestepSequential(*layers))
        levels.append(level)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Semantic code z_sem of images in [-1, 1]."""
        return self.encoder(x)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor, cond_style: torch.Tensor | None = None,
                mix: MixSpec | None = None) -> torch.Tensor:  # fmt: skip
        """ε-prediction. ``t``: original timesteps (N,); ``cond``: z_sem (N, C); ``cond_style``: mixing code."""
        emb = self.time_embed(timestep_embedding(t, self.config.model_channels))
        if cond_style is None:
            enc_cond = [cond] * len(self.input_blocks)
            dec_cond = [cond] * len(self.output_blocks)
            mid_cond = cond
        else:
            mix = mix or MixSpec(self.config.style_levels)
            enc_cond = [cond_style if lv in mix.style_levels else cond for lv in self.input_levels]
            dec_cond = [cond_style if lv in mix.style_levels else cond for lv in self.output_levels]
            mid_cond = cond_style if mix.middle == "style" else cond
        run = self._run_block
        skips: list[list[torch.Tensor]] = [[] for _ in range(self.config.num_levels)]
        h = x.float()
        for block, level, c in zip(self.input_blocks, self.input_levels, enc_cond):
            h = run(block, h, emb=emb, cond=c)
            skips[level].append(h)
        h = run(self.middle_block, h, emb=emb, cond=mid_cond)
        for block, level, c in zip(self.output_blocks, self.output_levels, dec_cond):
            lateral = skips[level].pop() if skips[level] else None
            h = run(block, h, emb=emb, cond=c, lateral=lateral)
        return self.out(h)

    #: Recompute each UNet block in the backward pass instead of storing its activations (fine-tuning memory).
    #: Same values and gradients (dropout masks are replayed: ``preserve_rng_state``); off by default.
    gradient_checkpointing: bool = False

    def _run_block(self, block: nn.Module, h: torch.Tensor, **kwargs: object) -> torch.Tensor:
        if self.gradient_checkpointing and torch.is_grad_enabled():
            return torch.utils.checkpoint.checkpoint(block, h, use_reentrant=False, **kwargs)
        return block(h, **kwargs)
