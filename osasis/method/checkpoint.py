"""What the method keeps on disk: the stylization model (official ``iter_N.pt`` layout) and the training state.

* ``osasis_model.pt``: ``{iter, diffae_B, model_map, optim_diffae_B: {}, optim_map: {}}``, loadable by
  :func:`osasis.weights.load_osasis` (and, key for key, by the official tester). ``diffae_B`` holds ε^B's UNet and
  (frozen, unchanged) encoder, plus ``latent_net.*`` when a latent net is given, as the official file does. The
  optimizer states are left empty (they live in the training state); ``save_half`` stores fp16 tensors.
* ``train_state.pt`` (in the state directory): everything needed to resume bit-exactly: ε^B and SPN in fp32, both
  Adam states, the data generator and global torch RNG states, the iteration and the loss history. Its SHA-256 is
  recorded in ``train_state.json`` when written and checked before a resume loads it.

Both are read through the suite's restricted loader; the caller records the model file's SHA-256 (the plugin keeps it
in ``osasis_finetune.json``) and :func:`load_style_model` checks it before unpickling anything.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from benchmark import imageio
from benchmark.checkpoints import load_tensors, sha256_of, verify_recorded
from benchmark.errors import CheckpointError
from osasis.networks.diffae_unet import DiffAEAutoencoder
from osasis.networks.spn import SPN
from osasis.weights import load_osasis

MODEL_FILE = "osasis_model.pt"
STATE_FILE = "train_state.pt"
STATE_RECORD = "train_state.json"


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` to a temporary file beside ``path``, fsync, then rename into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as handle:
        torch.save(obj, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return path


def _state(module: nn.Module, half: bool, prefix: str = "") -> OrderedDict:
    out = OrderedDict()
    for k, v in module.state_dict().items():
        v = v.detach() if v.is_meta else v.detach().cpu()
        out[prefix + k] = v.half() if half and v.is_floating_point() else v.clone()
    return out


def style_model_checkpoint(model_b: DiffAEAutoencoder, spn: SPN | None, *, iteration: int,
                           latent_net: nn.Module | None = None, half: bool = False) -> dict[str, Any]:  # fmt: skip
    """ε^B (+ SPN) as the official ``iter_N.pt`` dict, without optimizer states.

    ``diffae_B`` is the state of the official latent model (UNet + ``encoder`` + ``latent_net``), which the official
    ``utils/tester.py`` loads strictly; ``latent_net`` supplies the last part when ε^B has none of its own.
    """
    diffae_b = _state(model_b, half)
    if latent_net is not None and not any(k.startswith("latent_net.") for k in diffae_b):
        diffae_b.update(_state(latent_net, half, "latent_net."))
    ckpt: dict[str, Any] = {"iter": int(iteration), "diffae_B": diffae_b, "optim_diffae_B": {}}
    if spn is not None:
        ckpt["model_map"] = _state(spn, half)
        ckpt["optim_map"] = {}
    return ckpt


def save_style_model(path: str | Path, model_b: DiffAEAutoencoder, spn: SPN | None, *, iteration: int,
                     latent_net: nn.Module | None = None, half: bool = False) -> Path:  # fmt: skip
    """Write :func:`style_model_checkpoint` to ``path`` atomically."""
    ckpt = style_model_checkpoint(model_b, spn, iteration=iteration, latent_net=latent_net, half=half)
    return atomic_save(ckpt, path)


def load_style_model(path: str | Path, diffae_config: Any, spn_config: Any, device: torch.device, *,
                     sha256: str | None,
                     require_spn: bool = False) -> tuple[DiffAEAutoencoder, SPN | None]:  # fmt: skip
    """ε^B and SPN (fp32, eval, frozen) from an official-layout file (ours or a released one).

    ``sha256`` is the hash recorded when the file was written (or, for a released file, its manifest pin); the file
    is refused unless it still matches. ``require_spn`` refuses a file without ``model_map``.
    """
    verify_recorded(path, sha256, "OSASIS fine-tuned model")
    model_b, spn = load_osasis(path, diffae_config, spn_config, device=device, require_spn=require_spn)
    model_b = model_b.float().requires_grad_(False).eval()
    if spn is not None:
        spn = spn.float().requires_grad_(False).eval()
    return model_b, spn


def save_train_state(path: str | Path, state: Mapping[str, Any]) -> Path:
    """Write the training state and record its SHA-256 beside it (``train_state.json``)."""
    path = atomic_save(dict(state), path)
    record = {"file": path.name, "sha256": sha256_of(path)}
    imageio.atomic_write_text(path.with_name(STATE_RECORD), json.dumps(record, indent=2) + "\n")
    return path


def load_train_state(path: str | Path) -> dict[str, Any] | None:
    """The saved training state (checked against its recorded SHA-256), or None when there is none."""
    path = Path(path)
    if not path.is_file():
        return None
    what = "OSASIS training state"
    record_file = path.with_name(STATE_RECORD)
    try:
        recorded = json.loads(record_file.read_text()).get("sha256")
    except (OSError, ValueError, AttributeError):
        recorded = None
    try:
        verify_recorded(path, recorded, what)
    except CheckpointError as exc:
        raise CheckpointError(f"{exc}; or delete the state directory {path.parent} to train from scratch") from None
    state = load_tensors(path, what)
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{what}: {path} holds a {type(state).__name__}, expected a dict")
    return dict(state)
