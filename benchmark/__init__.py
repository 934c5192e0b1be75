"""osasis-bench: a reproducible benchmark suite for one-shot, structure-aware image stylization."""

from benchmark import _tv_shim  # noqa: F401  (must run before anything imports torchvision)

__version__ = "0.1.0"
