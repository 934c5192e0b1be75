"""Registered stylization methods.

To add a method: subclass :class:`~benchmark.methods.base.StylizationMethod`, then either decorate it
with ``@METHODS.register("name")``, add a lazy line below, or expose it from your own package under the
entry-point group ``osasis_bench.methods``. It must pass :class:`benchmark.testing.MethodContract`.
"""

from __future__ import annotations

from benchmark.methods.base import StylizationMethod
from benchmark.registry import Registry

METHODS: Registry[StylizationMethod] = Registry("method", StylizationMethod, "osasis_bench.methods")

METHODS.add_lazy("color-stats-transfer", "benchmark.methods.color_stats:ColorStatsTransfer")
METHODS.add_lazy("jojogan", "baselines.jojogan.method:JoJoGAN")
METHODS.add_lazy("inst", "baselines.inst.method:InST")
METHODS.add_lazy("osasis", "osasis.method.plugin:OSASIS")
METHODS.add_lazy("mtg", "baselines.mtg.method:MTG")
METHODS.add_lazy("diffuseit", "baselines.diffuseit.method:DiffuseIT")


def create_method(name: str, config: dict | None = None, **kwargs: object) -> StylizationMethod:
    """Instantiate the method registered under ``name``."""
    return METHODS.get(name)(config, **kwargs)


__all__ = ["METHODS", "StylizationMethod", "create_method"]
