"""The frame strip: a contact sheet of one variant's beats (wind-up, leap, impact, punch, hold, flight, end card),
made in a fraction of a second at a small size, so the studio can redraw it as a designer moves a slider.

Always on the procedural motion background (a model background takes seconds to minutes); the overlay, the
camera and the end card are the very ones a render draws (``compositor.Compositor``).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from lab.errors import LabError
from lab.library.assets import resolve_asset
from lab.library.events import RankEvent
from lab.library.variant import Variant
from lab.render.compositor import Compositor
from lab.render.motion import motion_background
from lab.render.overlay import EndCard, Overlay, timeline
from lab.render.overlay.endcard import SETTLED_S
from lab.render.text import draw_text
from lab.render.yuv import yuv420_to_rgb

ORIENTATIONS = ("landscape", "portrait")
LABEL_H = 18  # px of label over each thumbnail


@dataclass(frozen=True)
class Beat:
    name: str
    t: float
    frame: int


def beats_of(variant: Variant, fps: int, frames: int) -> list[Beat]:
    """The moments the strip shows, at the variant's own timing (its motion overrides included)."""
    tl = timeline(variant.beats, (frames - 1) / fps, fps)
    settle = tl.impact + tl.punch_s
    moments = [("start", 0.0), ("wind-up", tl.leap), ("leap", (tl.leap + tl.impact) / 2), ("impact", tl.impact),
               ("punch", tl.impact + tl.punch_s * 0.35), ("hold", (settle + tl.transition) / 2),
               ("flight", tl.transition + tl.flight_s / 2), ("end card", tl.end_card + SETTLED_S)]
    last = frames - 1
    return [Beat(name, t, min(int(math.ceil(t * fps - 1e-6)), last)) for name, t in moments]  # at or after it


def beat_sheet(variant: Variant, event: RankEvent, orientation: str = "landscape", thumb_width: int = 192,
               columns: int = 4, logo_root: Path | None = None) -> Image.Image:
    """A contact sheet of ``variant``'s beats for ``event`` in ``orientation``: one labelled thumbnail per beat
    (``beats_of``), each ``thumb_width`` px wide, ``columns`` to a row. ``logo_root``: the variants folder, for
    the brand logo (none drawn without it)."""
    if orientation not in ORIENTATIONS:
        raise LabError("frame strip", f"{orientation!r} is not an orientation", "use landscape or portrait")
    if event.scenario != variant.scenario:
        raise LabError(f"variant {variant.id}", f"is for {variant.scenario} events, the event is {event.scenario}",
                       "choose a variant of the event's scenario")
    size = variant.generation_plan(0).size
    w, h = (thumb_width, thumb_width * 9 / 16) if orientation == "landscape" else (thumb_width, thumb_width * 16 / 9)
    w, h = int(w) // 4 * 4, int(h) // 4 * 4  # yuv420p frames here need sides in multiples of 4
    fps, frames = size.fps, size.frames
    beats = beats_of(variant, fps, frames)
    wanted = frozenset(b.frame for b in beats)
    v = variant
    background = motion_background(v.style, v.brand.primary, v.brand.accent, w, h, frames, fps,
                                   v.generation.seed, v.effects.intensity, v.effects.particles, only=wanted)
    logo = None
    if logo_root is not None and v.brand.logo:
        logo = str(resolve_asset(Path(logo_root), v.brand.logo, f"variant {v.id}: brand.logo"))
    overlay = Overlay(v, event, w, h, fps, frames, particles=v.effects.particles, seed=v.generation.seed)
    card = EndCard(v, event, w, h, logo, None, overlay.tl)
    key = "strip:" + hashlib.sha256(f"{v.content_hash}:{w}x{h}:{sorted(wanted)}".encode()).hexdigest()[:16]
    comp = Compositor(overlay, card, background, key, only=wanted)
    pad = 4
    rows = -(-len(beats) // columns)
    sheet = Image.new("RGB", (columns * (w + pad) + pad, rows * (h + LABEL_H + pad) + pad), (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    for i, beat in enumerate(beats):
        x, y = pad + (i % columns) * (w + pad), pad + (i // columns) * (h + LABEL_H + pad)
        sheet.paste(Image.fromarray(yuv420_to_rgb(comp.frame(beat.frame), h, w)), (x, y + LABEL_H))
        draw_text(draw, (x + 2, y + LABEL_H - 5), f"{beat.name} {beat.t:.2f}s", 11, (210, 210, 215))
    return sheet
