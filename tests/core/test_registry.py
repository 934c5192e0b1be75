"""Plug-in registry: decorator, lazy entries, entry points, validation."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from benchmark.errors import ConfigError
from benchmark.methods.base import StylizationMethod
from benchmark.registry import Registry


class _Base(StylizationMethod):
    def stylize(self, images, names):
        return images


def _registry() -> Registry:
    return Registry("method", StylizationMethod, "osasis_bench.test_methods")


def test_decorator_registers_and_names_class() -> None:
    reg = _registry()

    @reg.register("identity")
    class Identity(_Base):
        pass

    assert reg.get("identity") is Identity and Identity.name == "identity"
    assert reg.names() == ["identity"]


def test_duplicate_and_invalid_names_rejected() -> None:
    reg = _registry()
    reg.add_lazy("a", "benchmark.methods.color_stats:ColorStatsTransfer")
    with pytest.raises(ConfigError, match="already registered"):
        reg.add_lazy("a", "x:y")
    with pytest.raises(ConfigError, match="invalid"):
        reg.add_lazy("Bad Name", "x:y")
    with pytest.raises(ConfigError, match="module:Class"):
        reg.add_lazy("b", "no_colon")


def test_non_subclass_rejected() -> None:
    reg = _registry()
    with pytest.raises(ConfigError, match="subclass"):
        reg.register("x")(dict)


def test_lazy_entry_imports_on_use() -> None:
    reg = _registry()
    reg.add_lazy("color", "benchmark.methods.color_stats:ColorStatsTransfer")
    assert reg.get("color").__name__ == "ColorStatsTransfer"
    with pytest.raises(ConfigError, match="unknown method 'nope'"):
        reg.get("nope")


def test_entry_point_group_is_discovered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "thirdparty_method"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent("""
        from benchmark.methods.base import StylizationMethod
        class Invert(StylizationMethod):
            def stylize(self, images, names):
                return 1 - images
    """))
    dist = tmp_path / "thirdparty_method-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-method\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[osasis_bench.test_methods]\ninvert = thirdparty_method:Invert\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = _registry()
    assert "invert" in reg.names()
    assert reg.get("invert")().stylize(__import__("torch").zeros(1), ["a"]).item() == 1
    sys.modules.pop("thirdparty_method", None)


def test_builtin_methods_listed() -> None:
    from benchmark.methods import METHODS

    assert "color-stats-transfer" in METHODS.names()
