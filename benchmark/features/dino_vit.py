"""A ViT with facebookresearch/dino's module names, so ``dino_vitbase8_pretrain.pth`` loads with strict=True.

Only what the structure distance needs: patch embedding, CLS token, position embedding (bicubic
interpolation as in DINO when the patch grid differs from the training grid), pre-norm blocks, and the **keys** of the
last block's attention (all heads concatenated, CLS included), as in Splice's ``VitExtractor``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from benchmark import assets
from benchmark.checkpoints import load_state_strict, load_tensors


@dataclass(frozen=True)
class ViTConfig:
    patch_size: int = 8
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    img_size: int = 224


VIT_B8 = ViTConfig()


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def qkv_heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        return self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv_heads(x)
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.embed_dim, eps=1e-6)
        self.attn = Attention(cfg.embed_dim, cfg.num_heads)
        self.norm2 = nn.LayerNorm(cfg.embed_dim, eps=1e-6)
        self.mlp = Mlp(cfg.embed_dim, int(cfg.embed_dim * cfg.mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, cfg.embed_dim, kernel_size=cfg.patch_size, stride=cfg.patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class DinoViT(nn.Module):
    """DINO VisionTransformer backbone (no head); ``last_keys`` gives the last block's keys."""

    def __init__(self, cfg: ViTConfig = VIT_B8) -> None:
        super().__init__()
        self.cfg = cfg
        self.patch_embed = PatchEmbed(cfg)
        n_patches = (cfg.img_size // cfg.patch_size) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n_patches + 1, cfg.embed_dim))
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.embed_dim, eps=1e-6)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    def pos_encoding(self, h: int, w: int) -> torch.Tensor:
        gh, gw = h // self.cfg.patch_size, w // self.cfg.patch_size
        cls_pos, patch_pos = self.pos_embed[:, :1], self.pos_embed[:, 1:]
        side = int(math.sqrt(patch_pos.shape[1]))
        if (gh, gw) == (side, side):
            return self.pos_embed
        grid = patch_pos.reshape(1, side, side, -1).permute(0, 3, 1, 2)
        # as DINO's interpolate_pos_encoding: scale factor with +0.1 against floating-point rounding
        grid = F.interpolate(grid, scale_factor=((gh + 0.1) / side, (gw + 0.1) / side), mode="bicubic")
        if tuple(grid.shape[-2:]) != (gh, gw):
            raise ValueError(f"position-embedding interpolation gave {tuple(grid.shape[-2:])}, expected {(gh, gw)}")
        return torch.cat([cls_pos, grid.permute(0, 2, 3, 1).reshape(1, gh * gw, -1)], dim=1)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        t = torch.cat([self.cls_token.expand(b, -1, -1), self.patch_embed(x)], dim=1)
        return t + self.pos_encoding(h, w)

    def last_keys(self, x: torch.Tensor) -> torch.Tensor:
        """Keys of the last block, heads concatenated: ``B x (1 + patches) x embed_dim``."""
        t = self.tokens(x)
        for block in self.blocks[:-1]:
            t = block(t)
        last = self.blocks[-1]
        k = last.attn.qkv_heads(last.norm1(t))[1]  # B x heads x N x d
        return k.transpose(1, 2).reshape(t.shape[0], t.shape[1], -1)

    def last_keys_and_cls(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One pass: the last block's keys (as :meth:`last_keys`) and the [CLS] token of the last block's output
        before the final norm (Splice/DiffuseIT ``get_feature_from_input(x)[-1][:, 0]``): ``(B x N x D, B x D)``."""
        t = self.tokens(x)
        for block in self.blocks[:-1]:
            t = block(t)
        last = self.blocks[-1]
        k = last.attn.qkv_heads(last.norm1(t))[1]
        keys = k.transpose(1, 2).reshape(t.shape[0], t.shape[1], -1)
        return keys, last(t)[:, 0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.tokens(x)
        for block in self.blocks:
            t = block(t)
        return self.norm(t)


def load_dino(cfg: ViTConfig = VIT_B8, random_weights: bool = False, path: str | Path | None = None, seed: int = 0,
              asset: str = "dino-vitb8") -> tuple[DinoViT, Path | None]:  # fmt: skip
    """Build the ViT and load the released DINO weights strictly (or seeded random weights)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DinoViT(cfg)
    file = None
    if not random_weights:
        file = assets.resolve(asset, path)
        state = load_tensors(file, "DINO ViT")
        if isinstance(state, dict) and "teacher" in state:  # full training checkpoints
            state = {k.removeprefix("module.").removeprefix("backbone."): v for k, v in state["teacher"].items()
                     if not k.removeprefix("module.").startswith("head")}  # fmt: skip
        load_state_strict(model, state, file, "DINO ViT")
    return model.eval().requires_grad_(False), file
