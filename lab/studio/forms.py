"""What the browser studio does, as plain functions the UI, the CLI and the tests share.

A designer edits a variant as a flat form, previews it on a made-up event, and saves it as a new
version on top of the version they started from (a conflict if someone saved in between).
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import config
from lab.errors import LabError, excerpt
from lab.library.events import RankEvent, parse_event, sample_event
from lab.library.variant import Variant
from lab.library.versions import VariantLibrary, VersionInfo
from lab.render.styles import MOTION_KNOBS

# Form field -> variant field path (``__`` separates levels, as in ``with_changes``).
FORM = {
    "title": "title",
    "style": "style",
    "template": "prompt__template",
    "negative": "prompt__negative",
    "cta_en": "cta__en",
    "cta_zh": "cta__zh-CN",
    "primary": "brand__primary",
    "accent": "brand__accent",
    "particles": "effects__particles",
    "intensity": "effects__intensity",
    "width": "generation__width",
    "height": "generation__height",
    "duration_s": "generation__duration_s",
    "seed": "generation__seed",
    "logo": "brand__logo",
    "font": "brand__font",
} | {f"motion_{key}": f"motion__{key}" for key in MOTION_KNOBS}  # blank: the style's own beat


def variant_form(variant: Variant) -> dict[str, Any]:
    """The editable fields of a variant, flat."""
    d = variant.to_dict()
    out = {}
    for name, path in FORM.items():
        value: Any = d
        for part in path.split("__"):
            value = value.get(part) if isinstance(value, dict) else None
        out[name] = value
    return out


def apply_form(base: Variant, form: dict[str, Any]) -> Variant:
    """The base variant with the form's values, validated by the same schema as a YAML file."""
    data = base.to_dict()
    motion = data.setdefault("motion", {})
    for name, value in form.items():
        if name.startswith("motion_") and name in FORM:  # a blank knob drops the override: the style decides
            key = FORM[name].split("__", 1)[1]
            if value in (None, ""):
                motion.pop(key, None)
            else:
                motion[key] = float(value)
            continue
        if value is None or name not in FORM:
            continue
        if name == "cta_zh" and not str(value).strip():
            data["cta"].pop("zh-CN", None)
            continue
        if name == "logo" and not str(value).strip():
            data["brand"].pop("logo", None)
            continue
        if name in ("width", "height", "seed"):
            value = int(value)
        target = data
        parts = FORM[name].split("__")
        for part in parts[:-1]:
            target = target[part]
        target[parts[-1]] = value
    if not motion:
        data.pop("motion")
    from lab.library.schema import parse_variant

    return parse_variant(data, f"variant {base.id}")


def rank_value(value: Any, label: str) -> int | None:
    """A rank field's value as a whole number (None when blank); text or a fraction is refused in words."""
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise LabError(label, "is not a whole number", "type a rank such as 3")
    try:
        number = float(value)
    except ValueError:
        raise LabError(label, f"{excerpt(value)} is not a whole number", "type a rank such as 3") from None
    if not math.isfinite(number) or number != int(number):
        raise LabError(label, f"{excerpt(value)} is not a whole number", "type a rank such as 3")
    return int(number)


def preview_event(scenario: str, user: str, old_rank: Any, new_rank: Any, rival: str, challenge: str,
                  locale: str) -> RankEvent:
    """A preview event from the form; blank fields fall back to the scenario's sample."""
    sample = sample_event(scenario).to_dict()
    new = rank_value(new_rank, "New rank")
    data: dict[str, Any] = {"event": scenario, "user": user or sample["user"], "locale": locale or "en",
                            "new_rank": new if new is not None else sample["new_rank"]}
    if scenario != "first_entry":
        old = rank_value(old_rank, "Old rank")
        data["old_rank"] = old if old is not None else sample.get("old_rank")
        if data["old_rank"] is None:
            data.pop("old_rank")
    if rival:
        data["rival"] = rival
    if challenge:
        data["challenge"] = challenge
    return parse_event(data, where="preview event")


@dataclass(frozen=True)
class Preview:
    video: str
    poster: str | None
    contact_sheet: str | None
    sidecar: dict[str, Any]


def render_preview(variant: Variant, event: RankEvent, backend: str = "auto", level: int | None = None,
                   logo_root: Path | None = None, progress: Any = None) -> Preview:
    """Render into the lab's preview folder under a random name (never the user's)."""
    from lab.render.pipeline import render

    folder = config.data_dir() / "previews"
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{variant.id}-{uuid.uuid4().hex[:10]}.mp4"
    r = render(variant, event, out, backend=backend, level=level, logo_root=logo_root, progress=progress)
    return Preview(r.path, r.poster, r.contact_sheet, json.loads(Path(r.sidecar).read_text(encoding="utf-8")))


def save_version(lib: VariantLibrary, variant: Variant, base_version: str | None, author: str | None,
                 note: str | None) -> VersionInfo:
    if not base_version:
        raise LabError("save", "no base version", "load the variant before editing it")
    return lib.save(variant, base=lib.resolve_version(variant.id, base_version), author=author or None,
                    note=note or None)


# -- the Design area: sizes from the model, errors in a designer's words, cached previews ------------

ORIENTATIONS = ("landscape", "portrait")
# Heights (short side) offered; the long side is the 16:9 partner, both snapped to the model's grid.
SHORT_SIDES = (352, 480, 576, 704)
FONTS = ("Roboto",)  # the overlay draws Roboto (with Noto CJK per character); other fonts are not drawn


def size_choices(orientation: str, model: Any = None) -> list[str]:
    """Sizes the background model can produce as ``W×H`` strings, derived from its constraints."""
    from lab.library.models import DEFAULT_MODEL

    m = model or DEFAULT_MODEL
    out = []
    for short in SHORT_SIDES:
        s, long = m.snap_side(short), m.snap_side(round(short * 16 / 9))
        if long > m.max_side:
            continue
        out.append(f"{long}×{s}" if orientation == "landscape" else f"{s}×{long}")
    return out


def orientation_of(width: int, height: int) -> str:
    return "portrait" if height > width else "landscape"


def size_label(width: int, height: int) -> str:
    return f"{int(width)}×{int(height)}"


def parse_size(label: str) -> tuple[int, int]:
    """``W×H`` back to integers; anything else is a form error (the dropdown only offers valid sizes)."""
    parts = str(label or "").replace("x", "×").split("×")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise LabError("size", f"{label!r} is not a size", "pick one of the sizes offered")
    return int(parts[0]), int(parts[1])


# Where a variant field's error is shown: the form field whose path the schema names.
FIELD_OF_PATH = {path.replace("__", "."): name for name, path in FORM.items()}


def field_error(exc: LabError) -> tuple[str, str]:
    """(form field, message in a designer's words) for a validation error: no flags, paths or ids."""
    where = exc.where.rsplit(": ", 1)[-1]
    field = next((name for path, name in FIELD_OF_PATH.items() if where == path or where.startswith(path + ".")),
                 "form")
    what = exc.what[0].upper() + exc.what[1:] if exc.what else ""
    fix = exc.fix or ""
    if "--" in fix or "highlight-lab" in fix or "/" in fix and "#" not in fix:
        fix = ""
    return field, what + (f". {fix[0].upper() + fix[1:]}." if fix else ".")


@dataclass(frozen=True)
class Check:
    """The live state of the Design form: the prompt the model would get, or the field errors."""

    prompt: str
    errors: dict[str, str]
    variant: Variant | None


def check_form(base: Variant, form: dict[str, Any], event: dict[str, Any]) -> Check:
    """Validate the form and build the prompt for the preview event; errors are keyed by form field."""
    try:
        v = apply_form(base, form)
    except LabError as exc:
        field, msg = field_error(exc)
        return Check("", {field: msg}, None)
    except ValueError:
        return Check("", {"form": "A number field holds something that is not a number."}, None)
    words = event_words(v.scenario, event)
    if words:
        return Check("", {"event": words}, v)
    try:
        e = preview_event(v.scenario, **event)
    except LabError as exc:
        return Check("", {"event": exc.what[0].upper() + exc.what[1:] + "."}, v)
    except ValueError:
        return Check("", {"event": "A rank must be a whole number."}, v)
    return Check(v.prompt_for(e), {}, v)


def event_words(scenario: str, event: dict[str, Any]) -> str:
    """The sample event's rank rule in a designer's words ("" when the ranks are fine or not numbers yet)."""
    try:
        old = int(event.get("old_rank")) if event.get("old_rank") not in (None, "") else None
        new = int(event.get("new_rank")) if event.get("new_rank") not in (None, "") else None
    except (TypeError, ValueError):
        return "A rank must be a whole number."
    if scenario == "rank_up" and old is not None and new is not None and new >= old:
        return (f"A climb needs a better new rank: the new rank ({new}) must be a smaller number than the old "
                f"rank ({old}).")
    return ""


_PREVIEWS: dict[str, Preview] = {}


def preview_key(variant: Variant, event: RankEvent, backend: str, level: int | None) -> str:
    """What makes two previews the same video: the variant's content, the event, backend and level."""
    import hashlib

    payload = json.dumps([variant.content_hash, event.to_dict(), backend, level], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def cached_preview(variant: Variant, event: RankEvent, backend: str = "auto", level: int | None = None,
                   logo_root: Path | None = None, progress: Any = None) -> tuple[Preview, bool]:
    """A preview, rendered once per (variant content, event, backend, level) in this process: an unchanged
    variant re-renders instantly. Returns the preview and whether it came from this cache."""
    key = preview_key(variant, event, backend, level)
    hit = _PREVIEWS.get(key)
    if hit is not None and Path(hit.video).exists():
        return hit, True
    p = render_preview(variant, event, backend=backend, level=level, logo_root=logo_root, progress=progress)
    _PREVIEWS[key] = p
    return p, False
