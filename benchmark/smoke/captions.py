"""Captions of smoke-world images, generated from the ground truth, and the zero-shot prompt sets.

A caption names the style (``"a photo of"`` for an unstylized face, ``"a pencil sketch of"`` for the
``pencil-sketch`` stylizer, ...) and the attributes of the face: hair colour and style, skin tone, and the
binary attributes (hat, glasses, beard, hand, face paint). :func:`full_caption` names everything, in a fixed
order (retrieval targets); :func:`random_caption` names a random subset of the attributes, sometimes with
explicit absences (``"no hat"``), which is what the tiny CLIP is trained on.
"""

from __future__ import annotations

import numpy as np

from benchmark.smoke.faces import HAIR, HAIR_STYLES, SKIN, FaceAttributes

#: style name (``None`` = the unstylized face) -> the caption's opening phrase
STYLE_PHRASES: dict[str | None, str] = {
    None: "a photo of",
    "posterize-ink": "a posterized ink drawing of",
    "pencil-sketch": "a pencil sketch of",
    "mosaic": "a pixel mosaic of",
    "palette-swap": "a false colour print of",
    "watercolor": "a watercolor painting of",
    "halftone": "a halftone print of",
    "magenta-starry-blue": "a starry blue painting of",
    "magenta-warm-oil": "a warm oil painting of",
    "magenta-ink-wash": "an ink wash painting of",
}
SKIN_NAMES = ("pale", "light", "medium", "tan", "brown", "dark")
#: binary attribute -> (phrase when present, phrase when absent)
BINARY: dict[str, tuple[str, str]] = {
    "hat": ("a hat", "no hat"),
    "glasses": ("glasses", "no glasses"),
    "beard": ("a beard", "no beard"),
    "hand": ("a raised hand", "no raised hand"),
    "face_paint": ("face paint", "no face paint"),
}
#: attributes with a zero-shot prompt set (``hair_colour``, ``hair_style``, ``skin`` and the binary ones)
#: further phrasings of an absence, drawn as often as the :data:`BINARY` one (explicit absences teach the small
#: text tower negation, which zero-shot prompts and edit prompts rely on)
ABSENT_SYNONYMS: dict[str, tuple[str, ...]] = {
    "hat": ("a bare head",),
    "glasses": ("bare eyes",),
    "beard": ("a clean-shaven chin",),
    "hand": ("hands down",),
    "face_paint": ("a bare face",),
}
#: probability that an absent binary attribute is named as an absence in a training caption
P_ABSENT = 0.4
ATTRIBUTES = ("hair_colour", "hair_style", "skin", *BINARY)
RARE = ("hat", "glasses", "hand", "face_paint")
SUBJECT = "a cartoon face"


def hair_phrase(colour: str) -> str:
    return colour.replace("-", " ")


def skin_name(attrs: FaceAttributes) -> str:
    """The skin tone's name: the nearest base tone of :data:`benchmark.smoke.faces.SKIN` (jitter is ±8)."""
    dist = [sum((a - b) ** 2 for a, b in zip(attrs.skin, base)) for base in SKIN]
    return SKIN_NAMES[int(np.argmin(dist))]


def labels(attrs: FaceAttributes) -> dict[str, str | bool]:
    """The ground-truth label of every attribute in :data:`ATTRIBUTES`."""
    out: dict[str, str | bool] = {"hair_colour": attrs.hair_colour, "hair_style": attrs.hair_style,
                                  "skin": skin_name(attrs)}  # fmt: skip
    out.update({name: bool(getattr(attrs, name)) for name in BINARY})
    return out


def _hair(colour: str | None, style: str | None) -> str:
    if style == "bald":
        return "a bald head"
    words = [w for w in (hair_phrase(colour) if colour else None, style) if w]
    return " ".join([*words, "hair"])


def _join(phrases: list[str]) -> str:
    if len(phrases) <= 1:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def caption(style: str | None, phrases: list[str]) -> str:
    """``"<style phrase> a cartoon face[ with <p1>, <p2> and <p3>]"``."""
    head = f"{STYLE_PHRASES[style]} {SUBJECT}"
    return f"{head} with {_join(phrases)}" if phrases else head


def full_caption(attrs: FaceAttributes, style: str | None = None) -> str:
    """Every attribute, fixed order, absences left out: the retrieval caption of an image."""
    lab = labels(attrs)
    phrases = [_hair(str(lab["hair_colour"]), str(lab["hair_style"])), f"{lab['skin']} skin"]
    phrases += [BINARY[name][0] for name in BINARY if lab[name]]
    return caption(style, phrases)


def _binary_phrase(name: str, present: bool, rng: np.random.Generator) -> str:
    if present:
        return BINARY[name][0]
    options = (BINARY[name][1], *ABSENT_SYNONYMS[name])
    return options[int(rng.integers(len(options)))]


def _random_phrases(lab: dict, rng: np.random.Generator, force: str | None = None) -> list[tuple[str, str]]:
    """(attribute, phrase) pairs of a training caption, shuffled; attribute ``force`` (a binary one,
    ``hair_colour`` or ``hair_style``) is always named."""
    colour = str(lab["hair_colour"]) if force == "hair_colour" or rng.random() < 0.6 else None
    hstyle = str(lab["hair_style"]) if force == "hair_style" or rng.random() < 0.6 else None
    phrases = []
    if colour or hstyle:
        bald_words = force is None and hstyle == "bald" and rng.random() >= 0.5
        phrases.append(("hair", "no hair" if bald_words else _hair(colour, hstyle)))
    if rng.random() < 0.4:
        phrases.append(("skin", f"{lab['skin']} skin"))
    for name in BINARY:
        if name == force or (lab[name] and rng.random() < 0.8) or (not lab[name] and rng.random() < P_ABSENT):
            phrases.append((name, _binary_phrase(name, bool(lab[name]), rng)))
    order = rng.permutation(len(phrases))
    return [phrases[i] for i in order]


def random_caption(attrs: FaceAttributes, style: str | None, rng: np.random.Generator) -> str:
    """A training caption: each attribute named with probability 1/2 (hair colour and style each on their own),
    absent binary attributes sometimes named as absences, in a random order."""
    return caption(style, [phrase for _, phrase in _random_phrases(labels(attrs), rng)])


def hard_negative_pair(attrs: FaceAttributes, style: str | None, rng: np.random.Generator) -> tuple[str, str]:
    """A training caption that names one random attribute (binary, hair colour or hair style), and the same
    caption with that attribute changed (``"... with a hat"`` / ``"... with no hat"``, ``"... bob hair"`` /
    ``"... curly hair"``): a hard negative for the image."""
    lab = labels(attrs)
    names = [*BINARY, "hair_colour", "hair_style"]
    name = names[int(rng.integers(len(names)))]
    phrases = _random_phrases(lab, rng, force=name)
    if name in BINARY:
        flipped = [(k, _binary_phrase(k, not lab[k], rng) if k == name else p) for k, p in phrases]
    else:
        values = list(HAIR) if name == "hair_colour" else list(HAIR_STYLES)
        other = [v for v in values if v != lab[name]]
        new = str(other[int(rng.integers(len(other)))])
        hair = {"hair_colour": str(lab["hair_colour"]), "hair_style": str(lab["hair_style"]), name: new}
        old = {"hair_colour": str(lab["hair_colour"]), "hair_style": str(lab["hair_style"])}
        named = next(p for k, p in phrases if k == "hair")
        keep_colour = hair_phrase(old["hair_colour"]) in named or name == "hair_colour"
        keep_style = old["hair_style"] in named or name == "hair_style"
        changed = _hair(hair["hair_colour"] if keep_colour else None, hair["hair_style"] if keep_style else None)
        flipped = [(k, changed if k == "hair" else p) for k, p in phrases]
    return caption(style, [p for _, p in phrases]), caption(style, [p for _, p in flipped])


def zero_shot_prompts(attribute: str, style: str | None = None) -> dict[str | bool, str]:
    """Class -> prompt for one attribute (``"style"``: one prompt per style, the face left undescribed)."""
    if attribute == "style":
        return {name: caption(name, []) for name in STYLE_PHRASES}  # type: ignore[misc]
    if attribute == "hair_colour":
        return {c: caption(style, [_hair(c, None)]) for c in HAIR}
    if attribute == "hair_style":
        return {s: caption(style, [_hair(None, s)]) for s in HAIR_STYLES}
    if attribute == "skin":
        return {s: caption(style, [f"{s} skin"]) for s in SKIN_NAMES}
    if attribute in BINARY:
        present, absent = BINARY[attribute]
        return {True: caption(style, [present]), False: caption(style, [absent])}
    raise ValueError(f"unknown attribute {attribute!r} (known: style, {', '.join(ATTRIBUTES)})")


def prompt_ensembles(attribute: str, style: str | None = None) -> dict[str | bool, list[str]]:
    """Class -> prompts whose mean text embedding stands for the class (zero-shot evaluation): the
    :func:`zero_shot_prompts` one, and for an absent binary attribute also its :data:`ABSENT_SYNONYMS`."""
    single = zero_shot_prompts(attribute, style)
    out: dict[str | bool, list[str]] = {k: [v] for k, v in single.items()}
    if attribute in BINARY:
        out[False] += [caption(style, [phrase]) for phrase in ABSENT_SYNONYMS[attribute]]
    return out
