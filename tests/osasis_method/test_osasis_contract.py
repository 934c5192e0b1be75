"""OSASIS passes the shared method contract on tiny random models (official layouts, paths via the Config)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from osasis_method_helpers import tiny_config

from benchmark.testing import MethodContract


class TestOSASISContract(MethodContract):
    method_name = "osasis"

    @pytest.fixture(autouse=True)
    def _models(self, tiny_files: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> None:
        self.files = tiny_files
        self.shared = tmp_path_factory.getbasetemp() / "osasis_contract_shared"

    def tiny_config(self, tmp_path: Path) -> dict[str, Any]:
        cfg = tiny_config(self.files, tmp_path)
        cfg["style_pair_cache"] = str(self.shared / "pair_cache")  # computed once for all contract tests
        return cfg

    def test_workdir_products(self, contract_setup: dict[str, Path]) -> None:
        work = contract_setup["workdir"]
        for name in ("osasis_model.pt", "style_photoreal.png", "losses.csv", "osasis_finetune.json"):
            assert (work / name).is_file(), name
        assert list((work / "samples").glob("iter_*.png"))
        info = json.loads((work / "osasis_finetune.json").read_text())
        assert info["optimizer_steps"] == 2  # 1 iteration x 2 reverse steps
        assert not (contract_setup["tmp"] / "state").exists() or not any((contract_setup["tmp"] / "state").iterdir())
