"""InST's embedding manager: image embedding -> attention module -> the placeholder token's input embedding.

* :class:`Attentions` has the official ``Attentions(dim=768, n_heads=8, d_head=64, dropout=0.05)`` layout and
  forward: ``net(attn2(attn1(x), x))`` with ``attn{1,2}`` ldm ``CrossAttention`` blocks (``to_q/k/v`` without bias,
  ``to_out = [Linear, Dropout]``, here diffusers' ``Attention``, which has the same parameter names) and
  ``net = [Dropout, Linear(768, 768)]``. The image embedding enters as one token, so each softmax is over a single
  key (= 1) and the result is ``net(to_out₂(to_v₂(e)))``; attn1 does not change the output.
* :func:`clip_input_image`: the official code hands the CLIP processor ``x[0].permute(1, 2, 0).numpy()
  .astype(np.uint8)`` of the image while it is still in [-1, 1]. NumPy truncates towards zero and wraps negatives,
  so -1 -> 255, (-1, 1) -> 0, 1 -> 1: an almost black picture. Reproduced by default; ``fix_uint8_cast`` maps
  [-1, 1] to [0, 255] (rounded) instead.
* :class:`PromptEncoder` replaces the token embedding at the placeholder id *before* the position embeddings are
  added, as the official ``embedding_forward`` patch of ``CLIPTextEmbeddings`` does (here a forward hook on the
  token embedding of transformers' ``CLIPTextModel``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from baselines.inst.configs import CONTEXT_DIM
from baselines.inst.tokenizer import tokenize
from benchmark.errors import ConfigError

PLACEHOLDER = "*"
ATTENTION_DIM, ATTENTION_HEADS, ATTENTION_HEAD_DIM, ATTENTION_DROPOUT = CONTEXT_DIM, 8, 64, 0.05


def _cross_attention(dim: int, heads: int, dim_head: int, dropout: float) -> nn.Module:
    from diffusers.models.attention_processor import Attention

    return Attention(query_dim=dim, heads=heads, dim_head=dim_head, dropout=dropout, bias=False, out_bias=True)


class Attentions(nn.Module):
    """The official embedding-manager attention module (same parameter names as the pickled ``Attentions``)."""

    def __init__(self, dim: int = ATTENTION_DIM, n_heads: int = ATTENTION_HEADS, d_head: int = ATTENTION_HEAD_DIM,
                 dropout: float = ATTENTION_DROPOUT) -> None:  # fmt: skip
        super().__init__()
        self.dim = dim
        self.attn1 = _cross_attention(dim, n_heads, d_head, dropout)
        self.attn2 = _cross_attention(dim, n_heads, d_head, dropout)
        self.net = nn.Sequential(nn.Dropout(dropout), nn.Linear(dim, dim))

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        h = self.attn1(x)
        h = self.attn2(h, encoder_hidden_states=x if context is None else context)
        return self.net(h)

    def placeholder_embedding(self, image_embeds: torch.Tensor) -> torch.Tensor:
        """The placeholder's token embedding (1, dim) from one image embedding (the official code needs batch 1)."""
        if image_embeds.shape[0] != 1:
            n = image_embeds.shape[0]
            raise ConfigError(f"inst: the embedding manager takes one style image at a time, got {n}")
        e = image_embeds.reshape(1, 1, self.dim)
        return self(e, e).reshape(1, self.dim)


def uint8_cast(images: torch.Tensor, fix: bool = False) -> torch.Tensor:
    """(B, 3, H, W) in [-1, 1] -> (B, H, W, 3) uint8 as the official code feeds CLIP (``fix``: proper scaling)."""
    x = images.detach().float().cpu().permute(0, 2, 3, 1)
    if fix:
        return ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    # numpy float -> uint8 on x86: truncate towards zero, then wrap modulo 256 (-1.0 -> 255)
    return torch.from_numpy(np.asarray(x.numpy()).astype(np.int64) % 256).to(torch.uint8)


class ImageTower(nn.Module):
    """Maps uint8 images (B, H, W, 3) to (B, 768) image embeddings (InST reads CLIPModel's normalised image_embeds)."""

    label = "?"

    def forward(self, images_u8: torch.Tensor) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError


class CLIPImageTower(ImageTower):
    """OpenAI CLIP ViT-L/14 image tower + projection; the HF CLIP processor (PIL backend) as in the official code."""

    label = "clip-vit-l14"

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

        self.model = model.eval().requires_grad_(False)
        self.processor = CLIPImageProcessorPil()  # CLIP defaults: shortest edge 224 bicubic, centre crop, mean/std

    @torch.no_grad()
    def forward(self, images_u8: torch.Tensor) -> torch.Tensor:
        from PIL import Image

        pil = [Image.fromarray(im.numpy()) for im in images_u8.cpu()]
        pixels = self.processor(images=pil, return_tensors="pt")["pixel_values"]
        param = next(self.model.parameters())
        embeds = self.model(pixel_values=pixels.to(param.device, param.dtype)).image_embeds.float()
        return embeds / embeds.norm(p=2, dim=-1, keepdim=True)  # CLIPModel.forward normalises image_embeds


class VGGSubstituteTower(ImageTower):
    """Smoke-profile stand-in (no offline CLIP weights): pooled, per-layer normalised ImageNet VGG16 features (the
    ``vgg16-imagenet`` embedder the other smoke methods use, 1472-d) through a fixed seeded Gaussian map to 768-d,
    L2-normalised like CLIP's image_embeds. Labelled ``vgg16-imagenet->768 (substitute)``."""

    label = "vgg16-imagenet->768 (substitute)"
    PROJECTION_SEED = 768

    def __init__(self, embedder: nn.Module, in_dim: int = 1472, out_dim: int = CONTEXT_DIM) -> None:
        super().__init__()
        self.embedder = embedder.eval().requires_grad_(False)
        gen = torch.Generator().manual_seed(self.PROJECTION_SEED)
        self.register_buffer("projection", torch.randn(in_dim, out_dim, generator=gen) / in_dim**0.5)

    @torch.no_grad()
    def forward(self, images_u8: torch.Tensor) -> torch.Tensor:
        dev = self.projection.device
        x = images_u8.to(dev).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        return F.normalize(self.embedder.embed_image(x).float() @ self.projection, dim=-1)


class PromptEncoder:
    """Conditioning of the UNet: CLIP text encoder output with the placeholder's token embedding replaced."""

    def __init__(self, text_encoder: nn.Module, placeholder_token: int) -> None:
        self.text_encoder = text_encoder
        self.placeholder_token = int(placeholder_token)

    @contextlib.contextmanager
    def _replace(self, ids: torch.Tensor, vector: torch.Tensor | None) -> Iterator[None]:
        if vector is None:
            yield
            return
        mask = (ids == self.placeholder_token)[..., None]

        def hook(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> torch.Tensor:
            return torch.where(mask.to(output.device), vector.to(output.dtype).reshape(1, 1, -1), output)

        handle = self.text_encoder.get_input_embeddings().register_forward_hook(hook)
        try:
            yield
        finally:
            handle.remove()

    def __call__(self, prompts: list[str], placeholder_vector: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 77, 768) last hidden state (final layer norm, no attention mask) for ``prompts``."""
        param = next(self.text_encoder.parameters())
        ids = tokenize(prompts).to(param.device)
        with self._replace(ids, placeholder_vector):
            return self.text_encoder(input_ids=ids).last_hidden_state
