"""Shared training machinery: settings, EMA, a step loop with progress/ETA logging and a wall-clock cap."""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from benchmark.progress import progress


@dataclass
class TrainSettings:
    """Hyper-parameters of one training run (recorded verbatim in ``record.json``)."""

    steps: int
    batch_size: int
    lr: float
    seed: int = 0
    ema_decay: float = 0.999
    warmup: int = 0
    grad_clip: float | None = 1.0
    max_minutes: float | None = None  # stop early (recorded) if the wall-clock cap is hit
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LoopResult:
    """What a loop did: steps completed, wall time, the loss curve (averaged per logging window)."""

    steps_done: int
    wall_s: float
    stopped_early: bool
    losses: list[dict[str, float]]

    def to_dict(self) -> dict[str, Any]:
        return {"steps_done": self.steps_done, "wall_s": round(self.wall_s, 1), "stopped_early": self.stopped_early,
                "loss_curve": self.losses}  # fmt: skip


def make_ema(model: nn.Module) -> nn.Module:
    """A frozen copy of ``model`` that :func:`update_ema` tracks."""
    ema = copy.deepcopy(model).eval()
    ema.requires_grad_(False)
    return ema


@torch.no_grad()
def training_setup(build: Callable[[], nn.Module], settings: Any, device: str
                   ) -> tuple[nn.Module, nn.Module, torch.optim.Optimizer, torch.Generator]:  # fmt: skip
    """Seeded start of every trainer: the model (built after seeding), its EMA copy, AdamW and the data RNG."""
    torch.manual_seed(settings.seed)
    model = build().to(device).train()
    ema = make_ema(model)
    opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(settings.seed + 1)
    return model, ema, opt, gen


def optimizer_step(loss: torch.Tensor, model: nn.Module, ema: nn.Module, opt: torch.optim.Optimizer,
                   settings: Any, step: int) -> None:  # fmt: skip
    """One update of the diffusion trainers: backward, optional gradient clipping, Adam step, EMA update."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if settings.grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
    opt.step()
    update_ema(ema, model, settings.ema_decay, step)


def update_ema(ema: nn.Module, model: nn.Module, decay: float, step: int | None = None) -> None:
    """ema ← d·ema + (1−d)·model, with the warm-up ``d = min(decay, (1+step)/(10+step))`` when ``step`` is given."""
    if step is not None:
        decay = min(decay, (1 + step) / (10 + step))
    for pe, pm in zip(ema.parameters(), model.parameters()):
        pe.lerp_(pm.detach(), 1.0 - decay)
    for be, bm in zip(ema.buffers(), model.buffers()):
        be.copy_(bm)


def warmup_lr(optimizer: torch.optim.Optimizer, base_lr: float, step: int, warmup: int) -> None:
    """Linear learning-rate warm-up over ``warmup`` steps."""
    lr = base_lr * min(1.0, (step + 1) / warmup) if warmup > 0 else base_lr
    for group in optimizer.param_groups:
        group["lr"] = lr


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def log(msg: str) -> None:
    print(f"[pretrain {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run_loop(step_fn: Callable[[int], dict[str, float]], steps: int, desc: str, *, max_minutes: float | None = None,
             log_every: int = 25) -> LoopResult:  # fmt: skip
    """Call ``step_fn(step)`` for ``steps`` steps (tqdm bar + a log line with ETA every ``log_every`` steps)."""
    start = time.time()
    window: dict[str, list[float]] = {}
    curve: list[dict[str, float]] = []
    done, stopped = 0, False
    for step in progress(range(steps), desc=desc, total=steps):
        for k, v in step_fn(step).items():
            window.setdefault(k, []).append(float(v))
        done = step + 1
        elapsed = time.time() - start
        if done % log_every == 0 or done == steps:
            avg = {k: sum(v) / len(v) for k, v in window.items()}
            curve.append({"step": done, **{k: round(v, 5) for k, v in avg.items()}})
            window = {}
            eta = elapsed / done * (steps - done)
            losses = " ".join(f"{k}={v:.4f}" for k, v in avg.items())
            log(f"{desc} {done}/{steps} {losses} | {elapsed / done:.2f}s/step, elapsed {elapsed / 60:.1f}m, "
                f"ETA {eta / 60:.1f}m")  # fmt: skip
        if max_minutes is not None and elapsed > 60 * max_minutes and done < steps:
            log(f"{desc}: wall-clock cap of {max_minutes} min reached after {done}/{steps} steps; stopping")
            stopped = True
            break
    return LoopResult(done, time.time() - start, stopped, curve)
