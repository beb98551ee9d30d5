"""The Library, Design and Compare areas as plain functions (no Gradio): each calls the same lab code as the
CLI and returns its values keyed by name; ``LabError`` is how a refusal is said."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from lab.errors import LabError, VersionConflict
from lab.experiments import workflow
from lab.experiments.spec import ExperimentLibrary
from lab.library.events import sample_event
from lab.library.schema import with_changes
from lab.library.variant import Variant
from lab.library.versions import VariantLibrary
from lab.render.backends import uses_gpu
from lab.studio import forms
from lab.studio.common import GPU_SLOT, SLOTS, RenderSteps, designer_message, text

# The names of what each handler reads and returns, beyond the form's fields (``forms.FORM``).
EVENT = ("user", "old_rank", "new_rank", "rival", "challenge", "locale")  # the made-up preview event
FIELD_ERRORS = tuple(f"err_{name}" for name in (*forms.FORM, "form", "event"))
CLEARED = ("video", "poster", "sheet", "render_info", "sidecar")  # a preview that no longer matches the form
LOADED = (*forms.FORM, *EVENT, "orientation", "size", "base_version", "variant_info", "history", "prompt",
          *CLEARED, *FIELD_ERRORS, "conflict")
CHECKED = ("prompt", *CLEARED, *FIELD_ERRORS)
RENDERED = ("video", "poster", "sheet", "prompt", "render_info", "sidecar", *FIELD_ERRORS)
SAVED = ("base_version", "variant_info", "save_info", "history", "conflict", "library_table")
UNKNOWN_AUTHOR = "(unknown)"  # a version saved with no author: said, never a blank "by"
COMPARED = tuple(f"cmp_{kind}_{i}" for i in range(SLOTS) for kind in ("video", "info", "prompt"))


class DesignHandlers:
    """What the Library, Design and Compare buttons do, over one variant library."""

    variants: VariantLibrary
    experiments: ExperimentLibrary

    # library

    def library(self) -> dict[str, Any]:
        """The variants table (``workflow.library_table``)."""
        refused: list[LabError] = []
        rows = workflow.library_table(self.experiments, refused)
        return {"library_table": [[r["id"], r["scenario"], r["style"], r["version"], r["saved_at"],
                                   r["author"] or UNKNOWN_AUTHOR,
                                   ", ".join(r["arms"])] for r in rows],
                "library_refused": "\n".join(f"⚠ Not shown: {text(exc.where.rsplit('/', 1)[-1])} "
                                              f"{text(designer_message(exc).rstrip('.'))}." for exc in refused)}

    def clone(self, source: str, new_id: str, author: str) -> dict[str, Any]:
        """Copy a variant under a new id (``workflow.clone_variant``)."""
        if not source:
            raise LabError("", "Pick the variant to clone first")
        author = (author or "").strip()
        v = workflow.clone_variant(self.variants, source, (new_id or "").strip(), author=author or None)
        # The author field is on the Design tab: say who signed the clone, or that no one did and where to sign.
        by = (f"by {text(author)}" if author else
              "author unknown (type your name in Author on the Design tab to sign what you save)")
        return {**self.library(), "library_info": f"Cloned {text(source)} as **{text(v.id)}** "
                                                  f"(version `{v.version}`, title “{text(v.title)}”), {by}.",
                "new_variant": v.id}

    def history_rows(self, variant_id: str) -> list[list[str]]:
        return [[h.short, h.saved_at[:19].replace("T", " "), h.author or "", h.note or ""]
                for h in self.variants.history(variant_id)]

    def diff_pair(self, variant_id: str, a: str, b: str) -> dict[str, Any]:
        """Two versions' YAML side by side (older left) and their unified diff."""
        old, new = self.variants.load_version(variant_id, a), self.variants.load_version(variant_id, b)
        hist = {h.short: h.saved_at for h in self.variants.history(variant_id)}
        if hist.get(old.version, "") > hist.get(new.version, ""):
            old, new = new, old
        return {"diff_old": old.to_yaml(), "diff_new": new.to_yaml(),
                "diff_title": f"`{old.version}` (left) → `{new.version}` (right)",
                "diff_text": self.variants.diff(variant_id, old.version, new.version) or "(no difference)"}

    # design

    def load_variant(self, variant_id: str) -> dict[str, Any]:
        """Fill the form from the current version; remember that version as the base of the edit."""
        v = self.variants.load(variant_id)
        sample = sample_event(v.scenario)
        form = forms.variant_form(v)
        event = {"user": sample.user, "old_rank": sample.old_rank, "new_rank": sample.new_rank,
                 "rival": sample.rival or "", "challenge": sample.challenge or "", "locale": sample.locale}
        return {**form, **event, "orientation": forms.orientation_of(v.generation.width, v.generation.height),
                "size": forms.size_label(v.generation.width, v.generation.height), "base_version": v.version,
                "variant_info": self.header(v), "history": self.history_rows(variant_id),
                "prompt": v.prompt_for(sample), **dict.fromkeys(CLEARED), **dict.fromkeys(FIELD_ERRORS, ""),
                "conflict": False}

    def header(self, v: Variant) -> str:
        hist = self.variants.history(v.id)
        last = next((h for h in hist if h.hash == v.content_hash), None)
        by = (f" · saved {last.saved_at[:16].replace('T', ' ')} "
              + (f"by {text(last.author)}" if last.author else "· author unknown") if last else "")
        return (f"**{v.id}** · {v.scenario} · version `{v.version}`{by}"
                + ("" if last else " · unsaved hand edit"))

    def form_values(self, form: Mapping[str, Any], orientation: str | None = None, size: str | None = None
                    ) -> dict[str, Any]:
        """The form's fields, with the picked size (``W×H``) as width and height."""
        out = dict(form)
        if size:
            out["width"], out["height"] = forms.parse_size(size)
        return out

    def check(self, variant_id: str, form: Mapping[str, Any], event: Mapping[str, Any], size: str | None = None
              ) -> dict[str, Any]:
        """The prompt for the sample event as the form stands, or each error beside its field.

        Any change clears the preview: the video on screen always belongs to the form on screen.
        """
        base = self.variants.load(variant_id)
        try:
            values = self.form_values(form, size=size)
        except LabError as exc:
            return {"prompt": "", **dict.fromkeys(CLEARED), **dict.fromkeys(FIELD_ERRORS, ""),
                    "err_width": f"⚠ {text(designer_message(exc))}"}
        c = forms.check_form(base, values, {name: event[name] for name in EVENT})
        errors = {f"err_{k}": f"⚠ {text(v)}" for k, v in c.errors.items()}
        return {"prompt": c.prompt, **dict.fromkeys(CLEARED), **dict.fromkeys(FIELD_ERRORS, ""), **errors}

    def strip(self, variant_id: str, form: Mapping[str, Any], event: Mapping[str, Any], orientation: str | None,
              size: str | None = None) -> dict[str, Any]:
        """The frame strip (a contact sheet of the beats) of the form as it stands; none while the form has an
        error (the error is beside its field)."""
        from lab.render.strip import beat_sheet

        base = self.variants.load(variant_id)
        try:
            v = forms.apply_form(base, self.form_values(form, size=size))
            e = forms.preview_event(v.scenario, **{name: event[name] for name in EVENT})
        except (LabError, ValueError):
            return {"strip": None}
        return {"strip": beat_sheet(v, e, orientation if orientation in forms.ORIENTATIONS else "landscape",
                                    logo_root=self.variants.root)}

    def edited(self, variant_id: str, form: Mapping[str, Any], size: str | None = None) -> Variant:
        """The current version of ``variant_id`` with the form's fields (names as in ``forms.FORM``)."""
        try:
            return forms.apply_form(self.variants.load(variant_id), self.form_values(form, size=size))
        except ValueError as exc:  # a number field that is not a number
            raise LabError("form", str(exc)) from None

    def preview(self, variant_id: str, form: Mapping[str, Any], event: Mapping[str, Any], backend: str,
                level: Any, size: str | None = None, progress: Any = None) -> dict[str, Any]:
        """Render the edited variant on a made-up event (``event`` keyed by ``EVENT``); a form with errors is not
        rendered: the errors stay beside their fields."""
        checked = self.check(variant_id, form, event, size=size)
        if any(checked[name] for name in FIELD_ERRORS):
            return {**checked, "design_msg": "⚠ Fix the fields marked ⚠, then render again."}
        v = self.edited(variant_id, form, size=size)
        p, cached = self.render(v, event, backend, level, progress)
        sc = p.sidecar
        return {"video": p.video, "poster": p.poster, "sheet": p.contact_sheet, "prompt": sc["prompt"],
                "render_info": f"**{text(v.id)}** `{v.version}` · " + self.summary(sc, cached),
                "sidecar": json.dumps(sc, indent=2, ensure_ascii=False)}

    def render(self, v: Variant, event: Mapping[str, Any], backend: str, level: Any, progress: Any = None
               ) -> tuple[forms.Preview, bool]:
        """One preview through the per-process cache; a model render waits for the GPU slot."""
        unavailable = workflow.backend_availability().get(backend)
        if unavailable:
            raise LabError("background", f"{backend} cannot run here: {unavailable}", "pick motion or auto")
        try:
            e = forms.preview_event(v.scenario, **{name: event[name] for name in EVENT})
        except ValueError as exc:
            raise LabError("preview event", str(exc)) from None
        lvl = None if level in (None, "", "auto") else int(level)
        if uses_gpu(backend):
            with GPU_SLOT:
                return forms.cached_preview(v, e, backend=backend, level=lvl, logo_root=self.variants.root,
                                            progress=progress)
        return forms.cached_preview(v, e, backend=backend, level=lvl, logo_root=self.variants.root,
                                    progress=progress)

    @staticmethod
    def summary(sc: Mapping[str, Any], cached: bool = False) -> str:
        """What was shown and how it was made: a preview reused whole from the studio's cache says so (the sidecar's
        background cache flag and seconds describe its first render, not this one); a fresh render says whether
        its background came from the background cache."""
        made = (f"**same preview as before, reused** (not rendered again; its first render took "
                f"{sc['seconds']:.2f} s)" if cached else
                f"rendered in {sc['seconds']:.2f} s · background "
                + ("from the cache" if sc["cache_hit"] else "made fresh (not in the cache)"))
        out = (f"{sc['backend']} background · level {sc['level']} ({text(sc['level_reason'])}) · "
               f"{sc['width']}×{sc['height']} · {sc['frames']} frames · {made}")
        if sc["random_weights"]:
            out += " · **random weights: the background is noise by design**"
        for w in sc["warnings"]:
            out += f"\n\n⚠ {text(w)}"
        return out

    def upload_logo(self, file: Any) -> dict[str, Any]:
        """Store an uploaded logo in the library's assets (``workflow.save_logo``)."""
        if not file:
            raise LabError("", "Choose an image first")
        rel = workflow.save_logo(self.variants, Path(file))
        return {"logo": rel, "logo_info": f"Logo stored as `{rel}` in the library; save the variant to keep it."}

    def save(self, variant_id: str, form: Mapping[str, Any], base_version: str, author: str, note: str,
             size: str | None = None) -> dict[str, Any]:
        """Save the edit as a new version on top of ``base_version``; a conflict offers two ways out."""
        v = self.edited(variant_id, form, size=size)
        current = self.variants.load(variant_id)
        if current.content_hash == v.content_hash and current.version == base_version \
                and self.variants.is_recorded(current):
            return {"save_info": f"No change to save: this is version `{v.version}`.", "conflict": False,
                    "base_version": base_version, "variant_info": self.header(current),
                    "history": self.history_rows(variant_id), **self.library()}
        try:
            info = forms.save_version(self.variants, v, base_version, author, note)
        except VersionConflict:
            theirs = self.variants.load(variant_id)
            return {"save_info": f"⚠ Someone saved **{v.id}** as version `{theirs.version}` since you opened "
                                 f"version `{base_version}`. Nothing was written. Reload theirs (your edit is "
                                 "dropped) or keep yours as a copy.",
                    "conflict": True, "base_version": base_version, "variant_info": self.header(current),
                    "history": self.history_rows(variant_id), **self.library()}
        saved = self.variants.load(variant_id)
        return {"base_version": info.short, "variant_info": self.header(saved), "conflict": False,
                "save_info": f"Saved **{v.id}** as version `{info.short}`.",
                "history": self.history_rows(variant_id), **self.library()}

    def keep_copy(self, variant_id: str, form: Mapping[str, Any], author: str, note: str,
                  size: str | None = None) -> tuple[str, dict[str, Any]]:
        """Save the conflicting edit as a new variant ``<id>-copy[-N]``; returns its id and a message."""
        v = self.edited(variant_id, form, size=size)
        n, new_id = 1, f"{variant_id}-copy"
        while self.variants.path(new_id).exists():
            n += 1
            new_id = f"{variant_id}-copy-{n}"
        copy = with_changes(v, id=new_id)
        self.variants.save(copy, base=None, author=author or None,
                           note=note or f"kept as a copy after a conflict on {variant_id}")
        return new_id, {"save_info": f"Your edit is saved as a new variant **{new_id}**.", **self.library(),
                        "new_variant": new_id}

    # compare

    def compare(self, slots: list[str | None], event: Mapping[str, Any], orientation: str, backend: str,
                level: Any, progress: Any = None, session: str | None = None) -> Iterator[dict[str, Any]]:
        """Render up to four variants for one event, one after another, yielding as each is ready.

        Each slot shows its video, a summary (timing, degrade level, cache hit) and the prompt sent.
        """
        chosen = [(i, s) for i, s in enumerate(slots[:SLOTS]) if s]
        if not chosen:
            raise LabError("", "Pick at least one variant to compare")
        out: dict[str, Any] = {}
        for i in range(SLOTS):
            out.update({f"cmp_video_{i}": None, f"cmp_info_{i}": "", f"cmp_prompt_{i}": ""})
        for n, (i, variant_id) in enumerate(chosen):
            v = self.variants.load(variant_id)
            w, h = v.generation.width, v.generation.height
            if forms.orientation_of(w, h) != orientation:
                v = with_changes(v, generation__width=h, generation__height=w)
            if progress is not None:
                progress((n, len(chosen)), desc=f"rendering {variant_id} ({n + 1} of {len(chosen)})")

            def report(fraction: float, desc: str, _n: int = n) -> None:
                if progress is not None:
                    progress((_n + fraction, len(chosen)), desc=desc)

            step = RenderSteps(report, f"{variant_id}: ", session=session)
            p, cached = self.render(v, event, backend, level, progress=step)
            out[f"cmp_video_{i}"] = p.video
            out[f"cmp_info_{i}"] = f"**{v.id}** `{v.version}` · " + self.summary(p.sidecar, cached)
            out[f"cmp_prompt_{i}"] = p.sidecar["prompt"]
            yield dict(out)
