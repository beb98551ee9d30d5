"""Variants: what one A/B arm shows, as frozen dataclasses, and what a variant produces (prompt, plan).

A variant file is the single source of truth for an arm. The lab writes it in a canonical form
(every field explicit) so that its content hash names exactly what was shown.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from lab.errors import VariantError
from lab.library.events import RankEvent
from lab.library.models import DEFAULT_MODEL, ModelSpec, SizePlan, plan_size
from lab.library.templates import colour_words, fill_template
from lab.render.styles import MOTION_COLOUR_KEY, MOTION_KNOBS, BeatSheet, beats_for

CORNERS = ("top_left", "top_right", "bottom_left", "bottom_right")
REQUIRED_LOCALES = ("en",)
CTA_MAX = 32
CHALLENGE_FALLBACK = "the leaderboard"

LADDER_KEYS = ("height", "duration_s", "particles", "backend")
# The seed article's fallback under GPU load; each step adds to the ones before it.
DEFAULT_LADDER: tuple[dict[str, Any], ...] = (
    {"height": 360},
    {"duration_s": 2},
    {"particles": False},
    {"backend": "motion"},
)
# Degrade levels run from 0 (as configured) to one per ladder step.
MAX_LEVEL = len(DEFAULT_LADDER)


@dataclass(frozen=True)
class Brand:
    primary: str = "#4CAF50"
    accent: str = "#FFC107"
    logo: str | None = None  # path relative to the variants folder
    logo_corner: str = "bottom_right"
    font: str = "Roboto"


@dataclass(frozen=True)
class Effects:
    particles: bool = True
    intensity: float = 0.7
    sound: bool = True  # a synthesised track per style in the MP4 (browsers still autoplay it muted)


@dataclass(frozen=True)
class Generation:
    width: int = 864
    height: int = 480
    fps: int = 24
    duration_s: float = 4.0
    steps: int = 20
    guidance: float = 7.5
    seed: int = 0


@dataclass(frozen=True)
class Lora:
    """A style LoRA: a diffusers-format folder relative to ``$HIGHLIGHT_LAB_LORAS``, applied at ``scale``."""

    path: str
    scale: float = 1.0


@dataclass(frozen=True)
class ModelOptions:
    """What the Wan backends add to the prompt: a key visual (image-to-video), a style LoRA, and guidance on the
    first ``cfg_steps`` steps only (None: every step). The motion background ignores them."""

    key_visual: str | None = None  # an image in the library's assets/ folder
    lora: Lora | None = None
    cfg_steps: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.key_visual is not None:
            out["key_visual"] = self.key_visual
        if self.lora is not None:
            out["lora"] = {"path": self.lora.path, "scale": self.lora.scale}
        if self.cfg_steps is not None:
            out["cfg_steps"] = self.cfg_steps
        return out


@dataclass(frozen=True)
class MotionOverrides:
    """A designer's changes to the style's beats (``styles.MOTION_KNOBS`` plus ``particle_colour``); None keeps the
    style's value. Written to the YAML, and so to the version hash, only when set: two timings of one style are
    two versions an A/B test can compare."""

    impact_s: float | None = None
    punch_scale: float | None = None
    hold_s: float | None = None
    particles: float | None = None
    particle_colour: str | None = None
    shake: float | None = None
    sound_db: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in _fields(self).items() if v is not None}


assert {*MOTION_KNOBS, MOTION_COLOUR_KEY} == set(MotionOverrides.__dataclass_fields__), \
    "MotionOverrides must hold exactly the knobs of styles.MOTION_KNOBS"


@dataclass(frozen=True)
class GenerationPlan:
    """Generation settings at one degrade level, snapped to what the model can make."""

    level: int
    size: SizePlan
    steps: int
    guidance: float
    seed: int
    particles: bool
    backend: str | None  # None: whatever the caller chose; "motion" once the ladder says so
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Variant:
    id: str
    title: str
    scenario: str
    style: str
    prompt_template: str
    negative_prompt: str
    cta: dict[str, str]
    brand: Brand = field(default_factory=Brand)
    effects: Effects = field(default_factory=Effects)
    generation: Generation = field(default_factory=Generation)
    degrade: tuple[dict[str, Any], ...] = DEFAULT_LADDER
    model: ModelOptions = field(default_factory=ModelOptions)
    motion: MotionOverrides = field(default_factory=MotionOverrides)

    # -- canonical form and identity -------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Every field, in schema order: what is written to YAML and hashed."""
        return {
            "id": self.id,
            "title": self.title,
            "scenario": self.scenario,
            "style": self.style,
            "prompt": {"template": self.prompt_template, "negative": self.negative_prompt},
            "cta": dict(self.cta),
            "brand": _fields(self.brand),
            # ``sound`` is written only when switched off, so versions saved before it existed keep their hash.
            "effects": {k: v for k, v in _fields(self.effects).items() if not (k == "sound" and v)},
            "generation": _fields(self.generation),
            "degrade": [dict(step) for step in self.degrade],
            # Written only when set, so that every variant saved before the block existed keeps its hash.
            **({"model": self.model.to_dict()} if self.model.to_dict() else {}),
            **({"motion": self.motion.to_dict()} if self.motion.to_dict() else {}),
        }

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True, width=100)

    @property
    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON; two variants with the same content share it."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @property
    def version(self) -> str:
        """Short content hash used to pin a variant in experiments (12 hex digits)."""
        return self.content_hash[:12]

    # -- what the variant produces -------------------------------------------------------
    @property
    def beats(self) -> BeatSheet:
        """The style's beat sheet with this variant's motion overrides: what the overlay and the sound follow."""
        return beats_for(self.style, self.motion.to_dict())

    def cta_for(self, locale: str) -> str:
        """CTA copy for a locale: exact tag, then its language, then English."""
        if locale in self.cta:
            return self.cta[locale]
        language = locale.split("-")[0]
        for tag, text in self.cta.items():
            if tag.split("-")[0] == language:
                return text
        return self.cta["en"]

    def prompt_variables(self, event: RankEvent) -> dict[str, str]:
        """Values for the template, from the variant and the event's non-personal fields only."""
        values = {
            "style": self.style.replace("_", " "),
            # Colours in words: a hex code in a prompt is text the model tries to draw; the overlay keeps the hex.
            "brand_primary": colour_words(self.brand.primary),
            "brand_accent": colour_words(self.brand.accent),
            "challenge": CHALLENGE_FALLBACK,
        }
        public = event.public_fields()
        for key in ("old_rank", "new_rank", "rank_delta", "challenge"):
            if public.get(key) is not None:
                values[key] = str(public[key])
        return values

    def prompt_for(self, event: RankEvent) -> str:
        """The text sent to the model. It cannot hold a name: templates may only use public variables."""
        return fill_template(self.prompt_template, self.prompt_variables(event), where=f"variant {self.id}")

    def generation_plan(self, level: int = 0, model: ModelSpec = DEFAULT_MODEL) -> GenerationPlan:
        """Settings at a degrade level (0 = as configured), snapped to the model's grid."""
        if not 0 <= level <= len(self.degrade):
            raise VariantError(
                f"variant {self.id}",
                f"degrade level {level} does not exist",
                f"choose 0 to {len(self.degrade)}",
            )
        gen = self.generation
        height, width, duration = gen.height, gen.width, gen.duration_s
        particles, backend = self.effects.particles, None
        reasons: list[str] = []
        for step in self.degrade[:level]:
            if "height" in step and step["height"] < height:
                width = round(width * step["height"] / height)
                height = step["height"]
            if "duration_s" in step:
                duration = min(duration, step["duration_s"])
            if "particles" in step:
                particles = particles and step["particles"]
            if "backend" in step:
                backend = step["backend"]
        size = plan_size(model, width, height, gen.fps, duration)
        if level:
            reasons.append(f"degrade level {level}: {_describe_steps(self.degrade[:level])}")
        return GenerationPlan(
            level=level,
            size=size,
            steps=gen.steps,
            guidance=gen.guidance,
            seed=gen.seed,
            particles=particles,
            backend=backend,
            warnings=tuple(reasons) + size.warnings,
        )

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the lab will change about this variant when it renders it as configured."""
        return self.generation_plan(0).warnings


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}


def _describe_steps(steps: tuple[dict[str, Any], ...]) -> str:
    words = {
        "height": lambda v: f"{v}p",
        "duration_s": lambda v: f"{v:g} s",
        "particles": lambda v: "particles on" if v else "particles off",
        "backend": lambda v: f"{v} background",
    }
    return ", ".join(words[key](value) for step in steps for key, value in step.items())


