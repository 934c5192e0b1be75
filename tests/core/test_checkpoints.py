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


def test_mapped_archives_are_private_and_reading_is_the_default(tmp_path) -> None:
    path = tmp_path / "w.pt"
    torch.save({"w": torch.arange(6.0)}, path)
    mapped = load_restricted(path, "t", mmap=True)["w"]
    mapped += 1  # a private mapping: the file keeps its bytes
    read = load_tensors(path, "t")
    assert torch.equal(read["w"], torch.arange(6.0))
    torch.save(read, path)  # rewriting a file in place is safe after a plain (read, not mapped) load
    assert torch.equal(load_tensors(path, "t")["w"], torch.arange(6.0))


def _pair() -> torch.nn.Sequential:
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))


def test_assign_takes_over_file_tensors_with_the_same_values(tmp_path) -> None:
    source = _pair()
    state = {k: v.clone() for k, v in source.state_dict().items()}
    copied, assigned, again = _pair(), _pair(), _pair()
    load_state_strict(copied, state, "f", "t")
    load_state_strict(assigned, state, "f", "t", assign=True)
    x = torch.randn(5, 3)
    assert torch.equal(copied.eval()(x), assigned.eval()(x))
    assert assigned[0].weight.data_ptr() == state["0.weight"].data_ptr()  # taken over, not copied
    assert assigned[0].weight.requires_grad and isinstance(assigned[0].weight, torch.nn.Parameter)
    load_state_strict(again, state, "f", "t", assign=True)  # the same tensors again: copies
    assert again[0].weight.data_ptr() != state["0.weight"].data_ptr()
    with torch.no_grad():
        again[0].weight += 1
    assert torch.equal(assigned[0].weight, state["0.weight"])


def test_assign_casts_and_keeps_ties(tmp_path) -> None:
    half = {k: v.half() for k, v in _pair().state_dict().items() if v.is_floating_point()}
    half["1.num_batches_tracked"] = torch.tensor(3)
    module = _pair()
    load_state_strict(module, half, "f", "t", assign=True)
    assert module[0].weight.dtype == torch.float32 and torch.equal(module[0].weight, half["0.weight"].float())
    tied = torch.nn.Sequential(torch.nn.Linear(3, 3, bias=False), torch.nn.Linear(3, 3, bias=False))
    tied[1].weight = tied[0].weight
    state = {"0.weight": torch.randn(3, 3), "1.weight": torch.randn(3, 3)}
    load_state_strict(tied, state, "f", "t", assign=True)  # falls back to copying: the tie survives
    assert tied[1].weight is tied[0].weight
