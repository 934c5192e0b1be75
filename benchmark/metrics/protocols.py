"""Input protocols of the metrics that have a reference implementation (FID, KID, ArtFID, structure distance).

* ``reference`` reproduces the reference implementation from the files on disk: decoding as
  ``Image.open(p).convert("RGB")`` + ``ToTensor`` at native size, then the implementation's own resizing and
  normalisation: pytorch-fid resizes inside its Inception wrapper to 299x299 (bilinear ``F.interpolate``,
  ``align_corners=False``) and maps to [-1, 1]; art-fid feeds the images at native size, in [0, 1], to its art
  Inception and computes LPIPS-Alex at native size; Splice applies torchvision ``Resize(224, max_size=480)``
  (bilinear, antialiased) and ImageNet normalisation before DINO. Statistics as the reference: float64 mean and
  (N-1) covariance of the float32 features. It is the default.
* ``clean`` is the suite's single-resizer discipline: every image resized once to ``R x R`` with
  :func:`benchmark.imageio.resize` (PIL bicubic on float data), then each network's resize, if any, with the same
  resizer.

Every result records its mode (``MetricResult.protocol_mode``); a report refuses to mix the two
(:func:`check_single_mode`).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from benchmark.errors import ConfigError

PROTOCOLS = ("reference", "clean")
DEFAULT = "reference"


class ProtocolMixError(ConfigError):
    """Results computed under different input protocols were about to be shown side by side."""


def check_protocol(value: object, metric: str) -> str:
    """The validated ``protocol`` option of ``metric``."""
    if value not in PROTOCOLS:
        raise ConfigError(f"{metric}: protocol must be one of {PROTOCOLS}, got {value!r}")
    return str(value)


def check_single_mode(modes: Iterable[object], where: str) -> str | None:
    """The one protocol mode among ``modes`` (missing values ignored); two different modes raise."""
    found = sorted({str(m) for m in modes if isinstance(m, str) and m})
    if len(found) > 1:
        raise ProtocolMixError(
            f"{where}: results computed under different metric protocols {found} cannot share a table; "
            "re-evaluate with one protocol (the metric option `protocol`: reference or clean)"
        )
    return found[0] if found else None


def size_batches(images: list[torch.Tensor], batch_size: int) -> Iterable[tuple[int, torch.Tensor]]:
    """Consecutive runs of equally sized images stacked into batches of at most ``batch_size``:
    (start index, ``B x 3 x H x W``)."""
    start = 0
    while start < len(images):
        end = start + 1
        shape = images[start].shape
        while end < len(images) and end - start < batch_size and images[end].shape == shape:
            end += 1
        yield start, torch.stack(images[start:end])
        start = end
