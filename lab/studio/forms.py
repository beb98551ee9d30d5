"""What the browser studio does, as plain functions the UI, the CLI and the tests share.

A designer edits a variant as a flat form, previews it on a made-up event, and saves it as a new
version on top of the version they started from (a conflict if someone saved in between).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import config
from lab.errors import LabError
from lab.library.events import RankEvent, parse_event, sample_event
from lab.library.variant import Variant
from lab.library.versions import VariantLibrary, VersionInfo

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
}


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
    for name, value in form.items():
        if value is None or name not in FORM:
            continue
        if name == "cta_zh" and not str(value).strip():
            data["cta"].pop("zh-CN", None)
            continue
        if name in ("width", "height", "seed"):
            value = int(value)
        target = data
        parts = FORM[name].split("__")
        for part in parts[:-1]:
            target = target[part]
        target[parts[-1]] = value
    from lab.library.schema import parse_variant

    return parse_variant(data, f"variant {base.id}")


def preview_event(scenario: str, user: str, old_rank: Any, new_rank: Any, rival: str, challenge: str,
                  locale: str) -> RankEvent:
    """A preview event from the form; blank fields fall back to the scenario's sample."""
    sample = sample_event(scenario).to_dict()
    data: dict[str, Any] = {"event": scenario, "user": user or sample["user"], "locale": locale or "en",
                            "new_rank": int(new_rank) if new_rank not in (None, "") else sample["new_rank"]}
    if scenario != "first_entry":
        data["old_rank"] = int(old_rank) if old_rank not in (None, "") else sample.get("old_rank")
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
                   logo_root: Path | None = None) -> Preview:
    """Render into the lab's preview folder under a random name (never the user's)."""
    from lab.render.pipeline import render

    folder = config.data_dir() / "previews"
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{variant.id}-{uuid.uuid4().hex[:10]}.mp4"
    r = render(variant, event, out, backend=backend, level=level, logo_root=logo_root)
    return Preview(r.path, r.poster, r.contact_sheet, json.loads(Path(r.sidecar).read_text(encoding="utf-8")))


def save_version(lib: VariantLibrary, variant: Variant, base_version: str | None, author: str | None,
                 note: str | None) -> VersionInfo:
    if not base_version:
        raise LabError("save", "no base version", "load the variant before editing it")
    return lib.save(variant, base=lib.resolve_version(variant.id, base_version), author=author or None,
                    note=note or None)
