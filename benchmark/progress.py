"""Progress bars (tqdm on stderr), switched off globally with ``OSASIS_BENCH_PROGRESS=0`` or ``--no-progress``."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")
_ENABLED = os.environ.get("OSASIS_BENCH_PROGRESS", "1") not in ("0", "false", "no")


def set_enabled(enabled: bool) -> None:
    global _ENABLED
    _ENABLED = enabled


def enabled() -> bool:
    return _ENABLED


def progress(iterable: Iterable[T], desc: str = "", total: int | None = None, **kwargs: object) -> Iterable[T]:
    """Wrap ``iterable`` in a tqdm bar unless progress output is disabled."""
    return tqdm(iterable, desc=desc, total=total, disable=not _ENABLED, dynamic_ncols=True, leave=False, **kwargs)
