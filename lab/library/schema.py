"""The YAML reader: parsed YAML in, a validated object out, every refusal naming the exact key.

``Fields`` reads one mapping with typed getters; ``parse_variant`` builds a variant with it, and experiment
specs share its id pattern.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from lab.errors import LabError, VariantError, excerpt
from lab.library.events import LOCALE_RE, SCENARIOS
from lab.library.freetext import LABEL_MAX, TITLE_MAX, check_free_text
from lab.library.models import DEFAULT_MODEL
from lab.library.templates import check_template
from lab.library.variant import (
    CORNERS,
    CTA_MAX,
    DEFAULT_LADDER,
    LADDER_KEYS,
    REQUIRED_LOCALES,
    Brand,
    Effects,
    Generation,
    Lora,
    ModelOptions,
    MotionOverrides,
    Variant,
)
from lab.render.styles import MOTION_COLOUR_KEY, MOTION_KNOBS, STYLES, beats_for, check_beats

# Variant ids and experiment keys: safe as file names, URLs and MLflow names. Always ``fullmatch``: a
# ``$``-anchored ``match`` also accepts a trailing newline.
ID_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
COLOR_RE = re.compile(r"#[0-9A-Fa-f]{6}")
ID_FIX = "use lower-case letters, digits, '-' and '_' (at most 64 characters)"


def check_id(value: object, where: str, error: type[LabError] = VariantError) -> str:
    """An id (variant or experiment) that is safe to become a file name; every id that becomes a path
    goes through here, so ``../../x`` never reads outside the library."""
    if not isinstance(value, str) or not ID_RE.fullmatch(value):
        raise error(where, f"{excerpt(value)} is not a valid id", ID_FIX)
    return value


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a mapping that repeats a key (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # '<<: *base' is checked by the base loader
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: the base constructor refuses it with its position
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, f"duplicate key {excerpt(key)}", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str, where: str, error: type[LabError] = VariantError) -> Any:
    """Parse YAML (variants, saved versions, experiment specs) with the error naming the line, never the text."""
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise error(where, f"is not valid YAML{at}: {excerpt(problem, 80, quote=False)}") from None
    except RecursionError:
        raise error(where, "is nested too deeply to be read", "flatten the file") from None
    except ValueError as exc:  # PyYAML's int() of a number past Python's 4300-digit limit
        raise error(where, f"holds a value that cannot be read ({excerpt(str(exc), 60, quote=False)})") from None


# A variant, a saved version or an experiment spec is a few KB: a far larger file is refused before YAML parses
# it (PyYAML reads about a megabyte a second, so a 30 MB title would hold a command for half a minute).
YAML_MAX_BYTES = 256 * 1024
# Any text field without a tighter bound of its own (templates have theirs, tied to the text encoder).
TEXT_MAX = 4000


def read_text(path: Path, error: type[LabError] = VariantError, limit: int = YAML_MAX_BYTES) -> str:
    """A UTF-8 text file of at most ``limit`` bytes, with a one-line error for a missing file, a folder, a
    binary file or one too large to be what it claims."""
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise error(str(path), f"is over {limit // 1024:,} KB; a library file is a few KB",
                        "check that this is the right file")
        return data.decode("utf-8")
    except FileNotFoundError:
        raise error(str(path), "no such file") from None
    except IsADirectoryError:
        raise error(str(path), "is a folder, not a file") from None
    except UnicodeDecodeError:
        raise error(str(path), "is not UTF-8 text") from None
    except OSError as exc:
        raise error(str(path), f"cannot be read ({exc.strerror})") from None


# A relative path of plain segments: no "..", no absolute path, no characters a shell or URL would treat apart.
SEGMENT_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}")
KEY_VISUAL_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
PATH_MAX = 255  # a logo, key visual or LoRA path


def parse_variant(data: Any, where: str) -> Variant:
    """Build a variant from parsed YAML, refusing anything outside the schema with its location."""
    obj = Fields(data, where)
    variant_id = check_id(obj.str("id"), f"{where}: id")
    scenario = obj.choice("scenario", SCENARIOS)
    style = obj.choice("style", STYLES)
    prompt = obj.obj("prompt")
    template = prompt.str("template")
    negative = prompt.str("negative", default="", allow_empty=True)
    prompt.done()
    for text, field in ((template, "template"), (negative, "negative")):  # no escape sequence reaches the model
        check_free_text(text, f"{where}: prompt.{field}", len(text), VariantError, multiline=True)
        check_template(text, scenario, f"{where}: prompt.{field}")

    cta_obj = obj.obj("cta")
    cta: dict[str, str] = {}
    for tag in list(cta_obj.data):
        if not isinstance(tag, str) or not LOCALE_RE.fullmatch(tag):
            raise VariantError(f"{where}: cta", f"{excerpt(tag)} is not a language tag", "use tags such as en, zh-CN")
        text = cta_obj.str(tag)
        if len(text) > CTA_MAX:
            raise VariantError(
                f"{where}: cta.{tag}",
                f"is {len(text)} characters long; a button holds at most {CTA_MAX}",
            )
        cta[tag] = check_free_text(text, f"{where}: cta.{tag}", CTA_MAX, VariantError)
    for tag in REQUIRED_LOCALES:
        if tag not in cta:
            raise VariantError(f"{where}: cta", f"has no {tag!r} copy", f"add cta.{tag}: it is the fallback locale")

    brand = _parse_brand(obj.obj("brand", optional=True), where)
    effects = _parse_effects(obj.obj("effects", optional=True))
    generation = _parse_generation(obj.obj("generation", optional=True))
    degrade = _parse_ladder(obj.get("degrade", list(DEFAULT_LADDER)), f"{where}: degrade")
    model = _parse_model(obj.obj("model", optional=True), generation)
    motion = _parse_motion(obj.obj("motion", optional=True), style, generation)
    title = check_free_text(obj.str("title", max_len=TITLE_MAX), obj._loc("title"), TITLE_MAX, VariantError)
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
        model=model,
        motion=motion,
    )


def _relative_path(obj: Fields, key: str, where: str, fix: str) -> str | None:
    value = obj.str(key, default=None, max_len=PATH_MAX)
    if value is None:
        return None
    parts = value.split("/")
    if not all(SEGMENT_RE.fullmatch(part) for part in parts):
        raise VariantError(where, f"{excerpt(value)} is not a plain relative path", fix)
    return value


def _parse_model(obj: Fields, generation: Generation) -> ModelOptions:
    """The Wan-only options: key visual (image-to-video), style LoRA, guidance on the first k steps."""
    key_visual = _relative_path(obj, "key_visual", obj._loc("key_visual"),
                                "name an image in the library's assets folder, e.g. assets/key-visual.png")
    if key_visual is not None and (not key_visual.startswith("assets/") or
                                   not key_visual.lower().endswith(KEY_VISUAL_SUFFIXES)):
        raise VariantError(obj._loc("key_visual"), f"{key_visual!r} is not a PNG, JPEG or WebP file under assets/",
                           "put the image in the library's assets folder and name it as assets/NAME.png")
    lora = None
    if obj.get("lora") is not None:
        lo = obj.obj("lora")
        path = _relative_path(lo, "path", lo._loc("path"),
                              "name a folder relative to $HIGHLIGHT_LAB_LORAS, e.g. brand-style")
        if path is None:
            raise VariantError(lo._loc("path"), "is required", "name the LoRA folder, e.g. brand-style")
        scale = lo.number("scale", 1.0, low=0.0, high=2.0)
        lo.done()
        lora = Lora(path=path, scale=scale)
    cfg_steps = obj.get("cfg_steps")
    if cfg_steps is not None:
        cfg_steps = obj.int("cfg_steps", 0, low=1, high=generation.steps)
    obj.done()
    return ModelOptions(key_visual=key_visual, lora=lora, cfg_steps=cfg_steps)


def _parse_motion(obj: Fields, style: str, generation: Generation) -> MotionOverrides:
    """A designer's overrides of the style's beats, each in its range (``styles.MOTION_KNOBS``), and the beats they
    make checked against the video's length (the end card keeps its time)."""
    values: dict[str, Any] = {}
    for key, knob in MOTION_KNOBS.items():
        if obj.get(key) is not None:
            values[key] = obj.number(key, 0.0, low=knob.low, high=knob.high)
    if obj.get(MOTION_COLOUR_KEY) is not None:
        values[MOTION_COLOUR_KEY] = obj.color(MOTION_COLOUR_KEY, "#FFFFFF")
    obj.done()
    # explicit times must fit the configured length (the style's own beats scale to any length)
    problem = check_beats(beats_for(style, values), generation.duration_s) if {"impact_s", "hold_s"} & set(values) \
        else None
    if problem:
        raise VariantError(obj._loc("").rstrip("."), problem,
                           "move the impact earlier, shorten the hold or lengthen the video (generation.duration_s)")
    return MotionOverrides(**values)


def _parse_brand(obj: Fields, where: str) -> Brand:
    default = Brand()
    primary = obj.color("primary", default.primary)
    accent = obj.color("accent", default.accent)
    logo = obj.str("logo", default=None, max_len=PATH_MAX)
    corner = obj.choice("logo_corner", CORNERS, default=default.logo_corner)
    font = check_free_text(obj.str("font", default=default.font, max_len=LABEL_MAX), obj._loc("font"), LABEL_MAX,
                           VariantError)
    obj.done()
    return Brand(primary=primary, accent=accent, logo=logo, logo_corner=corner, font=font)


def _parse_effects(obj: Fields) -> Effects:
    default = Effects()
    particles = obj.bool("particles", default.particles)
    intensity = obj.number("intensity", default.intensity, low=0.0, high=1.0)
    sound = obj.bool("sound", default.sound)
    obj.done()
    return Effects(particles=particles, intensity=intensity, sound=sound)


def _parse_generation(obj: Fields) -> Generation:
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
        step = Fields(raw, f"{where}[{i}]")
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


class Fields:
    """A YAML mapping being read: typed getters that name the exact key on error (``error`` is the class raised:
    variants raise VariantError, experiment specs ExperimentError)."""

    def __init__(self, data: Any, where: str, prefix: str = "", error: type[LabError] = VariantError,
                 schema: str = "variant") -> None:
        self.error = error
        self.schema = schema
        if not isinstance(data, dict):
            raise error(where + (f": {prefix.rstrip('.')}" if prefix else ""),
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

    def obj(self, key: str, optional: bool = False) -> Fields:
        value = self.get(key)
        if value is None:
            if not optional:
                raise self.error(self._loc(key), "is required")
            value = {}
        return Fields(value, self.where, f"{self.prefix}{key}.", self.error, self.schema)

    def str(self, key: str, default: Any = ..., allow_empty: bool = False, max_len: int = TEXT_MAX) -> Any:
        value = self.get(key)
        if value is None:
            if default is ...:
                raise self.error(self._loc(key), "is required")
            return default
        if not isinstance(value, str):
            raise self.error(self._loc(key), f"must be text, got {_type_name(value)}")
        if len(value) > max_len:
            raise self.error(self._loc(key), f"is {len(value):,} characters long; the limit is {max_len:,}",
                             "shorten it")
        if not allow_empty and not value.strip():
            raise self.error(self._loc(key), "must not be empty")
        return value

    def choice(self, key: str, options: tuple[str, ...], default: str | None = None) -> str:
        value = self.str(key, default=default if default is not None else ...)
        if value not in options:
            raise self.error(self._loc(key), f"{excerpt(value)} is not one of {', '.join(options)}")
        return value

    def color(self, key: str, default: str) -> str:
        value = self.str(key, default=default)
        if not COLOR_RE.fullmatch(value):
            raise self.error(self._loc(key), f"{excerpt(value)} is not a colour", "write it as #RRGGBB, e.g. #4CAF50")
        return value.upper()

    def bool(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise self.error(self._loc(key), f"must be true or false, got {_type_name(value)}")
        return value

    def int(self, key: str, default: int, low: int, high: int) -> int:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(self._loc(key), f"must be a whole number, got {_type_name(value)}")
        if not low <= value <= high:
            raise self.error(self._loc(key), f"must be between {low} and {high}, got {excerpt(value)}")
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(self._loc(key), f"must be a number, got {_type_name(value)}")
        if not low <= value <= high:
            raise self.error(self._loc(key), f"must be between {low:g} and {high:g}, got {excerpt(value)}")
        return float(value)

    def known(self, allowed: tuple[str, ...] | set[str]) -> None:
        """Refuse a key outside ``allowed`` before reading anything (the first such key is named)."""
        unknown = [k for k in self.data if k not in allowed]
        if unknown:
            raise self.error(self._loc(str(unknown[0])), "is not a known field",
                             f"fields are {', '.join(sorted(allowed))}")

    def done(self) -> None:
        unknown = [k for k in self.data if k not in self.used]
        if unknown:
            raise self.error(self._loc(str(unknown[0])), "is not a known field",
                               f"check the spelling against the {self.schema} schema in the README")


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    return {str: "text", bool: "true/false", int: "a whole number", float: "a number", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__) + (
        f" {excerpt(value)}" if isinstance(value, (str, int, float)) and not isinstance(value, bool) else "")


def load_variant_file(path: Path) -> Variant:
    """Read and validate one variant YAML file; errors name the file and the key."""
    path = Path(path)
    return parse_variant(load_yaml(read_text(path), str(path)), str(path))


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
