"""DiffuseIT's guided DDPM sampler (official ``p_sample_loop_progressive`` + ``cond_fn`` of ``image_editor.py``).

Per image, on a respaced schedule of ``n`` steps with ``skip`` skipped, ``k0 = n − skip − 1``:

1. ``x = q_sample(source, k0)`` with fresh noise;
2. the step at ``k0`` runs ``first_step_repeats`` times; between repeats ``x ← √(1−β_{k0−1})·x + √β_{k0−1}·ε``;
3. then ``p_sample`` from ``k0 − 1`` down to 0, without clipping x̂0, with the mean shifted by Σ·(−∇ₓL)
   (:func:`osasis.diffusion.steps.ddpm_step` with a ``guidance`` callback);
4. range restart: when the weighted range loss of a step after the first exceeds the threshold, the image starts
   again from 1. with fresh noise (upstream: the rest of the trajectory is dropped; a flag at the very last step
   drops the output of that iteration, which the next iteration replaces: the same thing). ``max_restarts`` bounds
   this (upstream has no bound); past it the trajectory continues unrestarted and the count is reported.

The loss is evaluated on ``x_in = f·x̂0 + (1 − f)·x_t``, ``f = √(1 − ᾱ)`` (``--use_noise_aug_all``) where x̂0 comes
from the UNet at the official guidance index: the timestep handed to ``cond_fn`` (rescaled original timestep) is
mapped back with ``long(t · n / 1000)``, which can differ from the step's index; the UNet pass of the step is
reused whenever it does not (it does not for the respacings we use), otherwise a second pass is made as upstream.
The output is the unclipped x̂0 of the last step. Every image carries its own state and random generator, so a
batch gives the same results as single images.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from baselines.diffuseit import losses as L
from baselines.diffuseit.guides import ArcFaceGuide, GuideFeatures, _Guide
from osasis.diffusion.schedule import Schedule
from osasis.diffusion.steps import ModelFn, Posterior, ddpm_step, p_mean_variance, q_sample

#: the loss terms, in the order upstream adds them
TERMS = ("ssim", "contra", "dir_cls", "style", "range", "pixel", "identity")


@dataclass(frozen=True)
class LossWeights:
    """Official weights: --lambda_ssim, --lambda_contra_ssim, --lambda_dir_cls, --lambda_trg, --l2_trg_lambda,
    --range_lambda, --id_lambda (0 = term off)."""

    ssim: float = 1000.0
    contra: float = 200.0
    dir_cls: float = 100.0
    style: float = 2000.0
    pixel: float = 3000.0
    range: float = 200.0
    identity: float = 100.0


@dataclass(frozen=True)
class SamplerSettings:
    skip_timesteps: int = 80
    first_step_repeats: int = 10
    diff_iter: int = 100
    noise_aug: bool = True
    range_restart: bool = True
    restart_threshold: float = 0.1
    max_restarts: int = 10


@dataclass
class Targets:
    """Per-image constants of the losses (rows = images) and the mutable previous [CLS]."""

    source: torch.Tensor
    style: torch.Tensor
    source_self_sim: torch.Tensor | None
    source_keys: torch.Tensor | None
    style_cls: torch.Tensor | None
    source_id: torch.Tensor | None
    prev_cls: torch.Tensor | None

    def rows(self, index: torch.Tensor) -> Targets:
        return Targets(*(None if v is None else v[index] for v in vars(self).values()))


@dataclass
class GuidanceStep:
    """What one guided step learnt besides the gradient: per-image terms and the new [CLS]."""

    terms: dict[str, torch.Tensor] = field(default_factory=dict)
    cls: torch.Tensor | None = None
    guidance_index: torch.Tensor | None = None


def guidance_index(sched: Schedule, k: torch.Tensor) -> torch.Tensor:
    """The index ``cond_fn`` works at upstream: ``long(float32(timestep · 1000/T) · n/1000)`` (``unscale_timestep``)."""
    t = sched.model_t(k).float() * (1000.0 / 1000)
    return (t * (len(sched) / 1000)).long()


class DiffuseITGuidance:
    """The gradient of the DiffuseIT loss with respect to x_t, on top of the shared posterior."""

    def __init__(self, model: ModelFn, sched: Schedule, guide: _Guide | None, arcface: ArcFaceGuide | None,
                 weights: LossWeights, settings: SamplerSettings, *,
                 upstream_passes: bool = False) -> None:  # fmt: skip
        """``upstream_passes`` runs the networks as often as the official code (a second UNet pass every step; one
        guide pass per ViT term plus the no-grad passes of the source and style images), for the benchmark."""
        self.model, self.sched, self.guide, self.arcface = model, sched, guide, arcface
        self.weights, self.settings = weights, settings
        self.upstream_passes = upstream_passes
        w = weights
        self.uses_guide = any(v != 0 for v in (w.ssim, w.contra, w.dir_cls, w.style))
        if self.uses_guide and guide is None:
            raise ValueError("the ViT terms need a guide network")
        if w.identity != 0 and arcface is None:
            raise ValueError("the identity term needs an ArcFace network")

    @torch.no_grad()
    def targets(self, source: torch.Tensor, style: torch.Tensor) -> Targets:
        """Constants for images ``source`` (B x 3 x H x W in [-1, 1]) translated towards ``style`` (1 or B)."""
        style = style.expand_as(source)
        src = sty = None
        if self.uses_guide:
            assert self.guide is not None
            src, sty = self.guide.features(source), self.guide.features(style[:1])
        ident = self.arcface(source) if self.arcface is not None and self.weights.identity != 0 else None
        return Targets(
            source=source, style=style,
            source_self_sim=L.key_self_similarity(src.keys) if src is not None else None,
            source_keys=src.keys if src is not None else None,
            style_cls=sty.cls.expand(source.shape[0], -1) if sty is not None else None,
            source_id=ident,
            prev_cls=src.cls.clone() if src is not None else None,  # upstream: prev starts as the source image
        )  # fmt: skip

    def loss_terms(self, x: torch.Tensor, k: torch.Tensor, post: Posterior, tg: Targets) -> GuidanceStep:
        """Weighted per-image terms at x_t (differentiable in ``x``)."""
        sched, w = self.sched, self.weights
        kg = guidance_index(sched, k)
        reuse = torch.equal(kg, k) and not self.upstream_passes
        x0 = post.x0_pred if reuse else p_mean_variance(self.model, x, kg, sched, clip=False).x0_pred
        if self.settings.noise_aug:
            fac = torch.sqrt(1.0 - sched.alphas_cumprod.to(x.device)[kg]).reshape(-1, 1, 1, 1)
            x_in = x0 * fac.float() + x * (1 - fac).float()
        else:
            x_in = x0
        step = GuidanceStep(guidance_index=kg)
        terms = step.terms
        if self.uses_guide:
            assert self.guide is not None
            feats: GuideFeatures = self.guide.features(x_in)
            step.cls = feats.cls.detach()
            if self.upstream_passes:  # the official loss recomputes everything per term
                guide = self.guide
                with torch.no_grad():
                    tg = Targets(tg.source, tg.style, L.key_self_similarity(guide.features(tg.source).keys),
                                 guide.features(tg.source).keys, guide.features(tg.style).cls, tg.source_id,
                                 tg.prev_cls)  # fmt: skip
                passes = iter([feats] + [guide.features(x_in) for _ in range(3)])
                feats_for = {name: next(passes) for name in ("ssim", "contra", "dir_cls", "style")}
            else:
                feats_for = dict.fromkeys(("ssim", "contra", "dir_cls", "style"), feats)
            if w.ssim:
                terms["ssim"] = w.ssim * L.self_similarity_loss(feats_for["ssim"].keys, tg.source_self_sim)
            if w.contra:
                terms["contra"] = w.contra * L.patch_nce_loss(feats_for["contra"].keys, tg.source_keys)
            if w.dir_cls:
                active = (kg > self.settings.diff_iter).float()
                divergence = L.semantic_divergence_loss(feats_for["dir_cls"].cls, tg.prev_cls)
                terms["dir_cls"] = w.dir_cls * active * divergence
            if w.style:
                terms["style"] = w.style * L.style_cls_loss(feats_for["style"].cls, tg.style_cls)
        if w.pixel:
            terms["pixel"] = w.pixel * L.pixel_loss(x_in, tg.style)
        if w.range:
            terms["range"] = w.range * L.range_loss(x0)
        if w.identity:
            assert self.arcface is not None
            terms["identity"] = w.identity * L.identity_loss(self.arcface(x_in), tg.source_id)
        return step

    def gradient(self, x: torch.Tensor, k: torch.Tensor, post: Posterior,
                 tg: Targets) -> tuple[torch.Tensor, GuidanceStep]:  # fmt: skip
        """−∇ₓ Σ_images Σ_terms (official ``cond_fn``), and the step's terms."""
        step = self.loss_terms(x, k, post, tg)
        if not step.terms:
            return torch.zeros_like(x), step
        total = sum(step.terms[name].sum() for name in TERMS if name in step.terms)
        (grad,) = torch.autograd.grad(total, x)
        step.terms = {name: v.detach() for name, v in step.terms.items()}
        return -grad, step


StepCallback = Callable[[torch.Tensor, torch.Tensor, GuidanceStep], None]


@dataclass
class SampleResult:
    x0: torch.Tensor  # B x 3 x H x W, the unclipped x̂0 of the last step
    restarts: list[int]
    guided_steps: list[int]
    last_terms: list[dict[str, float]]


def _randn(shape: Sequence[int], gen: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    return torch.randn(tuple(shape), generator=gen, device=gen.device, dtype=like.dtype).to(like.device)


def guided_sample(guidance: DiffuseITGuidance, targets: Targets, generators: Sequence[torch.Generator],
                  callback: StepCallback | None = None) -> SampleResult:  # fmt: skip
    """Translate ``targets.source`` (rows independent); ``generators[i]`` drives image i's noise.

    ``targets.prev_cls`` is updated in place (upstream carries the previous x_in across restarts and iterations).
    """
    sched, st = guidance.sched, guidance.settings
    source = targets.source
    n_img, shape = source.shape[0], source.shape[1:]
    k0 = len(sched) - st.skip_timesteps - 1
    if k0 < 0:
        raise ValueError(f"skip_timesteps={st.skip_timesteps} leaves no step of a {len(sched)}-step schedule")

    def fresh(i: int) -> torch.Tensor:
        return q_sample(source[i : i + 1], k0, sched, noise=_randn((1, *shape), generators[i], source))

    x = torch.cat([fresh(i) for i in range(n_img)])
    k = torch.full((n_img,), k0, dtype=torch.long, device=source.device)
    repeat = [0] * n_img
    restarts = [0] * n_img
    steps = [0] * n_img
    last_terms: list[dict[str, float]] = [{} for _ in range(n_img)]
    done = torch.zeros(n_img, dtype=torch.bool)
    x0_final = torch.zeros_like(source)
    while not bool(done.all()):
        rows = torch.nonzero(~done).flatten()
        tg = targets.rows(rows)
        x_rows = x[rows].detach().requires_grad_(True)
        k_rows = k[rows]
        info: dict[str, GuidanceStep] = {}

        def guide_fn(xx: torch.Tensor, kk: torch.Tensor, post: Posterior, tg: Targets = tg,
                     info: dict[str, GuidanceStep] = info) -> torch.Tensor:  # fmt: skip
            grad, info["step"] = guidance.gradient(xx, kk, post, tg)
            return grad

        noise = torch.cat([_randn((1, *shape), generators[int(i)], source) for i in rows])
        with torch.enable_grad():
            out = ddpm_step(guidance.model, x_rows, k_rows, sched, clip=False, noise=noise, guidance=guide_fn)
        step = info["step"]
        if callback is not None:
            callback(rows, k_rows, step)
        if step.cls is not None and targets.prev_cls is not None:
            targets.prev_cls[rows] = step.cls
        kg = step.guidance_index
        range_w = step.terms.get("range")
        for j, i in enumerate(rows.tolist()):
            steps[i] += 1
            last_terms[i] = {name: float(v[j]) for name, v in step.terms.items()}
            flagged = (st.range_restart and range_w is not None and int(kg[j]) < k0
                       and float(range_w[j]) > st.restart_threshold and restarts[i] < st.max_restarts)  # fmt: skip
            if flagged:
                restarts[i] += 1
                repeat[i] = 0
                k[i] = k0
                x[i] = fresh(i)[0]
            elif int(k[i]) == k0 and repeat[i] < st.first_step_repeats - 1:
                repeat[i] += 1
                beta = sched.coef("betas", torch.tensor([k0 - 1]), out.x_next[j : j + 1])
                eps = _randn((1, *shape), generators[i], source)
                x[i] = (torch.sqrt(1 - beta) * out.x_next[j : j + 1] + torch.sqrt(beta) * eps)[0]
            elif int(k[i]) == 0:
                done[i] = True
                x0_final[i] = out.x0_pred[j].detach()
            else:
                k[i] -= 1
                x[i] = out.x_next[j]
    return SampleResult(x0_final, restarts, steps, last_terms)
