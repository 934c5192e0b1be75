"""Exception types shared by every stage. Each message names the file or asset involved."""

from __future__ import annotations


class BenchmarkError(Exception):
    """Base class for the suite's expected, user-facing errors."""


class InvalidImageError(BenchmarkError):
    """An input file is not a readable image (corrupt, truncated, wrong type or too small)."""


class PairingError(BenchmarkError):
    """Content and stylized folders do not pair up file by file."""


class AssetError(BenchmarkError):
    """A weight file or dataset archive is missing, or its checksum does not match."""


class CheckpointError(BenchmarkError):
    """A checkpoint cannot be read safely, or does not hold what the loader expects."""


class ConfigError(BenchmarkError):
    """A configuration value is invalid."""
