"""Safe checkpoint loading.

Two routes, both refuse to execute code from the file:

* :func:`load_tensors` uses ``torch.load(weights_only=True)``: tensors, containers and primitives only.
* :func:`load_restricted` is for formats that pickle more than tensors (Lightning checkpoints whose
  ``hyper_parameters`` hold config dataclasses and enums, DiffAE's ``latent.pkl``). Globals from the
  modules named in ``stub_modules`` are replaced by inert :class:`PickledStub` records: the file's
  classes are never imported and none of their code runs. Any other global outside a small allow
  list of torch/numpy/collections rebuild helpers is rejected.

Every failure raises :class:`~benchmark.errors.CheckpointError` naming the file and what was expected.
"""

from __future__ import annotations

import collections
import pickle
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from benchmark.errors import CheckpointError


class PickledStub:
    """Inert stand-in for an object whose class lives in a foreign code base (never imported)."""

    _module = "?"
    _qualname = "?"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __setitem__(self, key: Any, value: Any) -> None:  # dict subclasses rebuilt item by item
        if not isinstance(self.state, dict):
            self.state = {}
        self.state[key] = value

    def append(self, value: Any) -> None:  # list subclasses
        if not isinstance(self.state, list):
            self.state = []
        self.state.append(value)

    def __repr__(self) -> str:
        return f"<stub {self._module}.{self._qualname} args={self.args!r}>"


def _stub_class(module: str, qualname: str) -> type:
    return type(qualname.replace(".", "_"), (PickledStub,), {"_module": module, "_qualname": qualname})


# Globals that tensor/array checkpoints legitimately need; none of them runs arbitrary code.
_ALLOWED_GLOBALS: set[tuple[str, str]] = {
    ("collections", "OrderedDict"),
    ("collections", "defaultdict"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "slice"),
    ("builtins", "complex"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_tensor_v3"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"),
    ("torch", "Size"),
    ("torch", "device"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
}
_STORAGE_NAMES = {
    "FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage", "LongStorage", "IntStorage",
    "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage", "UntypedStorage",
}  # fmt: skip
_NUMPY_DTYPE_PREFIX = "numpy.dtypes"


def _make_unpickler_module(stub_modules: tuple[str, ...]) -> Any:
    class RestrictedUnpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if (module, name) in _ALLOWED_GLOBALS or module.startswith(_NUMPY_DTYPE_PREFIX):
                return super().find_class(module, name)
            if module == "torch" and (name in _STORAGE_NAMES or name.endswith("dtype") or name in _DTYPES):
                return super().find_class(module, name)
            if any(module == m or module.startswith(m + ".") for m in stub_modules):
                return _stub_class(module, name)
            raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed in this checkpoint")

    class _Module:
        Unpickler = RestrictedUnpickler
        UnpicklingError = pickle.UnpicklingError

        @staticmethod
        def load(file: Any, **kwargs: Any) -> Any:
            return RestrictedUnpickler(file, **kwargs).load()

    return _Module


_DTYPES = {name for name in dir(torch) if isinstance(getattr(torch, name, None), torch.dtype)}


def _check_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise CheckpointError(f"{what}: checkpoint file not found: {path}")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{what}: checkpoint file is empty: {path}")


def _describe_failure(path: Path, what: str, exc: BaseException) -> CheckpointError:
    hint = ""
    if isinstance(exc, (EOFError, zipfile.BadZipFile, RuntimeError)) and (
        "zip" in str(exc).lower() or "eof" in str(exc).lower() or isinstance(exc, EOFError)
    ):
        hint = " (the file looks truncated or corrupt; download it again)"
    return CheckpointError(f"{what}: cannot load checkpoint {path}: {type(exc).__name__}: {exc}{hint}")


def load_tensors(path: str | Path, what: str, map_location: str | torch.device = "cpu") -> Any:
    """Load a tensor-only checkpoint with ``weights_only=True``."""
    path = Path(path)
    _check_file(path, what)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a named CheckpointError
        raise _describe_failure(path, what, exc) from exc


def load_restricted(
    path: str | Path,
    what: str,
    stub_modules: Iterable[str] = (),
    map_location: str | torch.device = "cpu",
) -> Any:
    """Load a pickle-based checkpoint, replacing foreign classes by inert stubs (no code executes)."""
    path = Path(path)
    _check_file(path, what)
    module = _make_unpickler_module(tuple(stub_modules))
    try:
        return torch.load(path, map_location=map_location, weights_only=False, pickle_module=module)
    except Exception as exc:  # noqa: BLE001
        if zipfile.is_zipfile(path) or isinstance(exc, pickle.UnpicklingError):
            raise _describe_failure(path, what, exc) from exc
    # Not a torch zip archive: a plain pickle (e.g. an old-style latent.pkl).
    try:
        with path.open("rb") as handle:
            return module.load(handle)
    except Exception as exc:  # noqa: BLE001
        raise _describe_failure(path, what, exc) from exc


def require_keys(mapping: Any, keys: Iterable[str], path: str | Path, what: str) -> Mapping[str, Any]:
    """Check that a loaded checkpoint is a mapping holding ``keys``; name the file otherwise."""
    if not isinstance(mapping, Mapping):
        raise CheckpointError(f"{what}: {path} holds a {type(mapping).__name__}, expected a dict")
    missing = [k for k in keys if k not in mapping]
    if missing:
        found = sorted(map(str, mapping.keys()))[:12]
        raise CheckpointError(f"{what}: {path} lacks keys {missing}; found {found}")
    return mapping


def strip_prefix(state: Mapping[str, torch.Tensor], prefix: str) -> collections.OrderedDict:
    """Return the entries of ``state`` under ``prefix`` with the prefix removed."""
    return collections.OrderedDict((k[len(prefix) :], v) for k, v in state.items() if k.startswith(prefix))


def load_state_strict(module: torch.nn.Module, state: Mapping[str, torch.Tensor], path: str | Path, what: str) -> None:
    """``load_state_dict(strict=True)`` with an error that names the file and the key/shape mismatches."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state and tuple(own[k].shape) != tuple(state[k].shape)
    ]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {missing[:5]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {unexpected[:5]})")
        if shapes:
            parts.append(f"{len(shapes)} shape mismatches (e.g. {shapes[:3]})")
        raise CheckpointError(f"{what}: {path} does not match the expected layout: " + "; ".join(parts))
    module.load_state_dict(state, strict=True)
