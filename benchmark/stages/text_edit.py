"""The text-edit stage: the profile's ``text_edit`` section (paper Fig. 7) as one folder per edit.

``results/edits/<edit name>/<input stem>.png`` (edited and stylized by the configured method and reference)
plus ``results/edits/edits.json``, which records the settings, or why nothing ran: text-driven editing needs a
text encoder, and the smoke profile has no offline CLIP weights, so its ``edits`` mapping is empty.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmark import imageio
from benchmark.atomic import staged_directory
from benchmark.errors import ConfigError
from benchmark.imageio import atomic_write_text
from benchmark.params import load_params
from benchmark.stages.layout import Layout

RECORD = "edits.json"
NO_EDITS = "no edits configured in this profile (text_edit.edits is empty)"


def text_edit_section(params: dict[str, Any]) -> dict[str, Any]:
    """The ``text_edit`` section with defaults; ``edits`` maps an edit name to its target prompt (``why_none``:
    the reason a profile configures none, shown in the report)."""
    section = dict(params.get("text_edit") or {})
    section.setdefault("method", "osasis")
    section.setdefault("reference", params["references"][0])
    section.setdefault("split", "low_density")
    section.setdefault("n_inputs", 4)
    section.setdefault("source", "a photo of a face")
    section["edits"] = dict(section.get("edits") or {})
    section["targets"] = dict(section.get("targets") or {})
    section.setdefault("judge", "smoke_attribute_judge")
    check_targets(section)
    bad = [name for name in section["edits"] if not name or "/" in name or name.startswith(".")]
    if bad:
        raise ConfigError(f"text_edit.edits: edit names become folder names; invalid: {bad}")
    return section


def run_text_edits(params_path: Path | None, out: Path, device: str | None = None,
                   seed: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Run every configured edit into ``out`` (replaced atomically as a whole); returns the record."""
    from osasis.method.api import edit_images

    params = load_params(params_path)
    cfg = text_edit_section(params)
    layout = Layout.from_params(params)
    why = f"{NO_EDITS}: {cfg['why_none']}" if cfg.get("why_none") else NO_EDITS
    record: dict[str, Any] = {**cfg, "note": "" if cfg["edits"] else why}
    with staged_directory(out, "text-edit", [layout.split_dir(cfg["split"]), layout.reference_path(cfg["reference"]),
                                             layout.model_dir(cfg["method"], cfg["reference"])]) as staging:
        for name, target in cfg["edits"].items():
            edit_images(layout.model_dir(cfg["method"], cfg["reference"]), layout.reference_path(cfg["reference"]),
                        layout.split_dir(cfg["split"]), staging / name, cfg["source"], str(target),
                        method=cfg["method"], params_path=params_path, device=device, seed=seed,
                        limit=int(cfg["n_inputs"]))  # fmt: skip
        if cfg.get("targets"):
            inputs = imageio.validate_folder(layout.split_dir(cfg["split"]))[: int(cfg["n_inputs"])]
            record["scores"] = score_edits(staging, inputs, cfg, device=device)
        atomic_write_text(staging / RECORD, json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return record


def check_targets(section: dict[str, Any]) -> None:
    """``targets`` maps an edit name to the attribute values it should produce (``{hat: true}``)."""
    from benchmark.pretrain.judge import CLASSES

    for name, wanted in section["targets"].items():
        if name not in section["edits"]:
            raise ConfigError(f"text_edit.targets: {name!r} is not an edit (edits: {sorted(section['edits'])})")
        if not isinstance(wanted, dict) or not wanted:
            raise ConfigError(f"text_edit.targets.{name}: expected a mapping attribute -> value, got {wanted!r}")
        for attribute, value in wanted.items():
            if attribute not in CLASSES or value not in CLASSES[attribute]:
                raise ConfigError(f"text_edit.targets.{name}: {attribute}={value!r} is not a judge class "
                                  f"(attributes: {', '.join(f'{k}={v}' for k, v in CLASSES.items())})")


def score_edits(edits_dir: Path, inputs: list[Path], cfg: dict[str, Any], device: str | None = None
                ) -> dict[str, Any]:  # fmt: skip
    """Edit success by the independent attribute judge (not the CLIP that drove the edit) and identity:
    ``target_rate`` (outputs where every target value is read), ``kept_rate`` (other attributes read as on the
    input), ``target_before`` (inputs already showing the target) and ``id-dlib-resnet`` (input vs output); with
    ``edit_render: photo`` also ``photo_target_rate`` / ``photo_kept_rate``, the same on the unstylized renders."""
    from benchmark import assets
    from benchmark.metrics import create_metric
    from benchmark.metrics.base import EvalSet
    from benchmark.pretrain.judge import CLASSES, load_judge
    from osasis.method.api import PHOTO_DIR

    judge = load_judge(assets.resolve(cfg["judge"]))
    identity = create_metric("id-dlib-resnet", device="cpu")
    res = 64
    before = judge.predict(imageio.load_batch(inputs, res))
    scores: dict[str, Any] = {"judge": cfg["judge"], "n_inputs": len(inputs)}
    for name, wanted in cfg["targets"].items():
        outputs = [edits_dir / name / imageio.output_name(p) for p in inputs]
        after = judge.predict(imageio.load_batch(outputs, res))
        others = [k for k in CLASSES if k not in wanted]
        hit = [all(a[k] == v for k, v in wanted.items()) for a in after]
        had = [all(b[k] == v for k, v in wanted.items()) for b in before]
        kept = [a[k] == b[k] for a, b in zip(after, before) for k in others]
        ident = identity.compute(EvalSet([p.stem for p in inputs], list(inputs), outputs, resolution=res))
        scores[name] = {"target": wanted, "target_rate": sum(hit) / len(hit), "target_before": sum(had) / len(had),
                        "kept_rate": sum(kept) / len(kept), "id-dlib-resnet": round(ident.value, 4),
                        "judged": [{k: a[k] for k in CLASSES} for a in after]}  # fmt: skip
        photos = [edits_dir / name / PHOTO_DIR / imageio.output_name(p) for p in inputs]
        if all(p.is_file() for p in photos):  # edit_render photo: the edit before stylization, judged the same way
            rendered = judge.predict(imageio.load_batch(photos, res))
            scores[name]["photo_target_rate"] = sum(all(a[k] == v for k, v in wanted.items()) for a in rendered) / \
                len(rendered)  # fmt: skip
            scores[name]["photo_kept_rate"] = sum(a[k] == b[k] for a, b in zip(rendered, before) for k in others) / \
                (len(others) * len(rendered))  # fmt: skip
    return scores
