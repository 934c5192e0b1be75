"""The metric registry. Names encode the protocol (backbone, weights), e.g. ``lpips-alex`` vs ``lpips-vgg``.

Built-in metrics are lazy entries (their heavy imports wait until first use); third-party metrics can be
added with the ``osasis_bench.metrics`` entry-point group.
"""

from __future__ import annotations

from typing import Any

from benchmark.metrics.base import Metric
from benchmark.registry import Registry

METRICS: Registry[Metric] = Registry("metric", Metric, "osasis_bench.metrics")

_BUILTIN = {
    "lpips-alex": "benchmark.metrics.lpips:LPIPSAlex",
    "lpips-vgg": "benchmark.metrics.lpips:LPIPSVGG",
    "gt-lpips-vgg": "benchmark.metrics.lpips:GroundTruthLPIPSVGG",
    "gt-lpips-alex": "benchmark.metrics.lpips:GroundTruthLPIPSAlex",
    "ssim": "benchmark.metrics.ssim:SSIM",
    "gt-ssim": "benchmark.metrics.ssim:GroundTruthSSIM",
    "fid-inception2015": "benchmark.metrics.fid:FIDInception2015",
    "kid-inception2015": "benchmark.metrics.kid:KIDInception2015",
    "fid-artinception": "benchmark.metrics.artfid:FIDArtInception",
    "artfid": "benchmark.metrics.artfid:ArtFID",
    "id-arcface-irse50": "benchmark.metrics.identity:ArcFaceIdentity",
    "id-dlib-resnet": "benchmark.metrics.identity_dlib:DlibIdentity",
    "structure-dino-vitb8": "benchmark.metrics.structure:DinoStructure",
    "clip-i-vitl14": "benchmark.metrics.clip_sim:CLIPImageSimilarity",
    "clip-i-tiny-smoke": "benchmark.metrics.clip_sim:TinyCLIPImageSimilarity",
    "gram-vgg16": "benchmark.metrics.gram:GramVGG16",
    "fid-vgg16": "benchmark.metrics.vgg_substitutes:FIDVGG16",
    "artfid-vgg16": "benchmark.metrics.vgg_substitutes:ArtFIDVGG16",
    "structure-vgg16": "benchmark.metrics.vgg_substitutes:StructureVGG16",
}
for _name, _target in _BUILTIN.items():
    METRICS.add_lazy(_name, _target)


def create_metric(name: str, **kwargs: Any) -> Metric:
    """Instantiate the metric registered under ``name`` (kwargs: device, batch_size, seed, options)."""
    return METRICS.get(name)(**kwargs)


def metric_names() -> list[str]:
    return METRICS.names()


__all__ = ["METRICS", "create_metric", "metric_names"]
