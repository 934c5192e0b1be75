"""On-disk cache of GAN inversions, shared by every GAN baseline (JoJoGAN, MTG) through the inverter factory.

Inverting an input (e.g. the smoke profile's 20-step W+ LPIPS projector + HFGI residual) does not depend on
the style reference nor on the method, yet the pipeline runs it once per (method, reference) cell.  This
cache memoises it per image.

Key = SHA-256 over: a format version; torch's version, the device type and dtype; the inverter's identity
(:meth:`cache_identity` of the inverter classes: its name, every option that changes the result (mode,
base inverter, projector steps / lr / loss weights / LPIPS size / seed, input resizer), a content hash of
every network it runs (source generator, HFGI branch, e4e encoder, LPIPS net: names, dtypes, shapes and
bytes of all parameters and buffers) and the SHA-256 of the source files that define those classes and the
inverter code); and per image the exact input tensor (dtype, shape, bytes) and its name.  An entry is a
``<key>.pt`` dict of tensors (``codes`` [1, n, D], ``residual`` [1, 3, S, S] for HFGI mode ``full``),
written atomically and read back only through :func:`benchmark.checkpoints.load_tensors`; a damaged or
mismatching entry counts as a miss and is overwritten.  Misses are computed one image at a time, so an
entry does not depend on the batch it was computed in; cached and uncached runs go through the same code
and give bit-identical results.

Directory: ``$OSASIS_BENCH_INVERSION_CACHE`` if set, else ``$OSASIS_BENCH_CACHE/inversions`` (default
``~/.cache/osasis-bench/inversions``); ``OSASIS_BENCH_INVERSION_CACHE=off`` disables it.  A read-only or
full cache directory never fails a run.

DVC: the cache is deliberately *not* a declared dependency or output of any stage.  It memoises a pure
function of things the stages already declare (the generator/HFGI/LPIPS weight files, the input images,
the method parameters, the code), and every one of those enters the key by content, so a changed
dependency can only produce a miss, never a stale hit; a stage's outputs are the same bytes with a cold,
warm or disabled cache (tested), so ``dvc.lock`` stays truthful and the cache can be deleted at any time.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import io
import json
import os
import sys
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import torch

from benchmark import imageio
from benchmark.assets import cache_dir
from benchmark.checkpoints import load_tensors
from benchmark.errors import CheckpointError

INVERSION_CACHE_ENV = "OSASIS_BENCH_INVERSION_CACHE"
DISABLED = {"off", "0", "none", "false", "disabled"}
FORMAT = "osasis-bench-inversion-v1"


@dataclass
class Inversion:
    """W+ codes [B, n, D], and (HFGI mode ``full``) the residual against the source generator [B, 3, S, S]."""

    codes: torch.Tensor
    residual: torch.Tensor | None = None


class CacheableInverter(Protocol):
    """An inverter that can describe everything its result depends on (besides the image and its name)."""

    def cache_identity(self) -> dict[str, Any]: ...

    @property
    def device(self) -> torch.device: ...

    def entry_shapes(self) -> dict[str, tuple[int, ...] | None]: ...

    def invert_one(self, image: torch.Tensor, name: str) -> Inversion: ...


def default_inversion_dir() -> Path | None:
    """The inversion cache directory, or None when disabled by the environment."""
    value = os.environ.get(INVERSION_CACHE_ENV)
    if value is not None:
        return None if value.strip().lower() in DISABLED else Path(value)
    return cache_dir() / "inversions"


def tensor_digest(x: torch.Tensor, digest: Any | None = None) -> str:
    """SHA-256 of a tensor's dtype, shape and bytes (added to ``digest`` when given)."""
    own = digest if digest is not None else hashlib.sha256()
    t = x.detach().cpu().contiguous()
    own.update(f"{t.dtype}|{tuple(t.shape)}|".encode())
    own.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return own.hexdigest()


@lru_cache(maxsize=256)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def source_digest(objects: Iterable[Any]) -> dict[str, str]:
    """SHA-256 of the source file of each object's class (the code that computes the result)."""
    out: dict[str, str] = {}
    for obj in objects:
        if inspect.ismodule(obj):
            module = obj
        else:
            module = sys.modules.get((obj if inspect.isclass(obj) else type(obj)).__module__)
        file = getattr(module, "__file__", None)
        if module is not None and file and os.path.isfile(file):
            stat = os.stat(file)
            out[module.__name__] = _file_digest(file, stat.st_size, stat.st_mtime_ns)
    return dict(sorted(out.items()))


_MODULE_IDENTITIES: weakref.WeakKeyDictionary[torch.nn.Module, tuple[tuple[Any, ...], dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)


def module_identity(module: torch.nn.Module | None) -> dict[str, Any] | None:
    """Content hash of a network: every parameter and buffer, and the source of every submodule class.

    Memoised per module object while no tensor of its state was replaced or modified in place (storage
    pointers, torch's version counters and per-tensor sums unchanged), so a generator fine-tuned in place is
    hashed again.
    """
    if module is None:
        return None
    state = sorted(module.state_dict(keep_vars=True).items())
    stamp: tuple[Any, ...] = tuple((n, t.data_ptr(), t._version, tuple(t.shape), t.dtype, t.device) for n, t in state)
    if state:  # writes through ``.data`` bypass the version counters: a cheap per-tensor sum catches them
        with torch.no_grad():
            stamp += (tuple(torch.stack([t.detach().double().sum() for _, t in state]).tolist()),)
    memo = _MODULE_IDENTITIES.get(module)
    if memo is not None and memo[0] == stamp:
        return memo[1]
    digest = hashlib.sha256()
    for name, tensor in state:
        digest.update(name.encode())
        tensor_digest(tensor, digest)
    code = source_digest(module.modules())
    identity = {"class": type(module).__qualname__, "state": digest.hexdigest(), "code": code}
    _MODULE_IDENTITIES[module] = (stamp, identity)
    return identity


def entry_key(identity: str, image: torch.Tensor, name: str) -> str:
    """The key of one image (``image`` exactly as the inverter receives it) under an inverter identity."""
    digest = hashlib.sha256(identity.encode())
    encoded = name.encode()
    digest.update(b"|name|%d|" % len(encoded) + encoded)
    tensor_digest(image, digest)
    return digest.hexdigest()


class InversionCache:
    """A directory of ``<key>.pt`` inversion entries; ``root=None`` or ``enabled=False`` caches nothing."""

    def __init__(self, root: str | Path | None = None, enabled: bool = True) -> None:
        self.root = Path(root) if root is not None else default_inversion_dir()
        self.enabled = enabled and self.root is not None

    def path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}.pt"

    def get(self, key: str) -> Inversion | None:
        """The stored entry, or None (missing, damaged, or not the expected layout)."""
        if not self.enabled:
            return None
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            raw = load_tensors(path, "inversion cache entry")
        except (CheckpointError, OSError, RuntimeError, ValueError):
            return None  # a damaged entry is recomputed and overwritten
        if not isinstance(raw, dict) or raw.get("key") != key or not isinstance(raw.get("codes"), torch.Tensor):
            return None
        residual = raw.get("residual")
        if residual is not None and not isinstance(residual, torch.Tensor):
            return None
        return Inversion(raw["codes"], residual)

    def put(self, key: str, inversion: Inversion) -> None:
        if not self.enabled:
            return
        entry: dict[str, Any] = {"key": key, "codes": inversion.codes.detach().cpu().clone()}
        if inversion.residual is not None:
            entry["residual"] = inversion.residual.detach().cpu().clone()
        buffer = io.BytesIO()
        torch.save(entry, buffer)
        with contextlib.suppress(OSError):  # a read-only cache must not fail the run
            imageio.atomic_write_bytes(self.path(key), buffer.getvalue())


class CachedInverter:
    """Wraps an inverter: per image, a cache hit or ``inner.invert_one``; ``__call__`` gives the codes.

    Every image is inverted alone (hit or miss, cache on or off), so results are bit-identical with a cold,
    warm or disabled cache and do not depend on batch composition.
    """

    def __init__(self, inner: CacheableInverter, cache: InversionCache | None = None) -> None:
        self.inner = inner
        self.cache = cache if cache is not None else InversionCache()
        self.hits = 0
        self.misses = 0

    def identity(self) -> str:
        """The inverter's identity string (networks' weights hashed by content, memoised per module)."""
        payload = {
            "format": FORMAT,
            "torch": torch.__version__,
            "device": torch.device(self.inner.device).type,
            "inverter": self.inner.cache_identity(),
        }
        return json.dumps(payload, sort_keys=True, default=str)

    def _valid(self, entry: Inversion) -> bool:
        shapes = self.inner.entry_shapes()
        residual = None if entry.residual is None else tuple(entry.residual.shape)
        return tuple(entry.codes.shape) == shapes["codes"] and residual == shapes["residual"]

    def invert(self, images: torch.Tensor, names: Sequence[str]) -> Inversion:
        """Codes (and residuals) of ``images`` in [0, 1], on the inner inverter's device."""
        if len(names) != images.shape[0]:
            raise ValueError(f"{images.shape[0]} images but {len(names)} names")
        device = torch.device(self.inner.device)
        identity = self.identity() if self.cache.enabled else ""
        codes, residuals = [], []
        for image, name in zip(images, names):
            one = image[None]
            key = entry_key(identity, one, name) if self.cache.enabled else ""
            entry = self.cache.get(key) if self.cache.enabled else None
            if entry is not None and self._valid(entry):
                self.hits += 1
            else:
                entry = self.inner.invert_one(one, name)
                self.misses += 1
                self.cache.put(key, entry)
            codes.append(entry.codes.detach().to(device))
            residuals.append(None if entry.residual is None else entry.residual.detach().to(device))
        if not codes:
            raise ValueError("no images to invert")
        if any(r is None for r in residuals):
            return Inversion(torch.cat(codes))
        return Inversion(torch.cat(codes), torch.cat(residuals))  # type: ignore[arg-type]

    def __call__(self, images: torch.Tensor, names: Sequence[str]) -> torch.Tensor:
        return self.invert(images, names).codes


def cache_notes(inverter: object) -> dict[str, Any]:
    """``{"inversion_cache": {"hits", "misses"}}`` of a :class:`CachedInverter` (zeros for any other inverter),
    for the stylize cost record: hits make the measured time cheaper than the method's own cost."""
    hits, misses = getattr(inverter, "hits", 0), getattr(inverter, "misses", 0)
    return {"inversion_cache": {"hits": hits, "misses": misses}}
