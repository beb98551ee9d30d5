"""Variants: what one A/B arm shows, their schema, prompts, and the versioned YAML library.

A variant file is the single source of truth for an arm. The lab writes it in a canonical form
(every field explicit) so that its content hash names exactly what was shown.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lab.errors import VariantError, VersionConflict
from lab.events import LOCALE_RE, RankEvent
from lab.models import DEFAULT_MODEL, ModelSpec, SizePlan, plan_size
from lab.storage import atomic_write_text, file_lock

SCENARIOS = ("rank_up", "defend", "first_entry")
STYLES = (
    "fast_sprint",
    "slow_motion_celebration",
    "rival_ghost_exit",
    "shield_hold",
    "fireworks_welcome",
)
CORNERS = ("top_left", "top_right", "bottom_left", "bottom_right")
REQUIRED_LOCALES = ("en",)
CTA_MAX = 32
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
COLOR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")
# MLflow's prompt registry syntax: {{ name }}, whitespace inside the braces allowed.
PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")

PERSONAL_VARIABLES = ("user", "rival", "user_id", "name", "avatar", "event_id")
# The non-personal variables each scenario can fill; first entries have no old rank.
SCENARIO_VARIABLES: dict[str, tuple[str, ...]] = {
    "rank_up": ("old_rank", "new_rank", "rank_delta", "challenge", "style", "brand_primary", "brand_accent"),
    "defend": ("old_rank", "new_rank", "rank_delta", "challenge", "style", "brand_primary", "brand_accent"),
    "first_entry": ("new_rank", "challenge", "style", "brand_primary", "brand_accent"),
}
CHALLENGE_FALLBACK = "the leaderboard"

LADDER_KEYS = ("height", "duration_s", "particles", "backend")
# The seed article's fallback under GPU load; each step adds to the ones before it.
DEFAULT_LADDER: tuple[dict[str, Any], ...] = (
    {"height": 360},
    {"duration_s": 2},
    {"particles": False},
    {"backend": "motion"},
)


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
            "effects": _fields(self.effects),
            "generation": _fields(self.generation),
            "degrade": [dict(step) for step in self.degrade],
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
            "brand_primary": self.brand.primary,
            "brand_accent": self.brand.accent,
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


# -- templates ---------------------------------------------------------------------------


def template_variables(template: str) -> list[str]:
    """Names used as ``{{name}}`` in a template, in order of first use."""
    seen: list[str] = []
    for name in PLACEHOLDER_RE.findall(template):
        if name not in seen:
            seen.append(name)
    return seen


def check_template(template: str, scenario: str, where: str) -> None:
    """Refuse personal or unknown variables: names are drawn by the overlay, never sent to the model."""
    allowed = SCENARIO_VARIABLES[scenario]
    for name in template_variables(template):
        if name in PERSONAL_VARIABLES:
            raise VariantError(
                where,
                f"uses {{{{{name}}}}}, which is personal data",
                "names and ids never reach the model; the overlay draws them exactly on top of the "
                "background, so describe the scene without them",
            )
        if name not in allowed:
            raise VariantError(
                where,
                f"uses unknown variable {{{{{name}}}}}",
                f"a {scenario} template may use {', '.join('{{' + v + '}}' for v in allowed)}",
            )
    stray = PLACEHOLDER_RE.sub("", template)
    if "{{" in stray or "}}" in stray:
        raise VariantError(where, "has an unbalanced '{{' or '}}'", "write variables as {{new_rank}}")


def fill_template(template: str, values: dict[str, str], where: str) -> str:
    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise VariantError(where, f"template variable {{{{{name}}}}} has no value for this event")
        return values[name]

    return PLACEHOLDER_RE.sub(sub, template)


# -- parsing -----------------------------------------------------------------------------


def parse_variant(data: Any, where: str) -> Variant:
    """Build a variant from parsed YAML, refusing anything outside the schema with its location."""
    obj = _Obj(data, where)
    variant_id = obj.str("id")
    if not ID_RE.match(variant_id):
        raise VariantError(
            f"{where}: id",
            f"{variant_id!r} is not a valid id",
            "use lower-case letters, digits, '-' and '_' (at most 64 characters)",
        )
    scenario = obj.choice("scenario", SCENARIOS)
    style = obj.choice("style", STYLES)
    prompt = obj.obj("prompt")
    template = prompt.str("template")
    negative = prompt.str("negative", default="", allow_empty=True)
    prompt.done()
    check_template(template, scenario, f"{where}: prompt.template")
    check_template(negative, scenario, f"{where}: prompt.negative")

    cta_obj = obj.obj("cta")
    cta: dict[str, str] = {}
    for tag in list(cta_obj.data):
        if not isinstance(tag, str) or not LOCALE_RE.match(tag):
            raise VariantError(f"{where}: cta", f"{tag!r} is not a language tag", "use tags such as en, zh-CN")
        text = cta_obj.str(tag)
        if len(text) > CTA_MAX:
            raise VariantError(
                f"{where}: cta.{tag}",
                f"is {len(text)} characters long; a button holds at most {CTA_MAX}",
            )
        cta[tag] = text
    for tag in REQUIRED_LOCALES:
        if tag not in cta:
            raise VariantError(f"{where}: cta", f"has no {tag!r} copy", f"add cta.{tag}: it is the fallback locale")

    brand = _parse_brand(obj.obj("brand", optional=True), where)
    effects = _parse_effects(obj.obj("effects", optional=True))
    generation = _parse_generation(obj.obj("generation", optional=True))
    degrade = _parse_ladder(obj.get("degrade", list(DEFAULT_LADDER)), f"{where}: degrade")
    title = obj.str("title")
    obj.done()
    return Variant(
        id=variant_id,
        title=title,
        scenario=scenario,
        style=style,
        prompt_template=template,
        negative_prompt=negative,
        cta=cta,
        brand=brand,
        effects=effects,
        generation=generation,
        degrade=degrade,
    )


def _parse_brand(obj: _Obj, where: str) -> Brand:
    default = Brand()
    primary = obj.color("primary", default.primary)
    accent = obj.color("accent", default.accent)
    logo = obj.str("logo", default=None)
    corner = obj.choice("logo_corner", CORNERS, default=default.logo_corner)
    font = obj.str("font", default=default.font)
    obj.done()
    return Brand(primary=primary, accent=accent, logo=logo, logo_corner=corner, font=font)


def _parse_effects(obj: _Obj) -> Effects:
    default = Effects()
    particles = obj.bool("particles", default.particles)
    intensity = obj.number("intensity", default.intensity, low=0.0, high=1.0)
    obj.done()
    return Effects(particles=particles, intensity=intensity)


def _parse_generation(obj: _Obj) -> Generation:
    d = Generation()
    gen = Generation(
        width=obj.int("width", d.width, low=64, high=DEFAULT_MODEL.max_side),
        height=obj.int("height", d.height, low=64, high=DEFAULT_MODEL.max_side),
        fps=obj.int("fps", d.fps, low=1, high=60),
        duration_s=obj.number("duration_s", d.duration_s, low=0.5, high=10.0),
        steps=obj.int("steps", d.steps, low=1, high=200),
        guidance=obj.number("guidance", d.guidance, low=0.0, high=30.0),
        seed=obj.int("seed", d.seed, low=0, high=2**32 - 1),
    )
    obj.done()
    return gen


def _parse_ladder(value: Any, where: str) -> tuple[dict[str, Any], ...]:
    if not isinstance(value, list):
        raise VariantError(where, f"must be a list of steps, got {type(value).__name__}")
    steps = []
    for i, raw in enumerate(value):
        step = _Obj(raw, f"{where}[{i}]")
        out: dict[str, Any] = {}
        if "height" in step.data:
            out["height"] = step.int("height", 0, low=64, high=DEFAULT_MODEL.max_side)
        if "duration_s" in step.data:
            out["duration_s"] = step.number("duration_s", 0.0, low=0.5, high=10.0)
        if "particles" in step.data:
            out["particles"] = step.bool("particles", True)
        if "backend" in step.data:
            out["backend"] = step.choice("backend", ("motion",))
        step.done()
        if not out:
            raise VariantError(f"{where}[{i}]", "is empty", f"give one of {', '.join(LADDER_KEYS)}")
        steps.append(out)
    return tuple(steps)


class _Obj:
    """A YAML mapping being read: typed getters that name the exact key on error."""

    def __init__(self, data: Any, where: str, prefix: str = "") -> None:
        if not isinstance(data, dict):
            raise VariantError(where + (f": {prefix.rstrip('.')}" if prefix else ""),
                               f"must be a mapping, got {_type_name(data)}")
        self.data = data
        self.where = where
        self.prefix = prefix
        self.used: set[str] = set()

    def _loc(self, key: str) -> str:
        return f"{self.where}: {self.prefix}{key}"

    def get(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        return self.data.get(key, default)

    def obj(self, key: str, optional: bool = False) -> _Obj:
        value = self.get(key)
        if value is None:
            if not optional:
                raise VariantError(self._loc(key), "is required")
            value = {}
        return _Obj(value, self.where, f"{self.prefix}{key}.")

    def str(self, key: str, default: Any = ..., allow_empty: bool = False) -> Any:
        value = self.get(key)
        if value is None:
            if default is ...:
                raise VariantError(self._loc(key), "is required")
            return default
        if not isinstance(value, str):
            raise VariantError(self._loc(key), f"must be text, got {_type_name(value)}")
        if not allow_empty and not value.strip():
            raise VariantError(self._loc(key), "must not be empty")
        return value

    def choice(self, key: str, options: tuple[str, ...], default: str | None = None) -> str:
        value = self.str(key, default=default if default is not None else ...)
        if value not in options:
            raise VariantError(self._loc(key), f"{value!r} is not one of {', '.join(options)}")
        return value

    def color(self, key: str, default: str) -> str:
        value = self.str(key, default=default)
        if not COLOR_RE.match(value):
            raise VariantError(self._loc(key), f"{value!r} is not a colour", "write it as #RRGGBB, e.g. #4CAF50")
        return value.upper()

    def bool(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise VariantError(self._loc(key), f"must be true or false, got {_type_name(value)}")
        return value

    def int(self, key: str, default: int, low: int, high: int) -> int:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise VariantError(self._loc(key), f"must be a whole number, got {_type_name(value)}")
        if not low <= value <= high:
            raise VariantError(self._loc(key), f"must be between {low} and {high}, got {value}")
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise VariantError(self._loc(key), f"must be a number, got {_type_name(value)}")
        if not low <= value <= high:
            raise VariantError(self._loc(key), f"must be between {low:g} and {high:g}, got {value:g}")
        return float(value)

    def done(self) -> None:
        unknown = [k for k in self.data if k not in self.used]
        if unknown:
            raise VariantError(self._loc(str(unknown[0])), "is not a known field",
                               "check the spelling against the variant schema in the README")


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    return {str: "text", bool: "true/false", int: "a whole number", float: "a number", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__) + (
        f" {value!r}" if isinstance(value, (str, int, float)) and not isinstance(value, bool) else "")


def load_variant_file(path: Path) -> Variant:
    """Read and validate one variant YAML file; errors name the file and the key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VariantError(str(path), "no such file") from None
    except UnicodeDecodeError:
        raise VariantError(str(path), "is not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise VariantError(str(path), f"is not valid YAML{at}: {problem}") from None
    return parse_variant(data, str(path))


# -- the versioned library ---------------------------------------------------------------


@dataclass(frozen=True)
class VersionInfo:
    hash: str
    parent: str | None
    saved_at: str
    author: str | None
    note: str | None

    @property
    def short(self) -> str:
        return self.hash[:12]


class VariantLibrary:
    """A folder of variants: ``<id>.yaml`` is the current version of each, and
    ``versions/<id>/<hash>.yaml`` keeps every saved version, immutable, for pinning and history."""

    VERSIONS = "versions"

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    # paths
    def path(self, variant_id: str) -> Path:
        return self.root / f"{variant_id}.yaml"

    def _version_dir(self, variant_id: str) -> Path:
        return self.root / self.VERSIONS / variant_id

    def _lock(self) -> Any:
        return file_lock(self.root / ".lock")

    # reading
    def ids(self) -> list[str]:
        return sorted(p.stem for p in self.root.glob("*.yaml"))

    def load(self, variant_id: str) -> Variant:
        path = self.path(variant_id)
        if not path.exists():
            known = ", ".join(self.ids()) or "none"
            raise VariantError(f"variant {variant_id!r}", f"not found in {self.root}", f"known variants: {known}")
        variant = load_variant_file(path)
        if variant.id != variant_id:
            raise VariantError(str(path), f"holds id {variant.id!r}", f"rename the file to {variant.id}.yaml")
        return variant

    def load_all(self) -> list[Variant]:
        return [self.load(i) for i in self.ids()]

    def history(self, variant_id: str) -> list[VersionInfo]:
        """Saved versions, newest first."""
        infos = []
        for path in self._version_dir(variant_id).glob("*.yaml"):
            meta = yaml.safe_load(path.read_text(encoding="utf-8"))
            infos.append(
                VersionInfo(meta["hash"], meta.get("parent"), meta["saved_at"], meta.get("author"), meta.get("note"))
            )
        return sorted(infos, key=lambda v: v.saved_at, reverse=True)

    def resolve_version(self, variant_id: str, ref: str) -> str:
        """Full hash for a prefix of at least 7 hex digits, or 'current' for the current file."""
        if ref == "current":
            return self.load(variant_id).content_hash
        if not re.fullmatch(r"[0-9a-f]{7,64}", ref):
            raise VariantError(f"version {ref!r}", "is not a version hash", "give 7 or more hex digits, or 'current'")
        matches = [v.hash for v in self.history(variant_id) if v.hash.startswith(ref)]
        if not matches:
            raise VariantError(
                f"variant {variant_id!r}", f"has no saved version {ref}",
                f"see `highlight-lab variants history {variant_id}`",
            )
        if len(matches) > 1:
            raise VariantError(f"version {ref!r}", "matches several versions", "give more hex digits")
        return matches[0]

    def load_version(self, variant_id: str, ref: str) -> Variant:
        full = self.resolve_version(variant_id, ref)
        if ref == "current":
            return self.load(variant_id)
        path = self._version_dir(variant_id) / f"{full[:12]}.yaml"
        meta = yaml.safe_load(path.read_text(encoding="utf-8"))
        variant = parse_variant(meta["variant"], str(path))
        if variant.content_hash != full:
            raise VariantError(
                str(path), "content does not match its hash", "the file was edited by hand; restore it from git"
            )
        return variant

    def is_recorded(self, variant: Variant) -> bool:
        return (self._version_dir(variant.id) / f"{variant.version}.yaml").exists()

    def diff(self, variant_id: str, a: str, b: str = "current") -> str:
        """Unified diff of two versions' canonical YAML; empty when they are the same."""
        old, new = self.load_version(variant_id, a), self.load_version(variant_id, b)
        return "".join(
            difflib.unified_diff(
                old.to_yaml().splitlines(keepends=True),
                new.to_yaml().splitlines(keepends=True),
                fromfile=f"{variant_id}@{old.version}",
                tofile=f"{variant_id}@{new.version}",
            )
        )

    # writing
    def save(
        self, variant: Variant, base: str | None, author: str | None = None, note: str | None = None
    ) -> VersionInfo:
        """Save ``variant`` as a new version on top of ``base`` (the version the edit started from).

        Refuses with ``VersionConflict`` when the current version is not ``base``: someone else saved
        in between, and writing now would lose their edit. A new variant is saved with ``base=None``.
        """
        with self._lock():
            path = self.path(variant.id)
            current = self.load(variant.id) if path.exists() else None
            if current is None and base is not None:
                raise VersionConflict(
                    f"variant {variant.id!r}", f"does not exist, so it cannot be based on version {base[:12]}",
                    "save it as a new variant (no base)",
                )
            if current is not None:
                if base is None:
                    raise VersionConflict(
                        f"variant {variant.id!r}", f"already exists at version {current.version}",
                        "pass the version your edit started from as the base, or choose another id",
                    )
                if not current.content_hash.startswith(base):
                    raise VersionConflict(
                        f"variant {variant.id!r}",
                        f"was saved as version {current.version} since your edit of version {base[:12]}",
                        "reload it, re-apply your change and save again; nothing was written",
                    )
                if current.content_hash == variant.content_hash and self.is_recorded(current):
                    return self._info(variant)
            parent = current.content_hash if current is not None else None
            return self._write(variant, parent, author, note)

    def record(self, variant_id: str, author: str | None = None, note: str | None = None) -> VersionInfo:
        """Record an edit made to ``<id>.yaml`` outside the lab (by hand, or a git merge) as a version."""
        with self._lock():
            variant = self.load(variant_id)
            if self.is_recorded(variant):
                return self._info(variant)
            history = self.history(variant_id)
            parent = history[0].hash if history else None
            return self._write(variant, parent, author, note)

    def _info(self, variant: Variant) -> VersionInfo:
        return next(v for v in self.history(variant.id) if v.hash == variant.content_hash)

    def _write(self, variant: Variant, parent: str | None, author: str | None, note: str | None) -> VersionInfo:
        saved_at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
        snapshot = {
            "hash": variant.content_hash,
            "parent": parent,
            "saved_at": saved_at,
            "author": author,
            "note": note,
            "variant": variant.to_dict(),
        }
        header = "# Saved version of a variant: immutable, pinned by experiments. Edit ../../<id>.yaml instead.\n"
        # The snapshot goes first: a crash between the two writes leaves the old current file and a
        # harmless extra snapshot, never a current file whose version is missing.
        atomic_write_text(
            self._version_dir(variant.id) / f"{variant.version}.yaml",
            header + yaml.safe_dump(snapshot, sort_keys=False, allow_unicode=True, width=100),
        )
        atomic_write_text(self.path(variant.id), variant.to_yaml())
        return VersionInfo(variant.content_hash, parent, saved_at, author, note)


def with_changes(variant: Variant, **changes: Any) -> Variant:
    """A copy with fields changed, re-validated through the schema (so edits cannot skip a rule)."""
    data = variant.to_dict()
    for key, value in changes.items():
        target = data
        parts = key.split("__")
        for part in parts[:-1]:
            target = target[part]
        target[parts[-1]] = value
    return parse_variant(data, f"variant {variant.id}")


__all__ = [
    "Brand",
    "Effects",
    "Generation",
    "GenerationPlan",
    "Variant",
    "VariantLibrary",
    "VersionInfo",
    "check_template",
    "load_variant_file",
    "parse_variant",
    "with_changes",
]
