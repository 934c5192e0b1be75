"""Example osasis-bench plug-in package (see docs/ADD_YOUR_METHOD.md)."""

from osasis_bench_example_method.method import TintedSketch

__all__ = ["TintedSketch"]
