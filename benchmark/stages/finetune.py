"""The finetune stage: prepare one method for one style reference."""

from __future__ import annotations

import logging
from pathlib import Path

from benchmark import imageio
from benchmark.atomic import check_output_dir
from benchmark.methods import runner
from benchmark.stages.common import build_method, settings

log = logging.getLogger(__name__)


def run_finetune(method: str, reference: Path, workdir: Path, params_path: Path | None = None,
                 device: str | None = None, seed: int | None = None) -> dict:  # fmt: skip
    """Fine-tune ``method`` on ``reference`` into ``workdir``; returns the cost record.

    ``workdir`` must be new, empty or an earlier fine-tuned state (checked before any work).
    """
    check_output_dir(workdir, runner.WORKDIR_KIND, [reference], option="--workdir")
    imageio.load_pil(reference)
    run = settings(params_path, device, seed)
    instance = build_method(run, method)
    record = runner.finetune(instance, reference, workdir)
    log.info("finetune %s on %s: %.1f s, peak %.0f MB", method, Path(reference).name, record["seconds"],
             record["peak_memory_mb"])  # fmt: skip
    return record
