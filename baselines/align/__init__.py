"""FFHQ-style face alignment (dlib HOG detector + 68 landmarks + the FFHQ quad transform)."""

from baselines.align.ffhq import (
    AlignedFace,
    AlignmentError,
    FaceAligner,
    MultipleFacesError,
    NoFaceError,
    eye_centres,
    ffhq_quad,
)

__all__ = [
    "AlignedFace",
    "AlignmentError",
    "FaceAligner",
    "MultipleFacesError",
    "NoFaceError",
    "eye_centres",
    "ffhq_quad",
]
