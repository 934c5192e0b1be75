"""The metric plug-in interface.

A metric declares, in :class:`MetricInfo`, its direction (``lower`` or ``higher`` is better), its
range, and the protocol it follows (resolution, resizer, feature extractor and weights, sample
count). Two kinds exist:

* :class:`PerImageMetric`: one score per stylized image (paired with its content image, the style
  reference or the ground truth); the value is the mean with a bootstrap CI over inputs;
* :class:`SetMetric`: one score for the whole set (FID, KID); the CI resamples inputs.

Inputs arrive as an :class:`EvalSet`: content/stylized files strictly paired by name, the style
reference(s), and optional ground truth, all decoded and resized by :mod:`benchmark.imageio`.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from benchmark import imageio
from benchmark.devices import resolve_device
from benchmark.errors import PairingError
from benchmark.stats import CI_LEVEL, bootstrap_mean_ci, bootstrap_replicates

Direction = Literal["lower", "higher"]


@dataclass(frozen=True)
class MetricInfo:
    """What a metric measures and how; the report uses direction for arrows and bold."""

    direction: Direction
    range: tuple[float, float]
    protocol: str
    needs: tuple[str, ...] = ("content", "stylized")
    description: str = ""


@dataclass
class MetricResult:
    """One metric evaluated on one :class:`EvalSet`."""

    metric: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    direction: Direction
    protocol: str
    per_image: dict[str, float] | None = None
    notes: list[str] = field(default_factory=list)
    protocol_mode: str | None = None  # "reference" / "clean" for metrics with a reference implementation
    bootstrap: list[float] | None = None  # set metrics: the bootstrap replicates (paired across methods)


    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class EvalSet:
    """Files to evaluate: content and stylized paired by name, plus style reference(s) and ground truth."""

    names: list[str]
    content: list[Path]
    stylized: list[Path]
    style: list[Path] = field(default_factory=list)
    ground_truth: list[Path] | None = None
    resolution: int = 256
    _cache: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)
    _cache_native: dict[str, list[torch.Tensor]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_folders(
        cls,
        content_dir: str | Path,
        stylized_dir: str | Path,
        style: str | Path | Sequence[str | Path] = (),
        ground_truth_dir: str | Path | None = None,
        resolution: int = 256,
    ) -> EvalSet:
        """Pair ``content_dir`` and ``stylized_dir`` by file stem; any mismatch is an error."""
        content = {p.stem: p for p in imageio.list_images(content_dir)}
        stylized_files = imageio.list_images(stylized_dir)
        non_png = [p for p in stylized_files if p.suffix.lower() != ".png"]
        if non_png:
            raise PairingError(f"{non_png[0]}: stylized outputs must be lossless PNG")
        imageio.check_png_files(stylized_files)  # by content: JPEG bytes named .png are refused too
        stylized = {p.stem: p for p in stylized_files}
        missing = sorted(set(content) - set(stylized))
        extra = sorted(set(stylized) - set(content))
        if missing or extra:
            raise PairingError(
                f"content {content_dir} and stylized {stylized_dir} do not pair by name: "
                f"missing outputs {missing[:10]}{'...' if len(missing) > 10 else ''}, "
                f"unexpected outputs {extra[:10]}{'...' if len(extra) > 10 else ''}"
            )
        names = sorted(content)
        if not names:
            raise PairingError(f"no images in {content_dir} (content) or {stylized_dir} (stylized); "
                               "point --content and --stylized at folders of images")  # fmt: skip
        if isinstance(style, (str, Path)):
            style_path = Path(style)
            style_files = imageio.list_images(style_path) if style_path.is_dir() else [style_path]
        else:
            style_files = [Path(s) for s in style]
        truth = None
        if ground_truth_dir is not None:
            gt = {p.stem: p for p in imageio.list_images(ground_truth_dir)}
            lacking = sorted(set(names) - set(gt))
            if lacking:
                raise PairingError(f"ground truth {ground_truth_dir} lacks {lacking[:10]}")
            truth = [gt[n] for n in names]
        return cls(
            names=names,
            content=[content[n] for n in names],
            stylized=[stylized[n] for n in names],
            style=style_files,
            ground_truth=truth,
            resolution=resolution,
        )

    def __len__(self) -> int:
        return len(self.names)

    def images(self, kind: str) -> torch.Tensor:
        """``kind`` in {content, stylized, style, ground_truth} as ``N x 3 x R x R`` in [0, 1] (cached)."""
        if kind not in self._cache:
            paths = {"content": self.content, "stylized": self.stylized, "style": self.style,
                     "ground_truth": self.ground_truth}[kind]  # fmt: skip
            if paths is None:
                raise PairingError(f"this evaluation set has no {kind} images")
            self._cache[kind] = imageio.load_batch(paths, self.resolution)
        return self._cache[kind]

    def native(self, kind: str) -> list[torch.Tensor]:
        """``kind`` images at their native size, decoded as the reference implementations do
        (:func:`benchmark.imageio.load_reference`): a list of ``3 x H x W`` tensors in [0, 1] (cached)."""
        key = f"native:{kind}"
        if key not in self._cache_native:
            paths = self.paths(kind) if kind != "ground_truth" or self.ground_truth is not None else None
            if paths is None:
                raise PairingError(f"this evaluation set has no {kind} images")
            self._cache_native[key] = [imageio.load_reference(p) for p in paths]
        return self._cache_native[key]

    def paths(self, kind: str) -> list[Path]:
        return {"content": self.content, "stylized": self.stylized, "style": self.style,
                "ground_truth": self.ground_truth or []}[kind]  # fmt: skip


class Metric(ABC):
    """Base class of every registered metric."""

    name: ClassVar[str] = "?"
    info: ClassVar[MetricInfo]

    def __init__(self, device: str | torch.device = "cpu", batch_size: int = 16, seed: int = 0, **options: Any):
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self.seed = seed
        self.options = options
        self.notes: list[str] = []

    @abstractmethod
    def compute(self, data: EvalSet) -> MetricResult:
        """Evaluate on ``data``."""

    def _result(
        self, value: float, ci: tuple[float, float], n: int, per_image: dict[str, float] | None
    ) -> MetricResult:
        return MetricResult(
            metric=self.name,
            value=float(value),
            ci_low=float(ci[0]),
            ci_high=float(ci[1]),
            n=n,
            direction=self.info.direction,
            protocol=self.info.protocol,
            per_image=per_image,
            notes=list(self.notes),
            protocol_mode=getattr(self, "protocol_mode", None),
        )


class PerImageMetric(Metric):
    """A metric with one score per stylized image; the value is their mean with a bootstrap CI."""

    @abstractmethod
    def score(self, data: EvalSet, index: slice) -> torch.Tensor:
        """Scores for images ``index`` of ``data`` (a 1-D tensor)."""

    def compute(self, data: EvalSet) -> MetricResult:
        scores: list[torch.Tensor] = []
        for start in range(0, len(data), self.batch_size):
            with torch.no_grad():
                scores.append(self.score(data, slice(start, start + self.batch_size)).detach().double().cpu())
        values = torch.cat(scores).numpy() if scores else np.zeros(0)
        per_image = {n: float(v) for n, v in zip(data.names, values)}
        return self._result(values.mean(), bootstrap_mean_ci(values, seed=self.seed), len(values), per_image)


class SetMetric(Metric):
    """A metric computed from the whole set; :meth:`compute_indices` evaluates a resample of inputs."""

    n_boot: ClassVar[int] = 200

    @abstractmethod
    def compute_indices(self, data: EvalSet, indices: np.ndarray) -> float:
        """The metric on the inputs ``indices`` (with repetition, for the bootstrap)."""

    def compute(self, data: EvalSet) -> MetricResult:
        n = len(data)
        value = self.compute_indices(data, np.arange(n))
        reps = bootstrap_replicates(n, lambda idx: self.compute_indices(data, idx), seed=self.seed, n_boot=self.n_boot)
        alpha = (1.0 - CI_LEVEL) / 2
        ci = (float(np.quantile(reps, alpha)), float(np.quantile(reps, 1 - alpha)))
        result = self._result(value, ci, n, None)
        result.bootstrap = [float(v) for v in reps]
        return result
