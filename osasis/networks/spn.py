"""Structure-Preserving Network (OSASIS ``MappingNetTime``): 1x1 convs with timestep FiLM, fed the clean image."""

from __future__ import annotations

import torch
from torch import nn

from osasis.configs import SPNConfig
from osasis.networks.common import timestep_embedding


class SPNBlock(nn.Module):
    """GN → SiLU → 1x1 conv → GN, then ·(1+scale)+shift from the time embedding, then SiLU → 1x1 conv."""

    def __init__(self, in_ch: int, out_ch: int, emb_ch: int, groups: int) -> None:
        super().__init__()
        self.pre_layer = nn.Sequential(nn.GroupNorm(groups, in_ch), nn.SiLU(), nn.Conv2d(in_ch, out_ch, 1),
                                       nn.GroupNorm(groups, out_ch))  # fmt: skip
        self.post_layer = nn.Sequential(nn.SiLU(), nn.Conv2d(out_ch, out_ch, 1))
        self.emb_layer = nn.Sequential(nn.SiLU(), nn.Linear(emb_ch, out_ch * 2))

    def forward(self, x: torch.Tensor, t_emb: torch.Tensor) -> torch.Tensor:
        scale, shift = self.emb_layer(t_emb)[..., None, None].chunk(2, dim=1)
        return self.post_layer(self.pre_layer(x) * (1 + scale) + shift)


class SPN(nn.Module):
    """``forward(image, k) -> offset``: image in [-1, 1] (N,3,H,W); ``k`` the DDIM grid index (N,)."""

    def __init__(self, cfg: SPNConfig | None = None) -> None:
        super().__init__()
        cfg = cfg or SPNConfig()
        self.config = cfg
        c0, c1, c2 = cfg.channels
        self.in_layer = nn.Sequential(nn.Conv2d(cfg.in_channels, c0, 1))
        self.block1 = SPNBlock(c0, c1, cfg.embed_channels, cfg.num_groups)
        self.block2 = SPNBlock(c1, c2, cfg.embed_channels, cfg.num_groups)
        self.out_layer = nn.Sequential(nn.Conv2d(c2, cfg.in_channels, 1))
        self.time_embed = nn.Sequential(nn.Linear(cfg.time_channels, cfg.embed_channels), nn.SiLU(),
                                        nn.Linear(cfg.embed_channels, cfg.embed_channels))  # fmt: skip

    def forward(self, x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        t_emb = self.time_embed(timestep_embedding(k, self.config.time_channels))
        return self.out_layer(self.block2(self.block1(self.in_layer(x), t_emb), t_emb))
