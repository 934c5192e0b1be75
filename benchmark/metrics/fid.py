"""FID with the pytorch-fid Inception ("2015-12-05"), stylized set vs a reference set (default: style set)."""

from __future__ import annotations

import numpy as np

from benchmark import imageio
from benchmark.metrics.base import EvalSet, MetricInfo, MetricResult
from benchmark.metrics.frechet import FixedReference, check_sample_size
from benchmark.metrics.setfeatures import FeatureSetMetric


class FIDInception2015(FeatureSetMetric):
    """Fréchet Inception distance; refused when N <= dims unless ``allow_small_n=True``."""

    extractor_kind = "fid-inception"
    info = MetricInfo(
        "lower", (0.0, float("inf")),
        f"FID, pytorch-fid Inception-v3 2015-12-05 pool3 (2048-d); protocol 'reference' (default, as pytorch-fid): "
        f"native-size files, bilinear F.interpolate -> 299; 'clean': {imageio.RESIZER} RxR -> 299; stylized set vs "
        "reference set (default: the style images given); eigen-based sqrtm in float64; requires N > dims unless "
        "allow_small_n; 95% bootstrap CI over stylized inputs",
        needs=("stylized", "style"), description="Fréchet Inception distance",
    )  # fmt: skip

    def compute(self, data: EvalSet) -> MetricResult:
        x, y = self.features(data)
        note = check_sample_size(self.name, {"stylized": x.shape[0], self.opts["reference"]: y.shape[0]}, x.shape[1],
                                 bool(self.opts["allow_small_n"]))  # fmt: skip
        if note:
            self.notes.append(note)
        self.notes.append("protocol: " + self.set_protocol(data))
        self._x, self._ref = x, FixedReference(y)
        return super().compute(data)

    def compute_indices(self, data: EvalSet, indices: np.ndarray) -> float:
        return self._ref.distance(self._x[indices])
