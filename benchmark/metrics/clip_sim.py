"""CLIP-I: cosine similarity between CLIP image embeddings of each stylized image and the style reference.

Backbone deliberately different from training (OSASIS/MTG train with ViT-B/32): ViT-L/14 (OpenAI weights)
in the paper profile. Rewards copying the reference's content too; read it with the content metrics.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from benchmark.features.cache import FeatureCache
from benchmark.features.clip import CLIPImage
from benchmark.features.extractor import extract_set
from benchmark.metrics.base import EvalSet, MetricInfo, MetricResult, PerImageMetric
from benchmark.metrics.common import RANDOM_WEIGHTS_NOTE, pop_options, style_reference_index


class CLIPImageSimilarity(PerImageMetric):
    """Per-image cos(E(stylized_i), E(style)); several references: mean over them (or the same-name one)."""

    info = MetricInfo(
        "higher", (-1.0, 1.0),
        "CLIP-I: cosine of open_clip ViT-L-14 (OpenAI weights) image embeddings, stylized vs style reference; "
        "official CLIP preprocessing (bicubic to 224, centre crop, CLIP mean/std) via the suite's resizer; "
        "mean over images, 95% bootstrap CI",
        needs=("stylized", "style"), description="style similarity to the reference (CLIP image-image)",
    )  # fmt: skip

    def __init__(self, device: str | torch.device = "cpu", batch_size: int = 16, seed: int = 0, **options: Any):
        super().__init__(device=device, batch_size=batch_size, seed=seed, **options)
        self.opts = pop_options(options, {"random_weights": False, "weights": None, "arch": "ViT-L-14", "asset": None,
                                          "cache": True, "cache_dir": None}, self.name)  # fmt: skip
        if self.opts["random_weights"]:
            self.notes.append(RANDOM_WEIGHTS_NOTE)
        self.extractor = CLIPImage(self.opts["arch"], bool(self.opts["random_weights"]), self.opts["weights"], seed,
                                   self.opts["asset"]).to(self.device)  # fmt: skip
        self.cache = FeatureCache(self.opts["cache_dir"], enabled=bool(self.opts["cache"]))
        if self.opts["arch"] != "ViT-L-14":
            self.notes.append(f"CLIP backbone {self.opts['arch']} (not the protocol's ViT-L-14)")

    def compute(self, data: EvalSet) -> MetricResult:
        refs = style_reference_index(data)
        y = torch.from_numpy(extract_set(self.extractor, data, "stylized", self.batch_size, self.cache))
        s = torch.from_numpy(extract_set(self.extractor, data, "style", self.batch_size, self.cache))
        sims = F.normalize(y, dim=1) @ F.normalize(s, dim=1).T
        self._scores = torch.stack([sims[i, r].mean() for i, r in enumerate(refs)])
        return super().compute(data)

    def score(self, data: EvalSet, index: slice) -> torch.Tensor:
        return self._scores[index]


class TinyCLIPImageSimilarity(CLIPImageSimilarity):
    """Smoke substitute of ``clip-i-vitl14``: the same cosine with the smoke world's tiny CLIP (``clip-tiny-smoke``).

    Not comparable with CLIP-I numbers: a 64 px ViT trained on the procedural faces and their stylizers only.
    """

    info = MetricInfo(
        "higher", (-1.0, 1.0),
        "CLIP-I smoke substitute (NOT clip-i-vitl14): cosine of the smoke world's tiny CLIP (open_clip "
        "ViT-T-8-smoke64, manifest asset clip-tiny-smoke) image embeddings, stylized vs style reference; resized "
        "to 64 px with the suite's resizer, CLIP mean/std; mean over images, 95% bootstrap CI",
        needs=("stylized", "style"), description="style similarity to the reference (tiny smoke CLIP, substitute)",
    )  # fmt: skip

    def __init__(self, device: str | torch.device = "cpu", batch_size: int = 16, seed: int = 0, **options: Any):
        options.setdefault("arch", "ViT-T-8-smoke64")
        options.setdefault("asset", "clip-tiny-smoke")
        super().__init__(device=device, batch_size=batch_size, seed=seed, **options)
        self.notes = [n for n in self.notes if not n.startswith("CLIP backbone")]
        self.notes.append("smoke substitute of clip-i-vitl14 (tiny CLIP trained on the smoke world)")
