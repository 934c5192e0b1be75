"""Inception-v3 feature extractors: the FID "2015-12-05" network (pytorch-fid port) and art-fid's art Inception.

* ``FIDInception``: pytorch-fid's architecture (torchvision Inception3 with the FID-patched Mixed blocks),
  weights ``pt_inception-2015-12-05-6726825d.pth`` loaded strictly from a local file via the manifest (never
  downloaded). Preprocessing: the suite's resizer (PIL bicubic, float) to 299x299, then ``2x - 1``.
* ``ArtInception``: art-fid's Inception3 (standard torchvision blocks, two classifier heads we do not use),
  weights ``art_inception.pth``. Preprocessing as art-fid: images in [0, 1], no normalisation, no resize
  (they enter at the benchmark resolution). The feature path is loaded strictly; the heads are ignored.

``dims`` picks the tap as in pytorch-fid: 64 (first max-pool), 192 (second max-pool), 768 (Mixed_6e),
2048 (final average pool). Small taps exist for fast tests.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from benchmark import assets, imageio
from benchmark.checkpoints import load_state_strict, load_tensors, require_keys
from benchmark.errors import CheckpointError, ConfigError, InvalidImageError
from benchmark.features.extractor import FeatureExtractor, weights_id

DIMS = (64, 192, 768, 2048)
_BLOCKS = (
    ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1"),
    ("Conv2d_3b_1x1", "Conv2d_4a_3x3", "maxpool2"),
    ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"),
    ("Mixed_7a", "Mixed_7b", "Mixed_7c"),
)


def _fid_inception_architecture() -> nn.Module:
    from pytorch_fid.inception import (
        FIDInceptionA,
        FIDInceptionC,
        FIDInceptionE_1,
        FIDInceptionE_2,
        _inception_v3,  # fmt: skip
    )

    net = _inception_v3(num_classes=1008, aux_logits=False, weights=None)
    net.Mixed_5b = FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = FIDInceptionE_1(1280)
    net.Mixed_7c = FIDInceptionE_2(2048)
    return net


def _art_inception_architecture() -> nn.Module:
    import torchvision

    return torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False, num_classes=1000)


class _InceptionTaps(FeatureExtractor):
    """Shared forward: run blocks up to the ``dims`` tap, global-average-pool."""

    asset: str = "?"

    def __init__(self, net: nn.Module, dims: int) -> None:
        super().__init__()
        if dims not in DIMS:
            raise ConfigError(f"{self.name}: dims must be one of {DIMS}, got {dims}")
        self.dims = dims
        n_blocks = DIMS.index(dims) + 1
        self.blocks = nn.ModuleList(nn.Sequential(*[getattr(net, n) for n in names]) for names in _BLOCKS[:n_blocks])
        self.requires_grad_(False)
        self.eval()

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        return images

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.prepare(images)
        for block in self.blocks:
            x = block(x)
        return torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)


def _random_init(builder, seed: int) -> nn.Module:
    """Seeded random weights; He-normal convolutions so activations neither vanish nor explode through
    the ~50 layers (torch's default init shrinks them towards a constant, which makes FID ~ 0)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = builder()
        for module in net.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
        return net


class FIDInception(_InceptionTaps):
    """pytorch-fid's FID Inception (TF 2015-12-05 weights)."""

    asset = "fid-inception-2015"

    def __init__(self, dims: int = 2048, random_weights: bool = False, path: str | Path | None = None, seed: int = 0,
                 protocol: str = "clean"):  # fmt: skip
        file = None
        if random_weights:
            net = _random_init(_fid_inception_architecture, seed)
        else:
            file = assets.resolve(self.asset, path)
            net = _fid_inception_architecture()
            raw = load_tensors(file, "FID Inception")
            state = require_keys(raw, ["Conv2d_1a_3x3.conv.weight"], file, "FID Inception")
            load_state_strict(net, state, file, "FID Inception")
        self.name = f"fid-inception2015-d{dims}"
        self.protocol = protocol
        if protocol == "reference":
            self.preprocessing = (f"reference (pytorch-fid): native-size file, bilinear F.interpolate to 299x299 "
                                  f"(align_corners=False), x*2-1, pool tap dims={dims}")  # fmt: skip
        else:
            self.preprocessing = f"{imageio.RESIZER} to 299x299, x*2-1, pool tap dims={dims}"
        self.weights = weights_id(self.asset, file, random_weights, seed, init="he-normal")
        self.random_weights = random_weights
        super().__init__(net, dims)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        if self.protocol == "reference":
            resized = torch.nn.functional.interpolate(images, size=(299, 299), mode="bilinear", align_corners=False)
            return 2 * resized - 1
        return imageio.resize(images, 299) * 2.0 - 1.0


ART_MIN_SIZE = 75  # the smallest input Inception-v3's stride pattern accepts


_ART_HEADS = ("fc1.", "fc2.", "AuxLogits1.", "AuxLogits2.", "fc.", "AuxLogits.")


class ArtInception(_InceptionTaps):
    """art-fid's Inception-v3 fine-tuned on art; features from the 2048-d average pool (or a smaller tap)."""

    asset = "art-inception"

    def __init__(self, dims: int = 2048, random_weights: bool = False, path: str | Path | None = None, seed: int = 0,
                 protocol: str = "clean"):  # fmt: skip
        file = None
        if random_weights:
            net = _random_init(_art_inception_architecture, seed)
        else:
            file = assets.resolve(self.asset, path)
            net = _art_inception_architecture()
            raw = load_tensors(file, "art Inception")
            state = require_keys(raw, ["Conv2d_1a_3x3.conv.weight"], file, "art Inception")
            body = {k: v for k, v in state.items() if not k.startswith(_ART_HEADS)}
            own = {k: v for k, v in net.state_dict().items() if not k.startswith(_ART_HEADS)}
            missing = sorted(k for k in set(own) - set(body) if not k.endswith("num_batches_tracked"))
            unexpected = sorted(set(body) - set(own))
            if missing or unexpected:
                raise CheckpointError(f"art Inception: {file} does not match art-fid's Inception3: "
                                      f"missing {missing[:5]}, unexpected {unexpected[:5]}")  # fmt: skip
            net.fc = nn.Identity()
            for key, value in net.state_dict().items():  # tolerate files saved without BN step counters
                if key.endswith("num_batches_tracked"):
                    body.setdefault(key, value)
            load_state_strict(net, body, file, "art Inception")
        self.name = f"art-inception-d{dims}"
        self.protocol = protocol
        if protocol == "reference":
            self.preprocessing = (f"reference (art-fid): native-size file in [0,1], no resize, no normalisation; "
                                  f"dims={dims}")  # fmt: skip
        else:
            self.preprocessing = (f"[0,1] RGB at the benchmark resolution (no resize, no normalisation, as art-fid; "
                                  f"below {ART_MIN_SIZE} px upsampled to {ART_MIN_SIZE}); dims={dims}")  # fmt: skip
        self.weights = weights_id(self.asset, file, random_weights, seed, init="he-normal")
        self.random_weights = random_weights
        super().__init__(net, dims)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        if self.protocol == "reference":
            if min(images.shape[-2:]) < ART_MIN_SIZE and self.dims >= 768:
                raise InvalidImageError(f"art Inception (reference protocol): images of {tuple(images.shape[-2:])} px "
                                        f"are below the {ART_MIN_SIZE} px Inception-v3 accepts; art-fid fails on them "
                                        "too (use protocol: clean to upsample)")  # fmt: skip
            return images
        if min(images.shape[-2:]) < ART_MIN_SIZE and self.dims >= 768:
            return imageio.resize(images, ART_MIN_SIZE)
        return images
