"""FFHQ face alignment, written for current Pillow (LANCZOS instead of the removed ``ANTIALIAS``).

Pipeline (as in the FFHQ dataset script and JoJoGAN's ``align_face``): dlib HOG frontal detector
(1 upsampling pass), 68-point landmarks, an oriented square ``quad`` built from the eye and mouth
centres, then shrink / crop / reflect-pad-with-blur / quad transform / final resize.

Face-count policy (JoJoGAN silently keeps the *last* detection): ``"error"`` raises
:class:`MultipleFacesError`, ``"largest"`` keeps the largest box, ``"last"`` reproduces JoJoGAN.
No detection always raises :class:`NoFaceError`.  The dlib landmark file is the
``dlib-shape-predictor-68`` asset, found inside the installed ``face_recognition_models`` package.

Given the same pixels this reproduces JoJoGAN's ``align_face`` exactly (checked on the astronaut PNG
at 256 and 1024 px).  JoJoGAN decodes files with ``dlib.load_rgb_image``, whose JPEG decoder differs
from Pillow's (up to 43 grey levels on grace_hopper.jpg, moving landmarks by up to 3 px), so align
from one decoded copy (the suite decodes with Pillow) and store the aligned PNGs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.ndimage
from PIL import Image

from benchmark.errors import BenchmarkError
from benchmark.features.packaged import resolve_packaged

Policy = Literal["error", "largest", "last"]
PREDICTOR_ASSET = "dlib-shape-predictor-68"
PREDICTOR_RELPATH = "models/shape_predictor_68_face_landmarks.dat"


class AlignmentError(BenchmarkError):
    """Face alignment could not produce a crop."""


class NoFaceError(AlignmentError):
    """The detector found no face."""


class MultipleFacesError(AlignmentError):
    """Several faces were found and the policy is ``"error"``."""


@dataclass
class AlignedFace:
    """Aligned crop plus what produced it."""

    image: Image.Image
    landmarks: np.ndarray  # [68, 2] in input-image pixels (x, y)
    quad: np.ndarray  # [4, 2] corners in input-image pixels: top-left, bottom-left, bottom-right, top-right
    n_faces: int
    box: tuple[int, int, int, int]  # chosen detection (left, top, right, bottom)


def eye_centres(lm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of landmarks 36-41 (image-left eye) and 42-47 (image-right eye)."""
    return lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)


def ffhq_quad(lm: np.ndarray) -> tuple[np.ndarray, float]:
    """The FFHQ oriented crop square (4x2 corners) and its side length, from 68 landmarks."""
    lm = np.asarray(lm, dtype=np.float64)
    eye_l, eye_r = eye_centres(lm)
    eye_avg = (eye_l + eye_r) / 2
    eye_to_eye = eye_r - eye_l
    mouth_avg = (lm[48] + lm[54]) / 2
    eye_to_mouth = mouth_avg - eye_avg
    x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]
    x /= np.hypot(*x)
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.flipud(x) * [-1, 1]
    c = eye_avg + eye_to_mouth * 0.1
    quad = np.stack([c - x - y, c - x + y, c + x + y, c + x - y])
    return quad, float(np.hypot(*x) * 2)


def _default_predictor_path() -> Path:
    return resolve_packaged(PREDICTOR_ASSET, "face_recognition_models", PREDICTOR_RELPATH)


class FaceAligner:
    """Detect, landmark and FFHQ-align faces; ``output_size`` is the crop side in pixels.

    ``transform_size`` defaults to ``output_size`` as in JoJoGAN's ``align_face`` (the FFHQ script
    used 4096 then downsampled); ``policy`` decides what happens with several detections.
    """

    def __init__(
        self,
        output_size: int = 1024,
        transform_size: int | None = None,
        policy: Policy = "largest",
        enable_padding: bool = True,
        predictor_path: str | Path | None = None,
    ) -> None:
        import dlib  # optional dependency group "faces"

        if policy not in ("error", "largest", "last"):
            raise ValueError(f"policy must be 'error', 'largest' or 'last', got {policy!r}")
        self.output_size = output_size
        self.transform_size = transform_size or output_size
        self.policy = policy
        self.enable_padding = enable_padding
        path = Path(predictor_path) if predictor_path else _default_predictor_path()
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(path))

    def landmarks(self, img: Image.Image) -> tuple[np.ndarray, int, tuple[int, int, int, int]]:
        """68 landmarks of the face chosen by the policy, the number of detections and the chosen box."""
        arr = np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))
        dets = list(self.detector(arr, 1))
        if not dets:
            raise NoFaceError(f"no face detected in a {img.width}x{img.height} image")
        if len(dets) > 1 and self.policy == "error":
            raise MultipleFacesError(f"{len(dets)} faces detected; choose policy='largest' or 'last' to pick one")
        det = max(dets, key=lambda d: d.width() * d.height()) if self.policy == "largest" else dets[-1]
        shape = self.predictor(arr, det)
        lm = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)
        return lm, len(dets), (det.left(), det.top(), det.right(), det.bottom())

    def __call__(self, img: Image.Image) -> AlignedFace:
        """Align the (policy-chosen) face of ``img``; raises :class:`AlignmentError` subclasses."""
        img = img.convert("RGB")
        lm, n_faces, box = self.landmarks(img)
        quad, qsize = ffhq_quad(lm)
        out = self.warp(img, quad.copy(), qsize)
        return AlignedFace(out, lm, quad, n_faces, box)

    def warp(self, img: Image.Image, quad: np.ndarray, qsize: float) -> Image.Image:
        """FFHQ shrink, crop, reflect-pad with blurred borders, quad transform and resize."""
        out_size, t_size = self.output_size, self.transform_size
        shrink = int(np.floor(qsize / out_size * 0.5))
        if shrink > 1:
            rsize = (int(np.rint(img.width / shrink)), int(np.rint(img.height / shrink)))
            img = img.resize(rsize, Image.LANCZOS)
            quad /= shrink
            qsize /= shrink
        border = max(int(np.rint(qsize * 0.1)), 3)
        lo = np.floor(quad.min(axis=0)).astype(int)
        hi = np.ceil(quad.max(axis=0)).astype(int)
        crop = (max(lo[0] - border, 0), max(lo[1] - border, 0), min(hi[0] + border, img.width),
                min(hi[1] + border, img.height))  # fmt: skip
        if crop[2] - crop[0] < img.width or crop[3] - crop[1] < img.height:
            img = img.crop(crop)
            quad -= crop[:2]
        lo = np.floor(quad.min(axis=0)).astype(int)
        hi = np.ceil(quad.max(axis=0)).astype(int)
        pad = (max(-lo[0] + border, 0), max(-lo[1] + border, 0), max(hi[0] - img.width + border, 0),
               max(hi[1] - img.height + border, 0))  # fmt: skip
        if self.enable_padding and max(pad) > border - 4:
            img, quad = self._pad(img, quad, qsize, pad)
        img = img.transform((t_size, t_size), Image.QUAD, tuple((quad + 0.5).flatten()), Image.BILINEAR)
        if out_size < t_size:
            img = img.resize((out_size, out_size), Image.LANCZOS)
        return img

    @staticmethod
    def _pad(
        img: Image.Image, quad: np.ndarray, qsize: float, pad: tuple[int, int, int, int]
    ) -> tuple[Image.Image, np.ndarray]:
        p = np.maximum(pad, int(np.rint(qsize * 0.3)))
        arr = np.pad(np.float32(img), ((p[1], p[3]), (p[0], p[2]), (0, 0)), "reflect")
        h, w, _ = arr.shape
        yy, xx, _ = np.ogrid[:h, :w, :1]
        mask = np.maximum(
            1.0 - np.minimum(np.float32(xx) / p[0], np.float32(w - 1 - xx) / p[2]),
            1.0 - np.minimum(np.float32(yy) / p[1], np.float32(h - 1 - yy) / p[3]),
        )
        blur = qsize * 0.02
        arr += (scipy.ndimage.gaussian_filter(arr, [blur, blur, 0]) - arr) * np.clip(mask * 3.0 + 1.0, 0.0, 1.0)
        arr += (np.median(arr, axis=(0, 1)) - arr) * np.clip(mask, 0.0, 1.0)
        out = Image.fromarray(np.uint8(np.clip(np.rint(arr), 0, 255)), "RGB")
        return out, quad + p[:2]
