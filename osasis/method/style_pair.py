"""The photorealistic counterpart I_A^style of the style image (official ``gen_style_domA.py``, spec §2).

The (resized) style image is noised with the P2 FFHQ DDPM to respaced index ``int(n·ratio)`` (t≈510 for the
official 50-step respacing) and denoised by the ancestral learned-variance steps back to 0 (x̂0 clipped). With
``n > 1`` candidates, the one with the lowest 10·L1 + LPIPS-VGG to the style image is kept. Each candidate's noise
comes from ``benchmark.seeding.generator(seed, "osasis-style-pair", <reference hash>, i)``.

The result is cached as a PNG keyed by the reference content, the P2 file, its config and the settings, so the
finetune stage, reruns and other stages reuse the same image (it is also copied into the method's workdir).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from benchmark import assets, imageio
from benchmark.seeding import generator as seeded_generator
from osasis.api import sdedit

log = logging.getLogger(__name__)
Scorer = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class StylePairSettings:
    respacing: int = 50
    t_start_ratio: float = 0.5
    n: int = 1
    seed: int = 0
    size: int = 256  # the P2 model's resolution


@lru_cache(maxsize=16)
def _file_hash(path: str, size: int, mtime_ns: int) -> str:
    return assets.sha256_file(path)


def file_hash(path: str | Path) -> str:
    """SHA-256 of a file (memoised per (path, size, mtime))."""
    stat = Path(path).stat()
    return _file_hash(str(path), stat.st_size, stat.st_mtime_ns)


def cache_key(reference: Path, model_file: Path, model_config: str, settings: StylePairSettings) -> str:
    """Key of a cached counterpart: reference bytes + P2 file + config + settings."""
    payload = json.dumps({"ref": file_hash(reference), "model": file_hash(model_file), "config": model_config,
                          **settings.__dict__}, sort_keys=True)  # fmt: skip
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def default_cache_dir() -> Path:
    return assets.cache_dir() / "osasis" / "style_pair"


def generate(model: torch.nn.Module, style: torch.Tensor, settings: StylePairSettings, ref_key: str,
             score: Scorer | None = None) -> torch.Tensor:  # fmt: skip
    """Best-of-n SDEdit of ``style`` (1,3,R,R in [-1,1]) with the P2 model; returns (1,3,R,R) in [-1,1]."""
    best, best_score = None, float("inf")
    for i in range(settings.n):
        gen = seeded_generator(settings.seed, "osasis-style-pair", ref_key, i)
        out = sdedit(model, style, respacing=settings.respacing, t_start_ratio=settings.t_start_ratio,
                     generator=gen).clamp(-1, 1)  # fmt: skip
        if settings.n == 1:
            return out
        value = float(10 * (out - style).abs().mean() + (score(out, style).mean() if score else 0.0))
        if value < best_score:
            best, best_score = out, value
    assert best is not None
    return best


def photoreal_counterpart(reference: Path, model_file: Path, model_config: str, settings: StylePairSettings,
                          load_model: Callable[[], torch.nn.Module], *, device: torch.device,
                          cache_dir: Path | None = None,
                          score: Scorer | None = None) -> tuple[torch.Tensor, Path]:  # fmt: skip
    """I_A^style for ``reference`` (1,3,size,size in [-1,1]) and its cached PNG; computed only on a cache miss."""
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    ref_key = file_hash(reference)[:16]
    path = cache_dir / f"{cache_key(reference, model_file, model_config, settings)}.png"
    if not path.is_file():
        log.info("osasis: generating the photoreal counterpart of %s -> %s", Path(reference).name, path)
        style = imageio.load_image(reference, settings.size)[None].to(device) * 2 - 1
        with torch.no_grad():
            out = generate(load_model(), style, settings, ref_key, score)
        imageio.save_png(((out[0] + 1) / 2).clamp(0, 1).cpu(), path)
    return imageio.load_image(path, settings.size)[None].to(device) * 2 - 1, path
