"""``skipped_init``: modules built for a strict load skip torch's random initialisation, and nothing else changes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from benchmark.checkpoints import INIT_FUNCTIONS, load_state_strict, skipped_init
from benchmark.errors import CheckpointError


def test_skipped_init_then_strict_load_equals_a_normal_build() -> None:
    torch.manual_seed(0)
    reference = nn.Sequential(nn.Conv2d(3, 8, 3), nn.GroupNorm(2, 8), nn.Linear(8, 4), nn.LayerNorm(4))
    state = {k: v.clone() for k, v in reference.state_dict().items()}
    with skipped_init():
        built = nn.Sequential(nn.Conv2d(3, 8, 3), nn.GroupNorm(2, 8), nn.Linear(8, 4), nn.LayerNorm(4))
    load_state_strict(built, state, "mem", "test net")
    x = torch.randn(2, 3, 5, 5)
    assert all(torch.equal(a, b) for a, b in zip(built.state_dict().values(), state.values(), strict=True))
    assert torch.equal(built[:2](x), reference[:2](x))


def test_the_global_rng_is_not_advanced_and_init_functions_come_back() -> None:
    originals = {name: getattr(nn.init, name) for name in INIT_FUNCTIONS}
    before = torch.random.get_rng_state()
    with skipped_init():
        nn.Linear(64, 64)
        nn.Conv2d(8, 8, 3)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert {name: getattr(nn.init, name) for name in INIT_FUNCTIONS} == originals
    nn.Linear(4, 4)
    assert not torch.equal(torch.random.get_rng_state(), before)  # a normal build draws again


def test_init_functions_come_back_after_an_error() -> None:
    originals = {name: getattr(nn.init, name) for name in INIT_FUNCTIONS}
    with pytest.raises(CheckpointError), skipped_init():
        built = nn.Linear(3, 2)
        load_state_strict(built, {"weight": torch.zeros(2, 3)}, "mem", "test net")  # no bias: a named error
    assert {name: getattr(nn.init, name) for name in INIT_FUNCTIONS} == originals
