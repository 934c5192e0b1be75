"""The stylize stage: run a prepared method over one or more input folders."""

from __future__ import annotations

import logging
from pathlib import Path

from benchmark.atomic import staged_directory
from benchmark.methods import runner
from benchmark.stages.common import batch_size_for, build_method, settings

log = logging.getLogger(__name__)


def run_stylize(method: str, reference: Path, workdir: Path, inputs: list[Path], out: Path,
                params_path: Path | None = None, device: str | None = None, seed: int | None = None,
                batch_size: int | None = None) -> None:  # fmt: skip
    """Stylize each folder in ``inputs`` into ``out/<folder name>``; ``out`` appears only when all succeed."""
    run = settings(params_path, device, seed)
    instance = build_method(run, method)
    with staged_directory(out) as staging:
        for folder in inputs:
            record = runner.stylize_folder(instance, reference, workdir, Path(folder), staging / Path(folder).name,
                                           batch_size_for(run, method, batch_size))  # fmt: skip
            log.info("stylize %s %s: %d images, %.2f s/image", method, Path(folder).name, record["n_images"],
                     record["seconds_per_image"])  # fmt: skip
