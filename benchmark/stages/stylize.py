"""The stylize stage: run a prepared method over one or more input folders."""

from __future__ import annotations

import logging
from pathlib import Path

from benchmark import imageio
from benchmark.atomic import check_output_dir, staged_directory
from benchmark.errors import ConfigError
from benchmark.methods import runner
from benchmark.stages.common import batch_size_for, build_method, settings

log = logging.getLogger(__name__)


def check_input_folders(inputs: list[Path]) -> None:
    """Each ``--inputs`` folder exists and has its own name (it becomes ``OUT/<folder name>``)."""
    if not inputs:
        raise ConfigError("stylize needs at least one --inputs folder")
    seen: dict[str, Path] = {}
    for folder in map(Path, inputs):
        if not folder.is_dir():
            raise ConfigError(f"--inputs {folder}: not a folder")
        name = folder.resolve().name
        if name in seen:
            raise ConfigError(f"--inputs {seen[name]} and --inputs {folder} have the same folder name {name!r} and "
                              f"would write the same OUT/{name}; rename one of them")  # fmt: skip
        seen[name] = folder


def run_stylize(method: str, reference: Path, workdir: Path, inputs: list[Path], out: Path,
                params_path: Path | None = None, device: str | None = None, seed: int | None = None,
                batch_size: int | None = None) -> None:  # fmt: skip
    """Stylize each folder in ``inputs`` into ``out/<folder name>``; ``out`` appears only when all succeed.

    Every argument is checked (output path, inputs, reference, fine-tuned state) before the method is built.
    """
    if batch_size is not None:
        runner.check_batch_size(batch_size)
    check_input_folders(inputs)
    sources = [*inputs, workdir, reference]
    check_output_dir(out, runner.STYLIZED_KIND, sources)
    imageio.load_pil(reference)
    runner.check_workdir(workdir, reference)
    run = settings(params_path, device, seed)
    instance = build_method(run, method)
    runner.check_workdir(workdir, reference, instance.name)
    size = runner.check_batch_size(batch_size_for(run, method, batch_size))
    with staged_directory(out, runner.STYLIZED_KIND, sources) as staging:
        for folder in inputs:
            name = Path(folder).resolve().name
            record = runner.stylize_folder(instance, reference, workdir, Path(folder), staging / name, size)
            log.info("stylize %s %s: %d images, %.2f s/image", method, name, record["n_images"],
                     record["seconds_per_image"])  # fmt: skip
