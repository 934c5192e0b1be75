"""The text-edit stage: the profile's ``text_edit`` section (paper Fig. 7) as one folder per edit.

``results/edits/<edit name>/<input stem>.png`` (edited and stylized by the configured method and reference)
plus ``results/edits/edits.json``, which records the settings, or why nothing ran: text-driven editing needs a
text encoder, and the smoke profile has no offline CLIP weights, so its ``edits`` mapping is empty.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
        atomic_write_text(staging / RECORD, json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return record
