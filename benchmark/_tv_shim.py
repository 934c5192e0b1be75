"""Make ``import torchvision`` work on the CPU build of torch.

The torchvision 0.28.0 wheel that pairs with torch 2.13.0 is CUDA-linked: its ``_C.so`` fails to load
on a CPU-only torch, and torchvision then crashes while registering fake kernels for ``nms``/``qnms``.
:func:`install` defines those two operator schemas (with a pure-torch CPU ``nms``) *only* when the
compiled extension cannot be loaded, so on a CUDA machine it does nothing. It must run before the
first ``import torchvision``; ``benchmark/__init__.py`` and ``tests/conftest.py`` call it.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import torch

_LIBRARY: torch.library.Library | None = None


def _compiled_ops_load() -> bool:
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return True  # torchvision absent: nothing to patch
    so_path = os.path.join(list(spec.submodule_search_locations)[0], "_C.so")
    if not os.path.exists(so_path):
        return True
    try:
        torch.ops.load_library(so_path)
    except (OSError, ImportError, RuntimeError):
        return False
    return True


def _nms_cpu(dets: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    order = scores.argsort(descending=True)
    boxes = dets[order]
    x1, y1, x2, y2 = boxes.unbind(1)
    areas = (x2 - x1) * (y2 - y1)
    keep: list[int] = []
    suppressed = torch.zeros(len(order), dtype=torch.bool)
    for j in range(len(order)):
        if suppressed[j]:
            continue
        keep.append(j)
        inter_w = (torch.minimum(x2[j], x2) - torch.maximum(x1[j], x1)).clamp(min=0)
        inter_h = (torch.minimum(y2[j], y2) - torch.maximum(y1[j], y1)).clamp(min=0)
        inter = inter_w * inter_h
        suppressed |= inter / (areas[j] + areas - inter) > iou_threshold
    return order[torch.tensor(keep, dtype=torch.long)]


def install() -> bool:
    """Register the missing torchvision op schemas if needed; return True when the shim was applied."""
    global _LIBRARY
    if _LIBRARY is not None or "torchvision" in sys.modules or _compiled_ops_load():
        return False
    _LIBRARY = torch.library.Library("torchvision", "DEF")
    _LIBRARY.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _LIBRARY.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _LIBRARY.impl("nms", _nms_cpu, "CPU")
    return True


install()
