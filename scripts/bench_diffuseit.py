"""Per-image cost of our DiffuseIT sampler against the same loop run naively, as a ratio in one run. Not a test.

Ours: the images of a batch guided together, one UNet pass per step reused for the guidance, one guide pass per
step. Naive: one image at a time with the official pass structure (a second UNet pass every step, one guide pass
per ViT term and the no-grad passes of the source and style images). Both use the same settings, weights, inputs
and per-image seeds, so their outputs also agree (printed: the largest difference of x̂0). Default: the smoke
profile's settings (tiny P2 ADM, VGG16 stand-in guide) on procedural 64-px faces. Reports wall-clock and process
CPU seconds per image (the latter is the fairer figure on a shared machine).

    .venv/bin/python scripts/bench_diffuseit.py --n 4
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
import yaml

import benchmark  # noqa: F401  (torchvision shim first)
from baselines.diffuseit.sampler import DiffuseITGuidance, guided_sample
from benchmark import imageio
from benchmark.methods import create_method
from benchmark.seeding import generator
from benchmark.smoke.faces import render_face, sample_attributes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=4, help="images")
    parser.add_argument("--profile", default="profiles/smoke.yaml")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--grid", type=Path, default=None, help="optional PNG: inputs over colour-matched outputs")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = dict(yaml.safe_load(Path(args.profile).read_text())["method_cfg"]["diffuseit"])
    cfg.pop("batch_size", None)
    method = create_method("diffuseit", cfg, device="cpu", seed=0, resolution=64)
    faces = torch.stack([imageio.pil_to_tensor(render_face(sample_attributes(0, i), size=64))
                         for i in range(args.n + 1)])  # fmt: skip
    reference = Path("/tmp") / "bench_diffuseit_reference.png"
    imageio.save_png(faces[-1], reference)
    method.load(reference, Path("/tmp") / "bench_diffuseit_work")
    source = faces[: args.n] * 2 - 1
    names = [f"face{i}" for i in range(args.n)]
    ours = method._guidance
    assert ours is not None and method._style is not None
    naive = DiffuseITGuidance(ours.model, ours.sched, ours.guide, ours.arcface, ours.weights, ours.settings,
                              upstream_passes=True)  # fmt: skip

    start, cpu = time.perf_counter(), time.process_time()
    batched = guided_sample(ours, ours.targets(source, method._style), [generator(0, "diffuseit", n, 0) for n in names])
    t_ours, c_ours = (time.perf_counter() - start) / args.n, (time.process_time() - cpu) / args.n
    start, cpu = time.perf_counter(), time.process_time()
    singles = [guided_sample(naive, naive.targets(source[i : i + 1], method._style), [generator(0, "diffuseit", n, 0)])
               for i, n in enumerate(names)]  # fmt: skip
    t_naive, c_naive = (time.perf_counter() - start) / args.n, (time.process_time() - cpu) / args.n
    if args.grid is not None:
        rows = [torch.cat(list(faces[: args.n]), dim=2), torch.cat(list(method.postprocess(batched.x0)), dim=2)]
        imageio.save_png(torch.cat(rows, dim=1), args.grid)
    diff = max(float((batched.x0[i] - s.x0[0]).abs().max()) for i, s in enumerate(singles))
    print(json.dumps({"images": args.n, "threads": args.threads, "guided_steps_per_image": batched.guided_steps,
                      "restarts": batched.restarts, "seconds_per_image_ours": round(t_ours, 3),
                      "seconds_per_image_naive": round(t_naive, 3), "speedup": round(t_naive / t_ours, 2),
                      "cpu_seconds_per_image_ours": round(c_ours, 3), "cpu_seconds_per_image_naive": round(c_naive, 3),
                      "cpu_speedup": round(c_naive / c_ours, 2), "load_average_1min": round(os.getloadavg()[0], 2),
                      "max_abs_diff_x0": diff}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
