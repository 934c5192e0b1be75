"""Workflow functions of the OSASIS method beyond the plug-in interface: text-driven editing of a folder."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmark import imageio
from benchmark.atomic import staged_directory
from benchmark.errors import BenchmarkError
from benchmark.methods import runner
from benchmark.progress import progress

EDIT_KIND = "edit"
PHOTO_DIR = "photo"  # with edit_render photo: the edit as rendered by ε^A before stylization


def edit_images(workdir: str | Path, reference: str | Path, inputs: str | Path, out: str | Path, source: str,
                target: str, *, method: str = "osasis", params_path: str | Path | None = None,
                config: Mapping[str, Any] | None = None, device: str | None = None, seed: int | None = None,
                batch_size: int | None = None, limit: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Edit every image of ``inputs`` (the first ``limit`` in name order, when given) towards ``target`` (from
    ``source``) and stylize it with the model in ``workdir``.

    The method is the pipeline entry ``method`` of the parameter file (a variant works too), or, with ``config``,
    ``osasis`` built from that mapping. Outputs are PNGs named like the inputs, written to ``out`` atomically, plus
    ``edit.json`` (prompts, losses per image batch); with ``edit_render: photo`` also ``photo/<name>.png``, the
    unstylized ε^A render of each edit.
    """
    from benchmark.atomic import check_output_dir
    from benchmark.methods.runner import check_batch_size, check_workdir
    from benchmark.stages.common import batch_size_for, build_method, settings

    sources = [inputs, workdir, reference]
    if batch_size is not None:
        check_batch_size(batch_size)
    if limit is not None and limit < 1:
        raise BenchmarkError(f"limit {limit}: edit at least one image")
    check_output_dir(out, EDIT_KIND, sources)
    imageio.load_pil(reference)
    check_workdir(workdir, reference)
    run = settings(Path(params_path) if params_path else None, device, seed)
    if config is not None:
        instance = runner.build("osasis", dict(config), run.device, run.seed, run.resolution)
    else:
        instance = build_method(run, method)
    if not hasattr(instance, "edit"):
        raise BenchmarkError(f"method entry {method!r} has no text-driven editing")
    files = imageio.validate_folder(inputs)[:limit]
    if not files:
        raise BenchmarkError(f"no input images in {inputs}")
    size = check_batch_size(batch_size or batch_size_for(run, method))
    record: dict[str, Any] = {"source": source, "target": target, "reference": str(reference), "batches": []}
    with staged_directory(out, EDIT_KIND, sources) as staging:
        instance.load(Path(reference), Path(workdir))
        for start in progress(range(0, len(files), size), desc="osasis edit"):
            chunk = files[start : start + size]
            names = [p.stem for p in chunk]
            batch = imageio.load_batch(chunk, instance.resolution).to(instance.device)
            edited = instance.edit(batch, names, source, target)
            for path, image in zip(chunk, edited.float().cpu()):
                imageio.save_png(image, staging / imageio.output_name(path))
            photos = getattr(instance, "last_edit_photos", None)  # edit_render photo: the ε^A render, unstylized
            if photos is not None:
                (staging / PHOTO_DIR).mkdir(exist_ok=True)
            for path, image in zip(chunk, [] if photos is None else photos.float().cpu()):
                imageio.save_png(image, staging / PHOTO_DIR / imageio.output_name(path))
            record["batches"].append({"names": names, "losses": instance.last_edit_losses})
        record["config"] = instance.resolved_config()
        imageio.atomic_write_text(staging / "edit.json", json.dumps(record, indent=2, default=str) + "\n")
    return record
