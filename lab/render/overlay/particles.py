"""Particles: the impact's burst of streak sparks, fireworks, falling sparks and confetti, planned from the layout
and the seed alone (nothing personal: the compositor draws them once per background for every user,
``compositor.decor_frames``), under the text, so nothing buries a name or the rank.

Sparks are streak sprites picked from 16 angle bins by their current velocity and added as light
(``yuv.glow``); confetti are paper strips that tumble (8 turns) and flutter down, blended as paint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lab.render.overlay.beats import Timeline
from lab.render.overlay.layout import Layout, even
from lab.render.overlay.sprites import shared
from lab.render.styles import StyleSpec
from lab.render.yuv import Sprite, blend, glow

STREAK_BINS = 16
TURNS = 8  # confetti tumble steps
FIREWORK_COLOURS = ((255, 72, 96), (72, 220, 255), (255, 110, 235), (255, 214, 64), (120, 255, 150))
FIREWORK_REACH = 1.0  # a firework's sparks fly up to the frame's short side from its corner (~3x the first pass's)
# where fireworks may burst, as shares of the frame: its corners first, then the middles of its top and bottom
FIREWORK_SPOTS = ((0.08, 0.08), (0.92, 0.1), (0.91, 0.91), (0.09, 0.89), (0.5, 0.05), (0.5, 0.95))


def away_from(boxes: list[tuple[float, ...]], width: int, height: int, count: int) -> list[tuple[float, float]]:
    """The ``count`` firework spots farthest from every text box (the corners when they are free), in the order
    of FIREWORK_SPOTS."""
    def room(spot: tuple[float, float]) -> float:
        x, y = spot[0] * width, spot[1] * height
        return min((math.hypot(max(b[0] - x, 0, x - b[2]), max(b[1] - y, 0, y - b[3])) for b in boxes), default=1e9)

    best = sorted(FIREWORK_SPOTS, key=lambda spot: -room(spot))[:count]
    return [(x * width, y * height) for x, y in FIREWORK_SPOTS if (x, y) in best]


@dataclass
class Particle:
    x: float
    y: float
    vx: float
    vy: float
    born: float
    life: float
    colour: int  # index into the palette
    gravity: float = 0.0  # px/s², downwards
    drag: float = 0.0  # seconds: the speed falls as e^(-age/drag) toward ``fall`` (0 = no drag)
    fall: float = 0.0  # px/s: the speed a dragged particle drifts down at, in the end
    kind: str = "spark"  # spark | firework | confetti
    sway: float = 0.0  # confetti: side-to-side flutter, px
    spin: float = 0.0  # confetti: tumbles per second
    phase: float = 0.0

    def at(self, age: float) -> tuple[float, float, float, float]:
        """Position and velocity ``age`` seconds after birth."""
        if self.drag:
            e = math.exp(-age / self.drag)
            done = self.drag * (1 - e)
            x = self.x + self.vx * done + self.sway * math.sin(2 * math.pi * 0.9 * age + self.phase)
            y = self.y + self.vy * done + self.fall * (age - done) + 0.5 * self.gravity * age * age
            return x, y, self.vx * e, self.vy * e + self.fall * (1 - e) + self.gravity * age
        vy = self.vy + self.gravity * age
        return self.x + self.vx * age, self.y + self.vy * age + 0.5 * self.gravity * age * age, self.vx, vy


def ring_burst(rng: np.random.Generator, cx: float, cy: float, rx: float, ry: float, t0: float, count: int,
               speed: float, life: float, colours: tuple[int, ...], gravity: float) -> list[Particle]:
    """Sparks that start on an ellipse around the rank (not on it) and fly outward."""
    out = []
    for _ in range(count):
        ang = rng.uniform(0, 2 * math.pi)
        c, s = math.cos(ang), math.sin(ang)
        v = speed * rng.uniform(0.45, 1.0)
        out.append(Particle(cx + rx * c, cy + ry * s, v * c, v * s, t0 + rng.uniform(0, 0.05),
                            life * rng.uniform(0.6, 1.0), int(rng.choice(colours)), gravity))
    return out


class Particles:
    """Every particle of one render, and the sprites they are drawn with."""

    def __init__(self, lay: Layout, tl: Timeline, spec: StyleSpec, palette: list[tuple[int, int, int]],
                 amount: float, seed: int, rank_box: tuple[float, float, float, float],
                 clip: tuple[int, int, int, int] | None, confetti_colours: tuple[int, ...],
                 avoid: list[tuple[float, ...]] = ()) -> None:
        self.lay, self.tl, self.spec, self.clip = lay, tl, spec, clip
        self.avoid = [tuple(b) for b in avoid]  # text boxes the fireworks keep away from
        self.confetti_colours = confetti_colours
        s = lay.s
        self.streaks = [[shared("streak", even(30 * s), max(4, even(7 * s)), b, STREAK_BINS, c)
                         for b in range(STREAK_BINS)] for c in palette]
        self.big_streaks = [[shared("streak", even(56 * s), max(6, even(10 * s)), b, STREAK_BINS, c)
                             for b in range(STREAK_BINS)] for c in palette] if spec.fireworks else []
        self.confetti = [[shared("confetti", even(16 * s), even(8 * s), c, t, TURNS) for t in range(TURNS)]
                         for c in palette] if spec.confetti else []
        self.items = self._plan(np.random.default_rng(seed), palette, amount, rank_box) if amount > 0 else []
        # what they depend on: the compositor draws them once per background for every user
        self.recipe = (lay, tl, spec, tuple(palette), amount, seed, clip, confetti_colours, tuple(self.avoid))

    def _plan(self, rng: np.random.Generator, palette: list, amount: float,
              rank_box: tuple[float, float, float, float]) -> list[Particle]:
        lay, tl, spec, s = self.lay, self.tl, self.spec, self.lay.s
        W, H = lay.width, lay.height
        x0, y0, x1, y1 = rank_box
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        speed = 360 * s * spec.spark_speed
        # an ellipse through the letters' box's corners (half-axes x sqrt 2), a little wider: off the number
        out = ring_burst(rng, cx, cy, (x1 - x0) * 0.75, (y1 - y0) * 0.75, tl.impact, int(30 * amount), speed,
                         spec.spark_life, (0, 1, 2), spec.spark_gravity * s)
        if spec.fireworks:
            spots = away_from(self.avoid, W, H, 4)
            for i, t0 in enumerate(tl.firework_times()):
                fx, fy = spots[i % len(spots)]
                fx, fy = fx + W * rng.uniform(-0.02, 0.02), fy + H * rng.uniform(-0.02, 0.02)
                colour = 3 + (i * 2 + int(rng.integers(0, 5))) % 5
                rise = 0.3
                out.append(Particle(fx, H * 1.02, 0, (fy - H * 1.02) / rise, t0 - rise, rise, 1, kind="firework"))
                reach = min(W, H) * FIREWORK_REACH  # as far as a spark flies (drag stops it there)
                for _ in range(int(44 * amount)):
                    ang = rng.uniform(0, 2 * math.pi)
                    v = reach / 0.45 * rng.uniform(0.6, 1.0)
                    out.append(Particle(fx, fy, v * math.cos(ang), v * math.sin(ang), t0 + rng.uniform(0, 0.03),
                                        1.3 * rng.uniform(0.7, 1.0), int(rng.choice((colour, colour, 1))),
                                        gravity=90 * s, drag=0.45, kind="firework"))
        if spec.falling_sparks:
            top = self.clip[1] if self.clip else 0
            for _ in range(int(30 * amount)):
                out.append(Particle(rng.uniform(0, W), rng.uniform(top, H * 0.6), rng.uniform(-20, 20) * s,
                                    rng.uniform(60, 110) * s, rng.uniform(-1.0, tl.transition * 0.8), 4.0,
                                    int(rng.choice((0, 1)))))
        if spec.confetti:
            n = int(spec.confetti * amount)
            for i in range(n):  # two cannons in the bottom corners fire at the impact; the paper flutters down
                side = i % 2
                ang = math.radians(rng.uniform(58, 82))
                v = H * rng.uniform(2.6, 4.2)
                out.append(Particle(W * (0.02 if side == 0 else 0.98), H * 1.02,
                                    v * math.cos(ang) * (1 if side == 0 else -1) * rng.uniform(0.5, 1.0),
                                    -v * math.sin(ang), tl.impact + rng.uniform(0, 0.12), 9.0,
                                    int(rng.choice(self.confetti_colours)), drag=0.3, fall=H * rng.uniform(0.12, 0.22),
                                    kind="confetti", sway=rng.uniform(6, 16) * s, spin=rng.uniform(0.8, 2.2),
                                    phase=rng.uniform(0, 2 * math.pi)))
        return out

    def draw(self, frame: np.ndarray, t: float, opacity: float = 1.0) -> None:
        """Draw the particles alive at ``t``."""
        H, W, rate = self.lay.height, self.lay.width, self.spec.spark_time
        for p in self.items:
            age = (t - p.born) * (rate if p.kind == "spark" else 1.0)
            if age < 0 or age > p.life:
                continue
            x, y, vx, vy = p.at(age)
            if p.kind == "confetti":
                if y > H + 20 or x < -20 or x > W + 20:
                    continue
                spr = self.confetti[p.colour][int((p.phase + age * p.spin) * TURNS) % TURNS]
                blend(frame, H, W, spr, int(x - spr.width / 2), int(y - spr.height / 2), opacity, self.clip)
                continue
            b = int(round(math.atan2(vy, vx) / (2 * math.pi) * STREAK_BINS)) % STREAK_BINS
            sprites: list[list[Sprite]] = self.big_streaks if p.kind == "firework" else self.streaks
            spr = sprites[p.colour][b]
            fade = 1 - age / p.life
            glow(frame, H, W, spr, int(x - spr.width / 2), int(y - spr.height / 2), fade * opacity, self.clip)
