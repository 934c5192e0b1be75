"""Shared contract tests for stylization methods (importable by third-party plug-in packages).

Use it in a pytest module::

    class TestMyMethod(MethodContract):
        method_name = "my-method"

        def tiny_config(self, tmp_path):
            return {"iterations": 2}

Every registered method must pass these with tiny settings on CPU: output count, names, size and
value range; determinism with a seed; batch-size and input-order independence; a clean, named error
and no partial output for a corrupt input; refused dangerous output paths (the current folder, the inputs,
the workdir, a foreign folder, a path under a file) with the user's files intact; named errors for bad
arguments (batch size, missing/empty workdir, another reference than the fine-tuned one, no inputs); reruns
into the method's own output; ordinary (umask) file permissions; a workdir file changed, unrecorded or stray after
the fine-tune is refused with a named error before the method loads anything.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from PIL import Image

from benchmark.atomic import MARKER, OutputPathError, file_mode, umask
from benchmark.errors import BenchmarkError, CheckpointError, ConfigError, InvalidImageError
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

    # --- safety: output paths, bad arguments, permissions (issue 13) ---------------------------------------

    def _stylize_to(self, setup: dict[str, Path], out_dir: Path, batch_size: int = 2, workdir: Path | None = None,
                    reference: Path | None = None, inputs: Path | None = None) -> dict:  # fmt: skip
        method = self.make_method(setup["tmp"])
        return runner.stylize_folder(method, reference or setup["reference"], workdir or setup["workdir"],
                                     inputs or setup["inputs"], out_dir, batch_size)  # fmt: skip

    def test_dangerous_output_paths_refused(self, contract_setup: dict[str, Path],
                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
        tmp = contract_setup["tmp"]
        before = _digests(contract_setup["inputs"])
        foreign = tmp / "foreign"
        foreign.mkdir()
        (foreign / "keep.txt").write_text("user data")
        (tmp / "cwd_sentinel.txt").write_text("user data")
        (tmp / "a_file").write_text("user data")
        monkeypatch.chdir(tmp)
        for out_dir in (Path("."), tmp, contract_setup["inputs"], contract_setup["workdir"], foreign,
                        tmp / "a_file" / "out", contract_setup["reference"].parent):  # fmt: skip
            with pytest.raises(OutputPathError):
                self._stylize_to(contract_setup, out_dir)
        assert (foreign / "keep.txt").read_text() == "user data" and sorted(p.name for p in foreign.iterdir()) == [
            "keep.txt"]  # fmt: skip
        assert (tmp / "cwd_sentinel.txt").read_text() == "user data" and (tmp / "a_file").read_text() == "user data"
        assert _digests(contract_setup["inputs"]) == before
        assert (contract_setup["workdir"] / runner.CONFIG_FILE).is_file()
        assert not [p for p in tmp.iterdir() if p.name.startswith(".")], "staging folders left behind"
        with pytest.raises(OutputPathError):  # fine-tuning into a foreign folder or the inputs is refused too
            runner.finetune(self.make_method(tmp), contract_setup["reference"], foreign)
        with pytest.raises(OutputPathError):
            runner.finetune(self.make_method(tmp), contract_setup["reference"], contract_setup["inputs"])
        assert sorted(p.name for p in foreign.iterdir()) == ["keep.txt"]
        assert _digests(contract_setup["inputs"]) == before

    def test_bad_arguments_are_named_errors(self, contract_setup: dict[str, Path]) -> None:
        tmp = contract_setup["tmp"]
        out_dir = tmp / "out_bad"
        for size in (0, -1):
            with pytest.raises(ConfigError, match="batch-size"):
                self._stylize_to(contract_setup, out_dir, batch_size=size)
        with pytest.raises(ConfigError, match="does not exist"):
            self._stylize_to(contract_setup, out_dir, workdir=tmp / "missing")
        (tmp / "empty_work").mkdir()
        with pytest.raises(ConfigError, match="is empty"):
            self._stylize_to(contract_setup, out_dir, workdir=tmp / "empty_work")
        other = make_test_images(tmp / "other_ref", n=1, size=48, seed=7)[0]
        with pytest.raises(ConfigError, match="fine-tuned on"):
            self._stylize_to(contract_setup, out_dir, reference=other)
        (tmp / "no_inputs").mkdir()
        with pytest.raises(BenchmarkError, match="no input images"):
            self._stylize_to(contract_setup, out_dir, inputs=tmp / "no_inputs")
        with pytest.raises(InvalidImageError, match="not_there.png"):
            runner.finetune(self.make_method(tmp), tmp / "not_there.png", tmp / "work2")
        assert not out_dir.exists() and not (tmp / "work2").exists()

    def test_rerun_replaces_own_output_with_ordinary_permissions(self, contract_setup: dict[str, Path]) -> None:
        out_dir = contract_setup["tmp"] / "again"
        self._stylize_to(contract_setup, out_dir)
        first = _digests(out_dir)
        self._stylize_to(contract_setup, out_dir)  # the folder holds this suite's marker: replaced
        assert _digests(out_dir) == first and (out_dir / MARKER).is_file()
        for path in [*out_dir.iterdir(), *contract_setup["workdir"].iterdir()]:
            if path.is_file():
                assert path.stat().st_mode & 0o777 == file_mode(), f"{path.name}: mode {oct(path.stat().st_mode)}"
        assert out_dir.stat().st_mode & 0o777 == 0o777 & ~umask()

    def test_workdir_files_checked_against_record(self, contract_setup: dict[str, Path],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
        """Every file the fine-tune wrote is checked (size, SHA-256) before ``load``: tampered, unrecorded and stray
        files are named errors, and the method never gets to load the workdir."""
        workdir, tmp = contract_setup["workdir"], contract_setup["tmp"]
        record = workdir / runner.WORKDIR_RECORD
        recorded = json.loads(record.read_text())["files"]
        written = sorted(p.relative_to(workdir).as_posix() for p in workdir.rglob("*")
                         if p.is_file() and p.name not in (MARKER, runner.WORKDIR_RECORD))  # fmt: skip
        assert sorted(recorded) == written and runner.CONFIG_FILE in recorded
        method_files = [name for name in written if name not in (runner.CONFIG_FILE, runner.COST_FILE)]
        tampered = workdir / (method_files or written)[0]  # a file the method wrote itself, when it wrote any
        original = tampered.read_bytes()
        loads: list[Path] = []
        monkeypatch.setattr(type(self.make_method(tmp)), "load", lambda _self, ref, work: loads.append(work))
        with tampered.open("ab") as handle:
            handle.write(b"\0")
        with pytest.raises(CheckpointError, match=rf"{re.escape(tampered.name)} changed.*run finetune again"):
            self._stylize_to(contract_setup, tmp / "out_tampered")
        tampered.write_bytes(original)
        stray = workdir / "zz_stray.pt"
        stray.write_bytes(b"not written by the fine-tune")
        with pytest.raises(CheckpointError, match=r"zz_stray\.pt was not written by its fine-tune"):
            self._stylize_to(contract_setup, tmp / "out_stray")
        stray.unlink()
        saved = record.read_bytes()
        record.unlink()
        with pytest.raises(CheckpointError, match=rf"no readable record {re.escape(runner.WORKDIR_RECORD)}.*"
                                                  "run finetune again"):  # fmt: skip
            self._stylize_to(contract_setup, tmp / "out_no_record")
        record.write_bytes(saved)
        (workdir / (method_files or written)[0]).unlink()
        with pytest.raises(CheckpointError, match="is missing"):
            self._stylize_to(contract_setup, tmp / "out_missing")
        assert loads == [] and not list(tmp.glob("out_*"))
