"""Shared contract tests for stylization methods (importable by third-party plug-in packages).

Use it in a pytest module::

    class TestMyMethod(MethodContract):
        method_name = "my-method"

        def tiny_config(self, tmp_path):
            return {"iterations": 2}

Every registered method must pass these with tiny settings on CPU: output count, names, size and
value range; determinism with a seed; batch-size and input-order independence; a clean, named error
and no partial output for a corrupt input.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from PIL import Image

from benchmark.errors import InvalidImageError
from benchmark.methods import runner

CONTRACT_RESOLUTION = 32


def randomize(module: torch.nn.Module, seed: int, scale: float = 0.1) -> torch.nn.Module:
    """Overwrite every parameter with deterministic N(0, scale²) noise (1-d ``*weight`` norms near 1), so that
    zero-initialised layers give non-trivial outputs in tests; returns the module in eval mode."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=g) * scale
            p.copy_(1 + noise if name.endswith("weight") and p.ndim == 1 else noise)
    return module.eval()


def make_test_images(folder: Path, n: int = 5, size: int = 40, seed: int = 0) -> list[Path]:
    """Write ``n`` small RGB PNGs (gradients, discs and noise) with unsorted-looking names."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    yy, xx = np.mgrid[0:size, 0:size] / size
    for i in range(n):
        base = np.stack([xx * rng.uniform(0.3, 1), yy * rng.uniform(0.3, 1), (xx + yy) / 2], axis=-1)
        cy, cx, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.3)
        disc = ((yy - cy) ** 2 + (xx - cx) ** 2) < r**2
        base[disc] = rng.uniform(0, 1, size=3)
        base += rng.normal(0, 0.03, size=base.shape)
        img = Image.fromarray((np.clip(base, 0, 1) * 255).astype(np.uint8), "RGB")
        path = folder / f"img_{(i * 7) % n:02d}{'b' if i % 2 else 'a'}.png"
        img.save(path)
        paths.append(path)
    return sorted(paths)


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.png"))}


class MethodContract:
    """Mixin of contract tests; subclasses set ``method_name`` and may override ``tiny_config``."""

    method_name: ClassVar[str]
    resolution: ClassVar[int] = CONTRACT_RESOLUTION
    seed: ClassVar[int] = 1234

    def tiny_config(self, tmp_path: Path) -> dict[str, Any]:
        """Parameters that make the method fast on CPU (override per method)."""
        return {}

    def make_method(self, tmp_path: Path, seed: int | None = None):
        return runner.build(self.method_name, self.tiny_config(tmp_path), "cpu",
                            self.seed if seed is None else seed, self.resolution)  # fmt: skip

    @pytest.fixture
    def contract_setup(self, tmp_path: Path) -> dict[str, Path]:
        inputs = tmp_path / "inputs"
        make_test_images(inputs, n=5)
        reference_dir = tmp_path / "ref"
        reference = make_test_images(reference_dir, n=1, size=48, seed=99)[0]
        workdir = tmp_path / "work"
        runner.finetune(self.make_method(tmp_path), reference, workdir)
        return {"inputs": inputs, "reference": reference, "workdir": workdir, "tmp": tmp_path}

    def _stylize(self, setup: dict[str, Path], out: str, batch_size: int = 2, seed: int | None = None) -> Path:
        out_dir = setup["tmp"] / out
        method = self.make_method(setup["tmp"], seed)
        runner.stylize_folder(method, setup["reference"], setup["workdir"], setup["inputs"], out_dir, batch_size)
        return out_dir

    def test_outputs_match_inputs(self, contract_setup: dict[str, Path]) -> None:
        out_dir = self._stylize(contract_setup, "out")
        inputs = sorted(p.stem for p in contract_setup["inputs"].glob("*.png"))
        outputs = sorted(p.stem for p in out_dir.glob("*.png"))
        assert outputs == inputs
        assert not list(out_dir.glob("*.jpg")) and (out_dir / runner.CONFIG_FILE).is_file()
        for path in out_dir.glob("*.png"):
            with Image.open(path) as img:
                assert img.format == "PNG" and img.mode == "RGB"
                assert img.size == (self.resolution, self.resolution)
                arr = np.asarray(img)
                assert arr.std() > 0, f"{path.name} is a flat image"

    def test_deterministic_with_seed(self, contract_setup: dict[str, Path]) -> None:
        first = _digests(self._stylize(contract_setup, "run1"))
        second = _digests(self._stylize(contract_setup, "run2"))
        assert first == second

    def test_batch_size_independent(self, contract_setup: dict[str, Path]) -> None:
        one = self._stylize(contract_setup, "bs1", batch_size=1)
        many = self._stylize(contract_setup, "bs5", batch_size=5)
        for path in one.glob("*.png"):
            a = np.asarray(Image.open(path), dtype=np.int16)
            b = np.asarray(Image.open(many / path.name), dtype=np.int16)
            assert np.abs(a - b).max() <= 1, f"{path.name} differs between batch sizes"

    def test_corrupt_input_fails_cleanly(self, contract_setup: dict[str, Path]) -> None:
        bad = contract_setup["inputs"] / "zz_corrupt.png"
        good = next(contract_setup["inputs"].glob("*.png")).read_bytes()
        bad.write_bytes(good[: len(good) // 3])
        out_dir = contract_setup["tmp"] / "bad_out"
        with pytest.raises(InvalidImageError, match="zz_corrupt.png"):
            self._stylize(contract_setup, "bad_out")
        assert not out_dir.exists()
        assert not [p for p in out_dir.parent.iterdir() if p.name.startswith(".bad_out")]
