"""Structure distance (Tumanyan et al., Splice, CVPR 2022), as used by OSASIS.

S(x) = cosine self-similarity matrix of the keys of the last block of DINO ViT-B/8 (all heads concatenated,
CLS token included); distance = mean over entries of (S(content) - S(stylized))^2. Input, protocol
``reference`` (default, as Splice's ``LossG``): the file at native size, torchvision ``Resize(224,
max_size=480)`` on the [0, 1] tensor (bilinear, antialiased; the patch embedding drops a remainder that is not
a multiple of 8), ImageNet mean/std, cosine similarity as Splice's ``attn_cosine_sim`` (norm product clamped at
1e-8); one image at a time. Protocol ``clean``: the image at R x R, the suite's resizer to short side
``short_side`` rounded down to a multiple of the patch size.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from benchmark import imageio
from benchmark.errors import ConfigError, PairingError
from benchmark.features.dino_vit import VIT_B8, ViTConfig, load_dino
from benchmark.features.extractor import weights_id
from benchmark.metrics.base import EvalSet, MetricInfo, PerImageMetric
from benchmark.metrics.common import RANDOM_WEIGHTS_NOTE, pop_options
from benchmark.metrics.protocols import DEFAULT as DEFAULT_PROTOCOL
from benchmark.metrics.protocols import check_protocol

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def self_similarity(keys: torch.Tensor) -> torch.Tensor:
    k = F.normalize(keys, dim=-1)
    return k @ k.transpose(1, 2)


def splice_cosine_similarity(keys: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Self-similarity as Splice's ``attn_cosine_sim``: x x^T / clamp(|x| |x|^T, eps)."""
    norm = keys.norm(dim=-1, keepdim=True)
    return (keys @ keys.transpose(1, 2)) / torch.clamp(norm @ norm.transpose(1, 2), min=eps)


def splice_resize(image: torch.Tensor) -> torch.Tensor:
    """Splice's global transform resize: torchvision ``Resize(224, max_size=480)`` on a [0, 1] tensor."""
    from torchvision.transforms import functional as TF

    return TF.resize(image, 224, max_size=480, antialias=True)


class DinoStructure(PerImageMetric):
    """MSE between key self-similarity matrices of content and stylized image."""

    info = MetricInfo(
        "lower", (0.0, 4.0),
        f"Splice structure distance: MSE of cosine self-similarity of DINO ViT-B/8 last-block keys (heads "
        f"concatenated, CLS included); protocol 'reference' (default, as Splice): native-size file, torchvision "
        f"Resize(224, max_size=480); 'clean': RxR, {imageio.RESIZER} to short side 224; ImageNet mean/std, "
        f"dino_vitbase8_pretrain.pth loaded strictly; content vs stylized; mean over images, 95% bootstrap CI",
        description="structure distance (OSASIS Table 1 'SD')",
    )  # fmt: skip

    def __init__(self, device: str | torch.device = "cpu", batch_size: int = 16, seed: int = 0, **options: Any):
        super().__init__(device=device, batch_size=batch_size, seed=seed, **options)
        opts = pop_options(options, {"random_weights": False, "weights": None, "short_side": 224,
                                     "vit_config": None, "protocol": DEFAULT_PROTOCOL}, self.name)  # fmt: skip
        self.protocol_mode = check_protocol(opts["protocol"], self.name)
        cfg = opts["vit_config"] or VIT_B8
        if isinstance(cfg, dict):
            cfg = ViTConfig(**cfg)
        if cfg != VIT_B8:
            if not opts["random_weights"]:
                raise ConfigError(f"{self.name}: a custom vit_config is only for tests with random_weights=True")
            self.notes.append(f"test ViT config {cfg} (not ViT-B/8)")
        if opts["random_weights"]:
            self.notes.append(RANDOM_WEIGHTS_NOTE)
        self.model, file = load_dino(cfg, bool(opts["random_weights"]), opts["weights"], seed)
        self.model.to(self.device)
        self.weights = weights_id("dino-vitb8", file, bool(opts["random_weights"]), seed)
        self.short_side = int(opts["short_side"])
        if self.short_side != 224 and self.protocol_mode == "reference":
            raise ConfigError(f"{self.name}: short_side applies to protocol 'clean' only (Splice resizes to 224)")
        self.notes.append(f"{self.protocol_mode} protocol")
        if self.short_side != 224:
            self.notes.append(f"short side {self.short_side} px instead of the protocol's 224")
        self.mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        h, w = images.shape[-2:]
        scale = self.short_side / min(h, w)
        size = (round(h * scale), round(w * scale))
        p = self.model.cfg.patch_size
        size = (size[0] - size[0] % p, size[1] - size[1] % p)
        return (imageio.resize(images, size).to(self.device) - self.mean) / self.std

    def splice_self_similarity(self, image: torch.Tensor) -> torch.Tensor:
        """Reference protocol: one native-size [0, 1] image -> its key self-similarity, as Splice computes it."""
        x = (splice_resize(image.unsqueeze(0).to(self.device)) - self.mean) / self.std
        return splice_cosine_similarity(self.model.last_keys(x))[0]

    def score(self, data: EvalSet, index: slice) -> torch.Tensor:
        if self.protocol_mode == "reference":
            scores = []
            for i in range(len(data))[index]:
                sa = self.splice_self_similarity(data.native("content")[i])
                sb = self.splice_self_similarity(data.native("stylized")[i])
                if sa.shape != sb.shape:
                    raise PairingError(f"{self.name} (reference protocol): content and stylized {data.names[i]} give "
                                       f"{sa.shape[0]} and {sb.shape[0]} tokens after Resize(224, max_size=480); "
                                       "their aspect ratios differ (use protocol: clean)")  # fmt: skip
                scores.append(F.mse_loss(sb, sa))
            return torch.stack(scores) if scores else torch.zeros(0)
        sa = self_similarity(self.model.last_keys(self.prepare(data.images("content")[index])))
        sb = self_similarity(self.model.last_keys(self.prepare(data.images("stylized")[index])))
        return ((sa - sb) ** 2).mean(dim=(1, 2))
