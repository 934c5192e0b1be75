"""Identity similarity with dlib's 128-d face descriptor: a real, offline substitute for ArcFace.

Per image at the benchmark resolution (8-bit RGB): dlib HOG frontal face detector (1 upsample); the largest
detection is used. **No face detected** (common for strongly stylized faces): the whole image is used as the
face box, which matches FFHQ-aligned inputs (the face fills the frame); every such fallback is counted in the
result notes. Then 5-point landmarks, dlib's 150x150 face chip, ResNet descriptor; score = cosine similarity
of the content and stylized descriptors (dlib's own same-person rule is Euclidean distance < 0.6).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmark import imageio
from benchmark.features.packaged import resolve_packaged
from benchmark.metrics.base import EvalSet, MetricInfo, MetricResult, PerImageMetric
from benchmark.metrics.common import pop_options

PACKAGE = "face_recognition_models"


class DlibFaceDescriptor:
    """dlib detector + 5-point shape predictor + ResNet descriptor."""

    def __init__(self, model_path: str | Path | None = None, predictor_path: str | Path | None = None) -> None:
        import dlib

        self.dlib = dlib
        rec = resolve_packaged("dlib-face-recognition-resnet", PACKAGE,
                               "models/dlib_face_recognition_resnet_model_v1.dat", model_path)  # fmt: skip
        sp = resolve_packaged("dlib-shape-predictor-5", PACKAGE, "models/shape_predictor_5_face_landmarks.dat",
                              predictor_path)  # fmt: skip
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(sp))
        self.model = dlib.face_recognition_model_v1(str(rec))

    def describe(self, image: torch.Tensor) -> tuple[np.ndarray, bool]:
        """(128-d descriptor, whether a face was detected) of a ``3 x H x W`` [0,1] image."""
        arr = np.ascontiguousarray(np.asarray(imageio.tensor_to_pil(image)))
        dets = list(self.detector(arr, 1))
        found = bool(dets)
        if found:
            box = max(dets, key=lambda r: r.width() * r.height())
        else:
            box = self.dlib.rectangle(0, 0, arr.shape[1] - 1, arr.shape[0] - 1)
        shape = self.predictor(arr, box)
        return np.asarray(self.model.compute_face_descriptor(arr, shape), dtype=np.float64), found


class DlibIdentity(PerImageMetric):
    """cos(dlib(content_i), dlib(stylized_i))."""

    info = MetricInfo(
        "higher", (-1.0, 1.0),
        "ID similarity (offline substitute): cosine of dlib ResNet 128-d face descriptors (face_recognition_models "
        "0.3.0), content vs stylized at RxR; HOG detector, largest face, full-image box when no face is detected "
        "(counted in notes); 5-point chip 150x150; mean over images, 95% bootstrap CI",
        description="identity preservation with dlib (not ArcFace; values not comparable with OSASIS's ID)",
    )  # fmt: skip

    def __init__(self, device: str | torch.device = "cpu", batch_size: int = 16, seed: int = 0, **options: Any):
        super().__init__(device=device, batch_size=batch_size, seed=seed, **options)
        opts = pop_options(options, {"weights": None, "predictor": None}, self.name)
        self.model = DlibFaceDescriptor(opts["weights"], opts["predictor"])
        self.no_face = {"content": 0, "stylized": 0}

    def _describe(self, images: torch.Tensor, kind: str) -> np.ndarray:
        out = []
        for img in images:
            desc, found = self.model.describe(img)
            self.no_face[kind] += not found
            out.append(desc)
        return np.stack(out)

    def score(self, data: EvalSet, index: slice) -> torch.Tensor:
        a = self._describe(data.images("content")[index], "content")
        b = self._describe(data.images("stylized")[index], "stylized")
        cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)
        return torch.from_numpy(cos)

    def compute(self, data: EvalSet) -> MetricResult:
        self.no_face = {"content": 0, "stylized": 0}
        result = super().compute(data)
        result.notes.append(f"no face detected (full-image box used): content {self.no_face['content']}/{len(data)}, "
                            f"stylized {self.no_face['stylized']}/{len(data)}")  # fmt: skip
        return result
