"""The weight-free reference method: contract, colour maths and statistics matching."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.color import lab2rgb, rgb2lab

from benchmark.errors import ConfigError
from benchmark.methods import METHODS
from benchmark.methods.color_stats import lab_statistics, lab_to_rgb, rgb_to_lab
from benchmark.testing import MethodContract


class TestColorStatsContract(MethodContract):
    method_name = "color-stats-transfer"


def test_lab_matches_skimage() -> None:
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    ours = rgb_to_lab(x)[0].permute(1, 2, 0).numpy()
    ref = rgb2lab(x[0].permute(1, 2, 0).numpy().astype(np.float64))
    assert np.abs(ours - ref).max() < 0.02  # skimage uses slightly different XYZ constants
    back = lab2rgb(ref)
    ours_back = lab_to_rgb(torch.from_numpy(ref).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
    assert np.abs(ours_back - back).max() < 1e-3


def test_transfer_matches_reference_statistics(tmp_path) -> None:
    method = METHODS.get("color-stats-transfer")({}, resolution=32)
    ref = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(1)) * 0.5 + 0.25
    method._target = tuple(torch.tensor(v, dtype=torch.float64) for v in lab_statistics(ref))
    content = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(2)) * 0.4 + 0.3
    out = method.stylize(content, ["a", "b"])
    mean, std = lab_statistics(out[0])
    assert np.allclose(mean, method._target[0].numpy(), atol=1.0)
    assert np.allclose(std, method._target[1].numpy(), atol=1.0)


def test_strength_zero_is_identity() -> None:
    method = METHODS.get("color-stats-transfer")({"strength": 0.0}, resolution=16)
    method._target = (torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64))
    x = torch.rand(1, 3, 16, 16)
    assert torch.allclose(method.stylize(x, ["a"]), x, atol=1e-5)


def test_invalid_config_is_rejected() -> None:
    with pytest.raises(ConfigError, match="strength"):
        METHODS.get("color-stats-transfer")({"strength": 2.0})
    with pytest.raises(ConfigError, match="unknown parameters"):
        METHODS.get("color-stats-transfer")({"iterations": 3})
