"""The results-only submission protocol: which files a submission folder must hold.

A submission is a folder ``<submission>/<reference>/<split>/<input stem>.png`` with exactly one RGB PNG of
``resolution × resolution`` pixels for every reference in the profile's ``references``, every split in its
``splits`` and every input image of that split (``data/prepared/splits/<split>/<stem>.png``), and nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from benchmark.errors import ConfigError
from benchmark.stages.layout import Layout

NAME = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,63}$")


@dataclass(frozen=True)
class Protocol:
    """Expected references, splits, input stems per split and image size."""

    references: tuple[str, ...]
    splits: tuple[str, ...]
    inputs: dict[str, tuple[str, ...]]
    resolution: int

    @classmethod
    def from_params(cls, params: dict[str, Any], layout: Layout | None = None) -> Protocol:
        layout = layout or Layout.from_params(params)
        inputs = {}
        for split in params["splits"]:
            folder = layout.split_dir(split)
            if not folder.is_dir():
                raise ConfigError(f"{folder} not found: run the prepare stage before evaluating a submission")
            inputs[split] = tuple(sorted(p.stem for p in folder.glob("*.png")))
        return cls(tuple(params["references"]), tuple(params["splits"]), inputs, int(params["resolution"]))

    def expected(self) -> list[str]:
        """Every expected file, as a POSIX path relative to the submission root, sorted."""
        return sorted(f"{ref}/{split}/{stem}.png" for ref in self.references for split in self.splits
                      for stem in self.inputs[split])  # fmt: skip

    def folders(self) -> set[str]:
        return set(self.references) | {f"{ref}/{split}" for ref in self.references for split in self.splits}


def check_name(name: str, taken: list[str] | tuple[str, ...] = ()) -> None:
    """A submission name is a lower-case slug that does not shadow a pipeline method."""
    if not NAME.match(name):
        raise ConfigError(f"invalid submission name {name!r}: use 1-64 lower-case letters, digits, '_', '-', '.'")
    if name in taken:
        raise ConfigError(f"submission name {name!r} is already a method of this profile; pick another")
