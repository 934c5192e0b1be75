"""guided-diffusion ``UNetModel`` (ADM), as used by the P2-weighting FFHQ-256 DDPM (``ffhq_p2.pt``)."""

from __future__ import annotations

import torch
from torch import nn

from osasis.configs import ADMConfig
from osasis.networks.common import AttentionBlock, Downsample, Upsample, norm32, timestep_embedding, zero_init


class ADMResBlock(nn.Module):
    """GN → SiLU → conv, time FiLM (scale-shift norm or additive), SiLU → dropout → zero conv, plus a skip."""

    def __init__(self, channels: int, emb_channels: int, dropout: float, out_channels: int | None = None, *,
                 scale_shift: bool = True, up: bool = False, down: bool = False) -> None:  # fmt: skip
        super().__init__()
        out_channels = out_channels or channels
        self.scale_shift = scale_shift
        self.in_layers = nn.Sequential(norm32(channels), nn.SiLU(), nn.Conv2d(channels, out_channels, 3, padding=1))
        self.updown = up or down
        if up:
            self.h_upd: nn.Module = Upsample(channels, False)
            self.x_upd: nn.Module = Upsample(channels, False)
        elif down:
            self.h_upd = Downsample(channels, False)
            self.x_upd = Downsample(channels, False)
        else:
            self.h_upd = self.x_upd = nn.Identity()
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb_channels, (2 if scale_shift else 1) * out_channels))
        self.out_layers = nn.Sequential(norm32(out_channels), nn.SiLU(), nn.Dropout(p=dropout),
                                        zero_init(nn.Conv2d(out_channels, out_channels, 3, padding=1)))  # fmt: skip
        self.skip_connection = nn.Identity() if out_channels == channels else nn.Conv2d(channels, out_channels, 1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        if self.updown:
            h = self.in_layers[-1](self.h_upd(self.in_layers[:-1](x)))
            x = self.x_upd(x)
        else:
            h = self.in_layers(x)
        emb_out = self.emb_layers(emb).type(h.dtype)[..., None, None]
        if self.scale_shift:
            scale, shift = emb_out.chunk(2, dim=1)
            h = self.out_layers[1:](self.out_layers[0](h) * (1 + scale) + shift)
        else:
            h = self.out_layers(h + emb_out)
        return self.skip_connection(x) + h


class ADMSequential(nn.Sequential):
    """Sequential that passes the time embedding to residual blocks."""

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        for layer in self:
            x = layer(x, emb) if isinstance(layer, ADMResBlock) else layer(x)
        return x


class ADMUNet(nn.Module):
    """``forward(x, t) -> (eps, variance values)`` stacked on channels (6 channels when ``learn_sigma``)."""

    def __init__(self, cfg: ADMConfig | None = None) -> None:
        super().__init__()
        cfg = cfg or ADMConfig()
        self.config = cfg
        mc = cfg.model_channels
        emb = mc * 4
        heads_up = cfg.num_heads if cfg.num_heads_upsample == -1 else cfg.num_heads_upsample
        attn_ds = {cfg.image_size // r for r in cfg.attention_resolutions}

        def res(c: int, out: int | None = None, **kw: bool) -> ADMResBlock:
            return ADMResBlock(c, emb, cfg.dropout, out, scale_shift=cfg.use_scale_shift_norm, **kw)

        def attn(c: int, heads: int) -> AttentionBlock:
            return AttentionBlock(c, heads, cfg.num_head_channels, norm=norm32)

        self.time_embed = nn.Sequential(nn.Linear(mc, emb), nn.SiLU(), nn.Linear(emb, emb))
        ch = input_ch = int(cfg.channel_mult[0] * mc)
        self.input_blocks = nn.ModuleList([ADMSequential(nn.Conv2d(cfg.in_channels, ch, 3, padding=1))])
        chans = [ch]
        ds = 1
        for level, m in enumerate(cfg.channel_mult):
            for _ in range(cfg.num_res_blocks):
                layers: list[nn.Module] = [res(ch, int(m * mc))]
                ch = int(m * mc)
                if ds in attn_ds:
                    layers.append(attn(ch, cfg.num_heads))
                self.input_blocks.append(ADMSequential(*layers))
                chans.append(ch)
            if level != len(cfg.channel_mult) - 1:
                down = res(ch, ch, down=True) if cfg.resblock_updown else Downsample(ch, cfg.conv_resample)
                self.input_blocks.append(ADMSequential(down))
                chans.append(ch)
                ds *= 2
        self.middle_block = ADMSequential(res(ch), attn(ch, cfg.num_heads), res(ch))
        self.output_blocks = nn.ModuleList()
        for level, m in list(enumerate(cfg.channel_mult))[::-1]:
            for i in range(cfg.num_res_blocks + 1):
                layers = [res(ch + chans.pop(), int(mc * m))]
                ch = int(mc * m)
                if ds in attn_ds:
                    layers.append(attn(ch, heads_up))
                if level and i == cfg.num_res_blocks:
                    layers.append(res(ch, ch, up=True) if cfg.resblock_updown else Upsample(ch, cfg.conv_resample))
                    ds //= 2
                self.output_blocks.append(ADMSequential(*layers))
        self.out = nn.Sequential(norm32(ch), nn.SiLU(), zero_init(nn.Conv2d(input_ch, cfg.out_channels, 3, padding=1)))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        emb = self.time_embed(timestep_embedding(t, self.config.model_channels))
        hs = []
        h = x.float()
        for block in self.input_blocks:
            h = block(h, emb)
            hs.append(h)
        h = self.middle_block(h, emb)
        for block in self.output_blocks:
            h = block(torch.cat([h, hs.pop()], dim=1), emb)
        return self.out(h.type(x.dtype))
