"""A procedural, aligned cartoon-face domain with per-image ground-truth attributes.

Image ``i`` of a dataset depends only on ``(seed, i)`` (and the rare-attribute rates): the common
attributes and the rare flags are drawn from two generators seeded by :func:`derive_seed`, so rare
frequencies can be checked from :func:`sample_attributes` alone, without rendering.
Faces are drawn with PIL at ``SUPERSAMPLE`` times the output size and downsampled with the suite's
one resizer (:func:`benchmark.imageio.resize_pil`), which anti-aliases them. Eyes sit near
``EYE_Y`` and ``0.5 +- EYE_DX`` (fractions of the side), like FFHQ alignment, up to a small pose.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from benchmark.atomic import umask
from benchmark.errors import ConfigError
from benchmark.imageio import atomic_write_text, resize_pil, save_png
from benchmark.seeding import derive_seed

SUPERSAMPLE = 4
PAD = 0.1  # canvas margin (fraction of the side) so that roll rotation leaves no empty corners
EYE_Y = 0.47
EYE_DX = 0.11
# A JSON array with one record per line. Not ``.jsonl``: benchmark.imageio.list_images accepts only
# images and ``.json`` files in an image folder, and a face split must stay a valid input folder.
ATTRIBUTES_FILE = "attributes.json"
DEFAULT_RARE_RATES: dict[str, float] = {"hat": 0.04, "glasses": 0.05, "hand": 0.03, "face_paint": 0.03}

SKIN = [(255, 224, 196), (243, 198, 165), (226, 175, 134), (199, 138, 99), (160, 104, 72), (114, 72, 48)]
HAIR = {
    "black": (28, 24, 24),
    "dark-brown": (68, 42, 28),
    "brown": (118, 76, 44),
    "auburn": (140, 62, 36),
    "blonde": (222, 186, 112),
    "ginger": (204, 104, 44),
    "grey": (158, 158, 164),
    "blue": (60, 90, 180),
}
HAIR_WEIGHTS = [0.22, 0.2, 0.16, 0.08, 0.14, 0.07, 0.09, 0.04]
IRIS = {
    "brown": (104, 62, 30),
    "dark": (52, 32, 20),
    "blue": (64, 120, 196),
    "green": (66, 134, 78),
    "hazel": (146, 112, 48),
    "grey": (118, 134, 146),
}
HAIR_STYLES = ["bald", "short", "long", "bob", "curly", "bun", "spiky"]
HAIR_STYLE_WEIGHTS = [0.06, 0.24, 0.2, 0.15, 0.13, 0.1, 0.12]
BACKGROUNDS = [
    (196, 222, 240),
    (236, 214, 190),
    (200, 232, 200),
    (232, 200, 220),
    (224, 224, 228),
    (250, 236, 170),
    (170, 190, 230),
    (120, 140, 160),
    (240, 180, 160),
    (180, 220, 220),
]
CLOTHES = [
    (40, 60, 120),
    (160, 40, 40),
    (40, 110, 60),
    (230, 230, 230),
    (30, 30, 30),
    (220, 170, 40),
    (120, 60, 140),
    (90, 90, 90),
]
ACCENTS = [(200, 30, 40), (30, 90, 200), (250, 200, 20), (30, 160, 80), (220, 60, 180), (250, 250, 250)]

RGB = tuple[int, int, int]


@dataclass
class FaceAttributes:
    """Everything that determines one face image (coordinates are fractions of the image side)."""

    index: int
    head_rx: float
    head_ry: float
    jaw: float  # 0 = round, 1 = narrow chin
    skin: RGB
    hair_colour: str
    hair_rgb: RGB
    hair_style: str
    eye_size: float
    eye_spacing: float
    iris_colour: str
    iris_rgb: RGB
    gaze: float
    brow_thickness: float
    brow_tilt: float
    nose_size: float
    mouth_width: float
    smile: float  # negative = frown
    mouth_open: bool
    blush: bool
    beard: bool
    yaw: float  # -1..1, shifts features horizontally
    roll: float  # degrees
    background_top: RGB
    background_bottom: RGB
    clothes: RGB
    hat: bool = False
    glasses: bool = False
    hand: bool = False
    face_paint: bool = False
    accent: RGB = (0, 0, 0)
    hand_side: int = 1
    rare: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        """A JSON-ready dict (tuples become lists)."""
        return asdict(self)


def _pick(rng: np.random.Generator, items: list, weights: list[float] | None = None):
    p = None if weights is None else np.asarray(weights) / np.sum(weights)
    return items[int(rng.choice(len(items), p=p))]


def sample_rare(seed: int, index: int, rates: dict[str, float] | None = None) -> list[str]:
    """The rare attributes of face ``index``: each independently with its configured rate."""
    rates = DEFAULT_RARE_RATES if rates is None else rates
    for name, rate in rates.items():
        if name not in DEFAULT_RARE_RATES:
            raise ConfigError(f"unknown rare attribute {name!r} (known: {', '.join(DEFAULT_RARE_RATES)})")
        if not 0.0 <= rate <= 1.0:
            raise ConfigError(f"rare rate for {name!r} must be in [0, 1], got {rate}")
    rng = np.random.default_rng(derive_seed(seed, "smoke-face-rare", index))
    draws = rng.random(len(DEFAULT_RARE_RATES))  # one draw per known attribute, in a fixed order
    return [name for name, u in zip(DEFAULT_RARE_RATES, draws) if u < rates.get(name, 0.0)]


def sample_attributes(seed: int, index: int, rates: dict[str, float] | None = None) -> FaceAttributes:
    """Draw the attributes of face ``index`` (no rendering)."""
    rng = np.random.default_rng(derive_seed(seed, "smoke-face", index))
    u = rng.uniform
    hair_colour = _pick(rng, list(HAIR), HAIR_WEIGHTS)
    iris_colour = _pick(rng, list(IRIS))
    bg = _pick(rng, BACKGROUNDS)
    shade = u(0.7, 1.0)
    skin = _pick(rng, SKIN)
    skin = tuple(int(np.clip(c + u(-8, 8), 0, 255)) for c in skin)
    attrs = FaceAttributes(
        index=index,
        head_rx=float(u(0.235, 0.285)),
        head_ry=float(u(0.3, 0.345)),
        jaw=float(u(0.0, 1.0)),
        skin=skin,
        hair_colour=hair_colour,
        hair_rgb=HAIR[hair_colour],
        hair_style=_pick(rng, HAIR_STYLES, HAIR_STYLE_WEIGHTS),
        eye_size=float(u(0.03, 0.048)),
        eye_spacing=float(u(-0.012, 0.012)),
        iris_colour=iris_colour,
        iris_rgb=IRIS[iris_colour],
        gaze=float(u(-0.4, 0.4)),
        brow_thickness=float(u(0.008, 0.022)),
        brow_tilt=float(u(-0.02, 0.025)),
        nose_size=float(u(0.7, 1.3)),
        mouth_width=float(u(0.05, 0.1)),
        smile=float(rng.choice([u(-0.5, 0.0), u(0.0, 1.0)], p=[0.2, 0.8])),
        mouth_open=bool(rng.random() < 0.3),
        blush=bool(rng.random() < 0.35),
        beard=bool(rng.random() < 0.12),
        yaw=float(u(-1.0, 1.0)),
        roll=float(u(-7.0, 7.0)),
        background_top=bg,
        background_bottom=tuple(int(c * shade) for c in bg),
        clothes=_pick(rng, CLOTHES),
        accent=_pick(rng, ACCENTS),
        hand_side=int(rng.choice([-1, 1])),
    )
    attrs.rare = sample_rare(seed, index, rates)
    for name in attrs.rare:
        setattr(attrs, name, True)
    return attrs


def _darken(c: RGB, f: float) -> RGB:
    return tuple(int(np.clip(v * f, 0, 255)) for v in c)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(int(round(x * (1 - t) + y * t)) for x, y in zip(a, b))


class _Painter:
    """Maps face coordinates (fractions of the output side) to the padded, supersampled canvas."""

    def __init__(self, side: int):
        self.side = side
        self.off = PAD * side
        self.full = int(round(side * (1 + 2 * PAD)))
        self.img = Image.new("RGB", (self.full, self.full))
        self.draw = ImageDraw.Draw(self.img, "RGBA")

    def p(self, x: float, y: float) -> tuple[float, float]:
        return (self.off + x * self.side, self.off + y * self.side)

    def s(self, v: float) -> float:
        return v * self.side

    def box(self, cx: float, cy: float, rx: float, ry: float) -> list[float]:
        (x0, y0), (x1, y1) = self.p(cx - rx, cy - ry), self.p(cx + rx, cy + ry)
        return [x0, y0, x1, y1]

    def ellipse(self, cx, cy, rx, ry, fill=None, outline=None, width: float = 0.0) -> None:
        self.draw.ellipse(self.box(cx, cy, rx, ry), fill=fill, outline=outline, width=max(1, int(self.s(width))))

    def polygon(self, pts, fill) -> None:
        self.draw.polygon([self.p(x, y) for x, y in pts], fill=fill)

    def line(self, pts, fill, width: float) -> None:
        self.draw.line([self.p(x, y) for x, y in pts], fill=fill, width=max(1, int(self.s(width))), joint="curve")

    def mask(self) -> tuple[Image.Image, ImageDraw.ImageDraw]:
        m = Image.new("L", self.img.size, 0)
        return m, ImageDraw.Draw(m)

    def paste(self, colour: RGB, mask: Image.Image) -> None:
        self.img.paste(colour, (0, 0), mask)


def _background(pt: _Painter, a: FaceAttributes) -> None:
    t = np.linspace(0.0, 1.0, pt.full, dtype=np.float32)[:, None, None]
    top, bottom = np.asarray(a.background_top, np.float32), np.asarray(a.background_bottom, np.float32)
    arr = np.broadcast_to(top * (1 - t) + bottom * t, (pt.full, pt.full, 3))
    pt.img.paste(Image.fromarray(arr.round().astype(np.uint8), "RGB"))


def _head_outline(a: FaceAttributes, cx: float, cy: float, grow: float = 0.0, n: int = 48) -> list:
    """A head contour: an ellipse whose lower half narrows towards the chin by ``jaw``."""
    pts = []
    for th in np.linspace(0, 2 * np.pi, n, endpoint=False):
        x, y = np.cos(th), np.sin(th)
        narrow = 1.0 - 0.18 * a.jaw * max(0.0, y) ** 2
        pts.append((cx + (a.head_rx + grow) * x * narrow, cy + (a.head_ry + grow) * y))
    return pts


def _hair_back(pt: _Painter, a: FaceAttributes, cx: float, cy: float) -> None:
    c, rx, ry = a.hair_rgb, a.head_rx, a.head_ry
    if a.hair_style == "long":
        pt.polygon(
            [(cx - rx - 0.05, cy - 0.05), (cx - rx - 0.09, 1.02), (cx + rx + 0.09, 1.02), (cx + rx + 0.05, cy - 0.05)],
            c,
        )
        pt.ellipse(cx, cy - 0.04, rx + 0.05, ry + 0.03, fill=c)
    elif a.hair_style == "bob":
        pt.ellipse(cx, cy - 0.02, rx + 0.05, ry + 0.03, fill=c)
        pt.polygon(
            [
                (cx - rx - 0.05, cy - 0.02),
                (cx - rx - 0.06, cy + 0.2),
                (cx + rx + 0.06, cy + 0.2),
                (cx + rx + 0.05, cy - 0.02),
            ],
            c,
        )
    elif a.hair_style == "bun":
        pt.ellipse(cx, cy - ry - 0.03, 0.075, 0.065, fill=c)


def _hair_front(pt: _Painter, a: FaceAttributes, cx: float, cy: float, fx: float) -> None:
    c, rx, ry = a.hair_rgb, a.head_rx, a.head_ry
    style = a.hair_style
    if style == "bald":
        for side in (-1, 1):
            pt.ellipse(cx + side * (rx - 0.01), cy - 0.06, 0.025, 0.06, fill=c)
        return
    m, d = pt.mask()
    d.ellipse(pt.box(cx, cy - 0.012, rx + 0.018, ry + 0.02), fill=255)
    drop = {"short": 0.12, "long": 0.1, "bob": 0.16, "curly": 0.11, "bun": 0.1, "spiky": 0.13}[style]
    wide = 1.12 if style == "bob" else 0.97  # a wider cut gives the bob its straight fringe
    d.ellipse(pt.box(cx + 0.35 * (fx - cx), cy + drop, rx * wide, ry * 0.97), fill=0)
    pt.paste(c, m)
    if style == "curly":
        for th in np.linspace(np.pi * 0.95, np.pi * 2.05, 11):
            pt.ellipse(cx + (rx + 0.01) * np.cos(th), cy - 0.01 + (ry + 0.01) * np.sin(th), 0.045, 0.045, fill=c)
    elif style == "spiky":
        pts = []
        for k, th in enumerate(np.linspace(np.pi * 1.05, np.pi * 1.95, 9)):
            r = 1.0 if k % 2 else 0.0
            pts.append((cx + (rx + 0.01 + 0.05 * r) * np.cos(th), cy - 0.01 + (ry + 0.01 + 0.07 * r) * np.sin(th)))
        pt.polygon([(cx - rx - 0.01, cy - 0.05), *pts, (cx + rx + 0.01, cy - 0.05)], c)


def _eye(pt: _Painter, a: FaceAttributes, ex: float, ey: float, scale: float) -> None:
    rx, ry = a.eye_size * 1.25 * scale, a.eye_size * scale
    pt.ellipse(ex, ey, rx, ry, fill=(250, 250, 250))
    ix = ex + a.gaze * rx * 0.35
    ir = ry * 0.85
    pt.ellipse(ix, ey, ir, ir, fill=a.iris_rgb)
    pt.ellipse(ix, ey, ir * 0.5, ir * 0.5, fill=(15, 12, 12))
    pt.ellipse(ix + ir * 0.3, ey - ir * 0.3, ir * 0.22, ir * 0.22, fill=(255, 255, 255))
    ts = np.linspace(np.pi * 1.05, np.pi * 1.95, 10)
    pt.line([(ex + rx * 1.05 * np.cos(t), ey + ry * 1.05 * np.sin(t)) for t in ts], (30, 20, 20), 0.009)


def _mouth(pt: _Painter, a: FaceAttributes, mx: float, my: float) -> None:
    w, curv = a.mouth_width, a.smile * 0.035
    ts = np.linspace(-1.0, 1.0, 13)
    upper = [(mx + w * t, my + curv * (1 - t * t) * 0.3 - curv * 0.15) for t in ts]
    lower = [(mx + w * t, my + curv * (1 - t * t) - curv * 0.15) for t in ts]
    lip = _mix(_darken(a.skin, 0.75), (190, 40, 60), 0.55)
    if a.mouth_open and a.smile > 0.2:
        pt.polygon(upper + lower[::-1], (90, 20, 30))
        teeth = [(mx + w * 0.8 * t, y + 0.004) for t, (_, y) in zip(ts, upper)]
        pt.line(teeth, (250, 250, 245), 0.012)
        pt.line(upper, lip, 0.01)
        pt.line(lower, lip, 0.012)
    else:
        pt.line(lower, lip, 0.016)


def _rare(pt: _Painter, a: FaceAttributes, cx: float, cy: float, fx: float, eyes: list) -> None:
    rx, ry = a.head_rx, a.head_ry
    if a.face_paint:
        col = a.accent if a.accent != (250, 250, 250) else (30, 90, 200)
        for ex, ey in eyes:
            side = 1 if ex > fx else -1
            for k in range(3):
                x0 = ex + side * (0.0 + 0.018 * k)
                pt.line([(x0 - side * 0.01, ey + 0.06), (x0 + side * 0.03, ey + 0.12)], col, 0.011)
        pt.polygon(
            [(fx, cy - ry + 0.11), (fx - 0.025, cy - ry + 0.15), (fx, cy - ry + 0.19), (fx + 0.025, cy - ry + 0.15)],
            col,
        )
    if a.glasses:
        frame = (20, 20, 30) if a.accent in ((250, 250, 250), (250, 200, 20)) else _darken(a.accent, 0.6)
        r = a.eye_size * 1.25 * 1.5
        for ex, ey in eyes:
            pt.ellipse(ex, ey, r, r * 0.85, fill=(200, 230, 255, 60), outline=frame, width=0.011)
        (lx, ly), (rx_, ry_) = eyes
        pt.line([(lx + r, ly), (rx_ - r, ry_)], frame, 0.01)
        pt.line([(lx - r, ly), (cx - rx, ly - 0.01)], frame, 0.01)
        pt.line([(rx_ + r, ry_), (cx + rx, ry_ - 0.01)], frame, 0.01)
    if a.hat:
        col = a.accent if a.accent != (250, 250, 250) else (60, 60, 70)
        top = cy - ry + 0.05
        pt.ellipse(cx, top, rx + 0.08, 0.035, fill=_darken(col, 0.8))
        pt.polygon(
            [(cx - rx * 0.85, top), (cx - rx * 0.75, top - 0.17), (cx + rx * 0.75, top - 0.17), (cx + rx * 0.85, top)],
            col,
        )
        pt.line([(cx - rx * 0.83, top - 0.03), (cx + rx * 0.83, top - 0.03)], _darken(col, 0.5), 0.025)
    if a.hand:
        skin = _mix(a.skin, (255, 210, 190), 0.15)
        edge = _darken(a.skin, 0.7)
        hx, hy = cx + a.hand_side * 0.1, cy + 0.26
        for k in range(4):
            fxk = hx + (k - 1.5) * 0.035
            pt.line([(fxk, hy), (fxk + a.hand_side * 0.01, hy - 0.13 + abs(k - 1.5) * 0.02)], edge, 0.034)
            pt.line([(fxk, hy), (fxk + a.hand_side * 0.01, hy - 0.13 + abs(k - 1.5) * 0.02)], skin, 0.026)
        pt.ellipse(hx, hy + 0.03, 0.085, 0.075, fill=skin, outline=edge, width=0.005)
        pt.polygon([(hx - 0.07, hy + 0.05), (hx + 0.07, hy + 0.05), (hx + 0.06, 1.1), (hx - 0.06, 1.1)], skin)


def render_face(a: FaceAttributes, size: int = 64, supersample: int = SUPERSAMPLE) -> Image.Image:
    """Draw the face described by ``a`` as a ``size`` x ``size`` RGB image."""
    pt = _Painter(size * supersample)
    _background(pt, a)
    cx, cy = 0.5 + a.yaw * 0.012, 0.5
    fx = cx + a.yaw * 0.035  # feature centre line (moves more than the head: a cheap yaw)
    rx = a.head_rx
    # shoulders and neck
    pt.ellipse(0.5, 1.05, 0.42, 0.2, fill=a.clothes)
    pt.polygon(
        [(cx - 0.07, cy + 0.2), (cx - 0.08, 0.92), (cx + 0.08, 0.92), (cx + 0.07, cy + 0.2)], _darken(a.skin, 0.85)
    )
    _hair_back(pt, a, cx, cy)
    for side in (-1, 1):  # ears; the far ear shrinks with yaw
        er = 0.04 * (1 - 0.3 * side * a.yaw * -1 if side * a.yaw < 0 else 1.0)
        pt.ellipse(cx + side * (rx - 0.005) - a.yaw * 0.01, cy + 0.015, er * 0.8, er * 1.3, fill=_darken(a.skin, 0.92))
    pt.polygon(_head_outline(a, cx, cy), a.skin)
    if a.beard:
        m, d = pt.mask()
        d.polygon([pt.p(x, y) for x, y in _head_outline(a, cx, cy, grow=0.008)], fill=255)
        d.rectangle([*pt.p(-0.1, -0.1), *pt.p(1.1, cy + 0.02)], fill=0)
        d.ellipse(pt.box(fx, cy + 0.04, rx * 0.75, 0.12), fill=0)  # cheeks stay bare: sideburns and jaw
        d.ellipse(pt.box(fx, cy + 0.2, a.mouth_width + 0.02, 0.035), fill=0)
        pt.paste(a.hair_rgb, m)
    if a.blush:
        for side in (-1, 1):
            pt.ellipse(fx + side * 0.13, EYE_Y + 0.1, 0.04, 0.025, fill=(240, 90, 100, 70))
    eyes = []
    for side in (-1, 1):
        ex = fx + side * (EYE_DX + a.eye_spacing)
        eyes.append((ex, EYE_Y))
        _eye(pt, a, ex, EYE_Y, 1.0 + 0.12 * side * a.yaw)
        by = EYE_Y - a.eye_size - 0.035
        brow = _darken(a.hair_rgb, 0.7) if a.hair_style != "bald" else (70, 50, 40)
        inner, outer = ex - side * 0.045, ex + side * 0.045
        pt.line(
            [(inner, by + a.brow_tilt * 0.5), (ex, by - 0.008), (outer, by - a.brow_tilt * 0.5)], brow, a.brow_thickness
        )
    ns, nx, ny = a.nose_size, fx + a.yaw * 0.012, EYE_Y + 0.115
    nose = _darken(a.skin, 0.72)
    pt.line([(nx - a.yaw * 0.005, ny - 0.07 * ns), (nx + 0.018 * ns, ny), (nx - 0.006, ny + 0.008 * ns)], nose, 0.009)
    pt.ellipse(nx - 0.014 * ns, ny + 0.004, 0.006, 0.004, fill=_darken(a.skin, 0.55))
    _mouth(pt, a, fx, EYE_Y + 0.205)
    _hair_front(pt, a, cx, cy, fx)
    _rare(pt, a, cx, cy, fx, eyes)
    img = pt.img
    if abs(a.roll) > 1e-3:
        img = img.rotate(a.roll, resample=Image.BICUBIC, center=pt.p(0.5, EYE_Y))
    off = int(round(pt.off))
    img = img.crop((off, off, off + pt.side, off + pt.side))
    return resize_pil(img, size)


def generate_faces(
    n: int, seed: int, size: int = 64, rates: dict[str, float] | None = None, start: int = 0
) -> list[tuple[Image.Image, FaceAttributes]]:
    """Faces ``start .. start+n-1`` of the dataset ``seed`` with their attributes."""
    out = []
    for i in range(start, start + n):
        attrs = sample_attributes(seed, i, rates)
        out.append((render_face(attrs, size), attrs))
    return out


def face_record(attrs: FaceAttributes, file_name: str) -> dict:
    """One record of the attributes file."""
    return {"id": attrs.index, "file": file_name, "rare": list(attrs.rare), "attributes": attrs.to_json()}


def write_face_dataset(
    out_dir: str | Path, n: int, seed: int, size: int = 64, rates: dict[str, float] | None = None
) -> Path:
    """Write ``NNNNN.png`` and ``attributes.json`` (see :data:`ATTRIBUTES_FILE`) into ``out_dir``, atomically.

    Files are written to a temporary sibling folder that is then renamed into place. An existing
    ``out_dir`` is replaced only if it is empty or is itself a face dataset (has the attributes file).
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / ATTRIBUTES_FILE).exists():
        raise ConfigError(f"{out_dir}: exists and is not a face dataset; refusing to overwrite it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    os.chmod(tmp, 0o777 & ~umask())  # mkdtemp makes 0700 folders; outputs get the ordinary permissions
    try:
        lines = []
        for i in range(n):
            attrs = sample_attributes(seed, i, rates)
            name = f"{i:05d}.png"
            save_png(render_face(attrs, size), tmp / name)
            lines.append(json.dumps(face_record(attrs, name), sort_keys=True))
        atomic_write_text(tmp / ATTRIBUTES_FILE, "[\n" + ",\n".join(lines) + "\n]\n")
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old")
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def read_attributes(folder: str | Path) -> list[dict]:
    """The records of a face dataset (``{id, file, rare, attributes}``, in id order)."""
    return json.loads((Path(folder) / ATTRIBUTES_FILE).read_text())
