"""The stylization-method plug-in interface.

Contract for a method (a subclass of :class:`StylizationMethod`):

* ``Config`` is a dataclass of the method's parameters with defaults (its ``params.yaml`` section).
  Unknown keys are an error. The resolved config is written next to every output.
* ``device_requirement`` declares the devices it can run on: ``"any"`` (CPU or CUDA) or ``"cuda"``.
* :meth:`prepare` runs once per style reference (fine-tuning; may be a no-op) and writes everything
  it produces under ``workdir``. It must be deterministic given ``seed``.
* :meth:`load` restores that state before stylizing (defaults to nothing).
* :meth:`stylize` maps a batch of content images (``B x 3 x R x R`` float in ``[0, 1]``, R = the
  benchmark resolution) to a batch of the same shape and range. Any randomness must come from
  :func:`benchmark.seeding.generator` keyed by the image name, so results do not depend on batch
  size or order.

The runner (:mod:`benchmark.methods.runner`) does the rest the same way for every method: sorted
inputs, decoding with clear errors, PNG outputs named after the inputs written atomically, and the
resolved-config record.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch

from benchmark.devices import resolve_device
from benchmark.errors import ConfigError


@dataclasses.dataclass
class EmptyConfig:
    """A method without parameters."""


class StylizationMethod(ABC):
    """Base class for every registered stylization method."""

    name: ClassVar[str] = "?"
    Config: ClassVar[type] = EmptyConfig
    device_requirement: ClassVar[Literal["any", "cuda"]] = "any"
    needs_aligned_faces: ClassVar[bool] = False
    description: ClassVar[str] = ""

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        device: str | torch.device = "cpu",
        seed: int = 0,
        resolution: int = 256,
    ) -> None:
        self.config = self.parse_config(config or {})
        self.device = resolve_device(device)
        if self.device_requirement == "cuda" and self.device.type != "cuda":
            raise ConfigError(f"method {self.name!r} needs a CUDA device; got {self.device}")
        self.seed = int(seed)
        self.resolution = int(resolution)

    @classmethod
    def parse_config(cls, values: Mapping[str, Any]) -> Any:
        """Build the ``Config`` dataclass from a mapping, rejecting unknown keys."""
        fields = {f.name for f in dataclasses.fields(cls.Config)}
        unknown = sorted(set(values) - fields)
        if unknown:
            raise ConfigError(f"method {cls.name!r}: unknown parameters {unknown}; known: {sorted(fields)}")
        try:
            return cls.Config(**dict(values))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"method {cls.name!r}: invalid parameters: {exc}") from exc

    def resolved_config(self) -> dict[str, Any]:
        """The full configuration, as recorded next to outputs."""
        return {
            "method": self.name,
            "entry": getattr(self, "entry_name", self.name),
            "params": dataclasses.asdict(self.config),
            "seed": self.seed,
            "resolution": self.resolution,
            "device": str(self.device),
        }

    def prepare(self, reference: Path, workdir: Path) -> None:  # noqa: B027 - optional hook
        """Fine-tune for one style reference, writing state under ``workdir``. Default: nothing to do."""

    def load(self, reference: Path, workdir: Path) -> None:  # noqa: B027 - optional hook
        """Restore what :meth:`prepare` wrote, before :meth:`stylize` is called. Default: nothing."""

    @abstractmethod
    def stylize(self, images: torch.Tensor, names: Sequence[str]) -> torch.Tensor:
        """Stylize ``images`` (``B x 3 x R x R`` in [0, 1]); ``names`` are the input file stems."""
