"""Identity similarity: cosine of ArcFace IR-SE50 embeddings of content and stylized face (pSp/e4e protocol).

Protocol (pSp/e4e ``IDLoss``): image in [-1, 1] resized to 256x256 (the suite's resizer), crop rows 35:223 and
cols 32:220, adaptive average pool to 112x112, IR-SE50 (``model_ir_se50.pth``, loaded strictly), L2-normalised
512-d embeddings; score = cosine(content, stylized). Assumes FFHQ-aligned faces.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from benchmark import assets, imageio
from benchmark.checkpoints import load_state_strict, load_tensors
from benchmark.errors import ConfigError
from benchmark.features.extractor import weights_id
from benchmark.metrics.base import EvalSet, MetricInfo, PerImageMetric
from benchmark.metrics.common import RANDOM_WEIGHTS_NOTE, pop_options, to_minus_one_one

ASSET = "arcface-ir-se50"


def arcface_crop(images: torch.Tensor) -> torch.Tensor:
    """[0,1] images -> the 112x112 [-1,1] ArcFace input of pSp/e4e."""
    x = to_minus_one_one(imageio.resize(images, 256))
    return F.adaptive_avg_pool2d(x[:, :, 35:223, 32:220], (112, 112))


class ArcFaceIdentity(PerImageMetric):
    """cos(ArcFace(content_i), ArcFace(stylized_i))."""

    info = MetricInfo(
        "higher", (-1.0, 1.0),
        f"ID similarity: cosine of ArcFace IR-SE50 (model_ir_se50.pth, TreB1eN/pSp) embeddings, content vs stylized; "
        f"pSp/e4e crop: {imageio.RESIZER} to 256, rows 35:223, cols 32:220, adaptive avg-pool 112, [-1,1]; "
        f"mean over images, 95% bootstrap CI",
        description="identity preservation (OSASIS Table 1 'ID')",
    )  # fmt: skip

    def __init__(self, device: str | torch.device = "cpu", batch_size: int = 16, seed: int = 0, **options: Any):
        super().__init__(device=device, batch_size=batch_size, seed=seed, **options)
        from benchmark.nets.ir_se import ir_se50

        opts = pop_options(options, {"random_weights": False, "weights": None, "width": 64}, self.name)
        random_weights = bool(opts["random_weights"])
        if int(opts["width"]) != 64 and not random_weights:
            raise ConfigError(f"{self.name}: width != 64 is only for tests with random_weights=True")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net = ir_se50(width=int(opts["width"]))
        file = None
        if random_weights:
            self.notes.append(RANDOM_WEIGHTS_NOTE)
        else:
            file = assets.resolve(ASSET, opts["weights"])
            load_state_strict(self.net, load_tensors(file, "ArcFace IR-SE50"), file, "ArcFace IR-SE50")
        self.weights = weights_id(ASSET, file, random_weights, seed)
        self.net.eval().requires_grad_(False).to(self.device)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(arcface_crop(images).to(self.device))

    def score(self, data: EvalSet, index: slice) -> torch.Tensor:
        a = self.embed(data.images("content")[index])
        b = self.embed(data.images("stylized")[index])
        return (F.normalize(a, dim=1) * F.normalize(b, dim=1)).sum(dim=1)
