"""The CLIP tokenizer of Stable Diffusion v1, built offline from the BPE merges that open_clip ships.

``openai/clip-vit-large-patch14``'s ``vocab.json``/``merges.txt`` are a re-serialisation of OpenAI's
``bpe_simple_vocab_16e6.txt.gz`` (bundled with open_clip): 256 byte symbols, the same with ``</w>``, one entry per
merge (48 894), then ``<|startoftext|>`` (49406) and ``<|endoftext|>`` (49407). We rebuild both and hand them to
transformers' ``CLIPTokenizer``; padding uses ``<|endoftext|>`` as ldm's ``FrozenCLIPEmbedder`` does
(``padding="max_length"``, ``max_length=77``, truncation).
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from importlib import resources

import torch

from baselines.inst.configs import MAX_LENGTH

N_MERGES = 49152 - 256 - 2  # open_clip / OpenAI CLIP: the first line is a header


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable-character table."""
    ranges = (("!", "~"), ("¡", "¬"), ("®", "ÿ"))
    keep = [b for lo, hi in ranges for b in range(ord(lo), ord(hi) + 1)]
    chars = keep[:]
    extra = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(keep, map(chr, chars)))


@lru_cache(maxsize=1)
def bpe_tables() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """(vocab, merges) rebuilt from open_clip's ``bpe_simple_vocab_16e6.txt.gz``."""
    path = resources.files("open_clip") / "bpe_simple_vocab_16e6.txt.gz"
    lines = gzip.decompress(path.read_bytes()).decode("utf-8").split("\n")[1 : N_MERGES + 1]
    merges = [tuple(line.split()) for line in lines]
    symbols = list(_bytes_to_unicode().values())
    tokens = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return {tok: i for i, tok in enumerate(tokens)}, merges  # type: ignore[return-value]


@lru_cache(maxsize=1)
def clip_tokenizer():  # noqa: ANN201 - transformers.CLIPTokenizer
    """transformers' ``CLIPTokenizer`` on the open_clip vocabulary (ids identical to openai/clip-vit-large-patch14)."""
    from transformers import CLIPTokenizer

    vocab, merges = bpe_tables()
    return CLIPTokenizer(vocab=vocab, merges=list(merges), model_max_length=MAX_LENGTH)


def tokenize(prompts: list[str], max_length: int = MAX_LENGTH) -> torch.Tensor:
    """Token ids (B, 77) as ldm's ``FrozenCLIPEmbedder`` computes them."""
    enc = clip_tokenizer()(prompts, truncation=True, max_length=max_length, padding="max_length", return_tensors="pt")
    return enc["input_ids"]


def token_id(string: str) -> int:
    """The id ldm's ``get_clip_token_for_string`` assigns to a placeholder string (the first token after BOS)."""
    return int(tokenize([string])[0, 1])
