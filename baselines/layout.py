"""Fingerprints of checkpoint layouts (names and shapes, not values)."""

from __future__ import annotations

import hashlib

import torch


def layout_digest(module: torch.nn.Module) -> tuple[int, str]:
    """Number of state-dict entries and the SHA-256 of its sorted ``key:shape`` lines."""
    sd = module.state_dict()
    text = "\n".join(f"{k}:{tuple(v.shape)}" for k, v in sorted(sd.items()))
    return len(sd), hashlib.sha256(text.encode()).hexdigest()
