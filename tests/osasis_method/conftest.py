"""Tiny random OSASIS models written in the official layouts, and a method config pointing at them."""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import pytest  # noqa: E402
import torch  # noqa: E402
from osasis_method_helpers import write_tiny_models  # noqa: E402


@pytest.fixture(scope="session")
def tiny_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return write_tiny_models(tmp_path_factory.mktemp("osasis_tiny_models"))


@pytest.fixture(autouse=True)
def _single_thread():
    """One intra-op thread: on the shared 2-core machine, 2 threads under contention are ~10x slower."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
