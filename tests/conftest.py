"""Test-wide settings: offline hubs, no DVC analytics, quiet progress bars, the torchvision shim."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("OSASIS_BENCH_PROGRESS", "0")

import torch  # noqa: E402

import benchmark._tv_shim  # noqa: E402,F401  (before anything imports torchvision)

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
