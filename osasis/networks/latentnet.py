"""DiffAE latent DPM network (``MLPSkipNet``): predicts ε for normalised z_sem."""

from __future__ import annotations

import torch
from torch import nn

from osasis.configs import LatentNetConfig
from osasis.networks.common import timestep_embedding


class MLPLNAct(nn.Module):
    """Linear → ·(bias + Linear(SiLU(t_emb))) → LayerNorm → SiLU → dropout (last layer: Linear only).

    ``linear_emb`` is registered twice (also as ``cond_layers.1``), as in the official state dict.
    """

    def __init__(self, in_ch: int, out_ch: int, *, norm: bool, act: bool, use_cond: bool, cond_ch: int,
                 condition_bias: float, dropout: float) -> None:  # fmt: skip
        super().__init__()
        self.condition_bias = condition_bias
        self.use_cond = use_cond
        self.linear = nn.Linear(in_ch, out_ch)
        self.act: nn.Module = nn.SiLU() if act else nn.Identity()
        if use_cond:
            self.linear_emb = nn.Linear(cond_ch, out_ch)
            self.cond_layers = nn.Sequential(self.act, self.linear_emb)
        self.norm: nn.Module = nn.LayerNorm(out_ch) if norm else nn.Identity()
        self.dropout: nn.Module = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        for m in self.modules():
            if isinstance(m, nn.Linear) and act:
                nn.init.kaiming_normal_(m.weight, a=0, nonlinearity="relu")

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        x = self.linear(x)
        if self.use_cond:
            x = x * (self.condition_bias + self.cond_layers(cond))
        return self.dropout(self.act(self.norm(x)))


class MLPSkipNet(nn.Module):
    """Latent ε-network: ``forward(z, t) -> eps`` (z normalised with the latent.pkl statistics)."""

    def __init__(self, cfg: LatentNetConfig) -> None:
        super().__init__()
        self.config = cfg
        c, hid = cfg.num_channels, cfg.num_hid_channels
        time_layers: list[nn.Module] = []
        for i in range(cfg.num_time_layers):
            time_layers.append(nn.Linear(cfg.num_time_emb_channels if i == 0 else c, c))
            if i < cfg.num_time_layers - 1 or cfg.time_last_act:
                time_layers.append(nn.SiLU())
        self.time_embed = nn.Sequential(*time_layers)
        self.layers = nn.ModuleList()
        for i in range(cfg.num_layers):
            last = i == cfg.num_layers - 1
            a = c if i == 0 else hid
            b = c if last else hid
            if i in cfg.skip_layers:
                a += c
            self.layers.append(MLPLNAct(a, b, norm=cfg.use_norm and not last, act=not last, use_cond=not last,
                                        cond_ch=c, condition_bias=cfg.condition_bias,
                                        dropout=0.0 if last else cfg.dropout))  # fmt: skip

    def forward(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        cond = self.time_embed(timestep_embedding(t, self.config.num_time_emb_channels))
        h = z
        for i, layer in enumerate(self.layers):
            if i in self.config.skip_layers:
                h = torch.cat([h, z], dim=1)
            h = layer(h, cond)
        return h
