"""Safe checkpoint loading: no code execution, named errors for missing, truncated and wrong files."""

from __future__ import annotations

import os
import pickle

import pytest
import torch

from benchmark.checkpoints import PickledStub, load_restricted, load_state_strict, load_tensors
from benchmark.errors import CheckpointError


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/osasis_bench_pwned",))


def test_tensor_checkpoint_roundtrip(tmp_path) -> None:
    path = tmp_path / "w.pt"
    torch.save({"w": torch.ones(2)}, path)
    assert torch.equal(load_tensors(path, "test weights")["w"], torch.ones(2))


def test_missing_empty_truncated_named(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="not found.*nope.pt"):
        load_tensors(tmp_path / "nope.pt", "test weights")
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        load_tensors(tmp_path / "empty.pt", "test weights")
    path = tmp_path / "cut.pt"
    torch.save({"w": torch.ones(1000)}, path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(CheckpointError, match="cut.pt"):
        load_tensors(path, "test weights")
    with pytest.raises(CheckpointError, match="cut.pt"):
        load_restricted(path, "test weights")


@pytest.mark.parametrize("loader", [load_tensors, load_restricted])
def test_malicious_pickle_does_not_execute(tmp_path, loader) -> None:
    marker = "/tmp/osasis_bench_pwned"
    if os.path.exists(marker):
        os.unlink(marker)
    path = tmp_path / "evil.pt"
    torch.save({"state": _Evil()}, path)
    with pytest.raises(CheckpointError, match="evil.pt"):
        loader(path, "test weights")
    plain = tmp_path / "evil.pkl"
    plain.write_bytes(pickle.dumps({"x": _Evil()}))
    with pytest.raises(CheckpointError):
        load_restricted(plain, "test pickle")
    assert not os.path.exists(marker)


def test_foreign_classes_become_inert_stubs(tmp_path) -> None:
    import types

    module = types.ModuleType("foreign_config")

    class TrainConfig:
        def __init__(self):
            self.lr = 1e-4

    TrainConfig.__module__ = "foreign_config"
    TrainConfig.__qualname__ = "TrainConfig"
    module.TrainConfig = TrainConfig
    import sys

    sys.modules["foreign_config"] = module
    try:
        path = tmp_path / "lightning.ckpt"
        torch.save({"state_dict": {"model.w": torch.ones(1)}, "hyper_parameters": {"conf": TrainConfig()}}, path)
    finally:
        del sys.modules["foreign_config"]
    loaded = load_restricted(path, "lightning checkpoint", stub_modules=("foreign_config",))
    assert isinstance(loaded["hyper_parameters"]["conf"], PickledStub)
    assert loaded["hyper_parameters"]["conf"].state == {"lr": 1e-4}
    with pytest.raises(CheckpointError, match="not allowed"):
        load_restricted(path, "lightning checkpoint")


def test_strict_load_names_mismatches(tmp_path) -> None:
    module = torch.nn.Linear(3, 2)
    with pytest.raises(CheckpointError, match=r"w.pt.*missing keys.*bias.*shape mismatches.*weight"):
        load_state_strict(module, {"weight": torch.zeros(2, 4)}, tmp_path / "w.pt", "linear")
    load_state_strict(module, {"weight": torch.zeros(2, 3), "bias": torch.zeros(2)}, "w.pt", "linear")
