"""The versioned library: a folder of variants, every saved version kept, immutable, for pinning and history."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lab.errors import LabError, VariantError, VersionConflict, excerpt
from lab.library.assets import resolve_asset
from lab.library.freetext import META_MAX, check_free_text
from lab.library.schema import check_id, load_variant_file, load_yaml, parse_variant, read_text
from lab.library.variant import Variant
from lab.storage import atomic_write_text, clean_stale_temps, file_lock


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


HASH_RE = re.compile(r"[0-9a-f]{64}")


def check_meta_text(value: str | None, where: str) -> str | None:
    """An author or note: the free-text rule (``lab.library.freetext``), shown in terminals and the studio."""
    return check_free_text(value, where, META_MAX, VariantError)


def _snapshot_info(meta: object, path: Path) -> VersionInfo:
    """A saved version's header, checked: a malformed, empty or hand-edited file is named, not a traceback."""
    fix = "restore it from git, or delete it if it was never a saved version"
    if not isinstance(meta, dict):
        raise VariantError(str(path), "is not a saved version (it holds no mapping)", fix)
    full, parent, saved_at = meta.get("hash"), meta.get("parent"), meta.get("saved_at")
    if not isinstance(full, str) or not HASH_RE.fullmatch(full):
        raise VariantError(f"{path}: hash", "is missing or not a 64-hex-digit hash", fix)
    if parent is not None and (not isinstance(parent, str) or not HASH_RE.fullmatch(parent)):
        raise VariantError(f"{path}: parent", "is not a 64-hex-digit hash", fix)
    if not isinstance(saved_at, str):
        raise VariantError(f"{path}: saved_at", "is missing or not a timestamp", fix)
    author, note = meta.get("author"), meta.get("note")
    for key, value in (("author", author), ("note", note)):
        if value is not None and not isinstance(value, str):
            raise VariantError(f"{path}: {key}", "must be text", fix)
    return VersionInfo(full, parent, saved_at, author, note)


class VariantLibrary:
    """A folder of variants: ``<id>.yaml`` is the current version of each, and
    ``versions/<id>/<hash>.yaml`` keeps every saved version, immutable, for pinning and history."""

    VERSIONS = "versions"

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    # paths
    def path(self, variant_id: str) -> Path:
        return self.root / f"{check_id(variant_id, f'variant {excerpt(variant_id)}')}.yaml"

    def _version_dir(self, variant_id: str) -> Path:
        return self.root / self.VERSIONS / check_id(variant_id, f"variant {excerpt(variant_id)}")

    def check_logo(self, variant: Variant, where: str) -> None:
        """A logo or key visual must be a decodable image inside this library's assets/ folder (``resolve_asset``)."""
        if variant.brand.logo:
            resolve_asset(self.root, variant.brand.logo, f"{where}: brand.logo")
        if variant.model.key_visual:
            resolve_asset(self.root, variant.model.key_visual, f"{where}: model.key_visual")

    def _lock(self) -> Any:
        return file_lock(self.root / ".lock")

    def inside(self, path: Path) -> Path:
        """``path`` if it (after following links) stays inside this library; a link that leads out of it (to
        the id salt, to /etc/passwd) is refused before a byte of it is read, so no error quotes its text."""
        return inside_folder(path, self.root)

    # reading
    def ids(self) -> list[str]:
        return sorted(p.stem for p in self.root.glob("*.yaml"))

    def load(self, variant_id: str) -> Variant:
        path = self.path(variant_id)
        if not path.exists():
            known = ", ".join(self.ids()) or "none"
            raise VariantError(f"variant {excerpt(variant_id)}", f"not found in {self.root}",
                               f"known variants: {known}")
        variant = load_variant_file(self.inside(path))
        if variant.id != variant_id:
            raise VariantError(str(path), f"holds id {variant.id!r}", f"rename the file to {variant.id}.yaml")
        return variant

    def load_all(self) -> list[Variant]:
        return [self.load(i) for i in self.ids()]

    def summaries(self) -> list[dict[str, Any]]:
        """One row per variant for listings: id, version, scenario, style, title, English CTA, recorded."""
        return [{"id": v.id, "version": v.version, "scenario": v.scenario, "style": v.style, "title": v.title,
                 "cta_en": v.cta["en"], "recorded": self.is_recorded(v)} for v in self.load_all()]

    def history(self, variant_id: str) -> list[VersionInfo]:
        """Saved versions, newest first."""
        infos = []
        for path in self._version_dir(variant_id).glob("*.yaml"):
            infos.append(_snapshot_info(load_yaml(read_text(self.inside(path)), str(path)), path))
        return sorted(infos, key=lambda v: v.saved_at, reverse=True)

    def verified_history(self, variant_id: str) -> list[VersionInfo]:
        """Saved versions, newest first, each read once and checked against its hash (a tampered or renamed
        snapshot fails here): linear in the history, however long it grows."""
        infos = [self._read_snapshot(variant_id, path)[0] for path in self._version_dir(variant_id).glob("*.yaml")]
        return sorted(infos, key=lambda v: v.saved_at, reverse=True)

    def _read_snapshot(self, variant_id: str, path: Path) -> tuple[VersionInfo, Variant]:
        """One saved version, its header and content checked: the content hashes to the header's hash, the file
        is named by it, and it holds this variant."""
        meta = load_yaml(read_text(self.inside(path)), str(path))
        info = _snapshot_info(meta, path)
        variant = parse_variant(meta.get("variant"), f"{path}: variant")
        if variant.content_hash != info.hash:
            raise VariantError(str(path), "content does not match its hash",
                               "the file was edited by hand; restore it from git")
        if path.stem != info.short or variant.id != variant_id:
            raise VariantError(str(path), f"holds version {info.short} of {excerpt(variant.id)}",
                               "a saved version is named <hash>.yaml in its variant's folder; restore it from git")
        return info, variant

    def resolve_version(self, variant_id: str, ref: str) -> str:
        """Full hash for a prefix of at least 7 hex digits, or 'current' for the current file."""
        self._version_dir(variant_id)  # the id is checked before anything else is read or said
        if ref == "current":
            return self.load(variant_id).content_hash
        if not re.fullmatch(r"[0-9a-f]{7,64}", ref):
            raise VariantError(f"version {excerpt(ref)}", "is not a version hash",
                               "give 7 or more hex digits, or 'current'")
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
        info, variant = self._read_snapshot(variant_id, self._version_dir(variant_id) / f"{full[:12]}.yaml")
        if info.hash != full:
            raise VariantError(f"version {full[:12]}", "is not the saved version it names",
                               "restore the versions folder from git")
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
        author = check_meta_text(author, "--author")
        note = check_meta_text(note, "--note")
        self.check_logo(variant, f"variant {variant.id}")
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

    def save_file(self, file: Path, base: str | None = None, author: str | None = None, note: str | None = None
                  ) -> tuple[Variant, VersionInfo]:
        """Save an edited YAML file as a new version; the library's own ``<id>.yaml`` records a hand edit."""
        variant = load_variant_file(file)
        if Path(file).resolve() == self.path(variant.id).resolve():
            if base == "current":
                raise VariantError("--base", "'current' is the file being recorded, not the version it started from",
                                   f"give a saved version (see `highlight-lab variants history {variant.id}`), "
                                   "or leave --base out")
            parent = self.resolve_version(variant.id, base) if base is not None else None
            return variant, self.record(variant.id, author=author, note=note, parent=parent)
        full = self.resolve_version(variant.id, base) if base is not None else None
        return variant, self.save(variant, base=full, author=author, note=note)

    def record(self, variant_id: str, author: str | None = None, note: str | None = None,
               parent: str | None = None) -> VersionInfo:
        """Record an edit made to ``<id>.yaml`` outside the lab (by hand, or a git merge) as a version.

        ``parent`` is the saved version the edit started from (a full hash); by default the newest one.
        """
        author = check_meta_text(author, "--author")
        note = check_meta_text(note, "--note")
        with self._lock():
            variant = self.load(variant_id)
            self.check_logo(variant, str(self.path(variant_id)))
            if self.is_recorded(variant):
                return self._info(variant)
            if parent is None:
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
        for folder in (self.root, self._version_dir(variant.id)):  # what a killed save left behind
            clean_stale_temps(folder)
        # The snapshot goes first: a crash between the two writes leaves the old current file and a
        # harmless extra snapshot, never a current file whose version is missing.
        atomic_write_text(
            self._version_dir(variant.id) / f"{variant.version}.yaml",
            header + yaml.safe_dump(snapshot, sort_keys=False, allow_unicode=True, width=100),
        )
        atomic_write_text(self.path(variant.id), variant.to_yaml())
        return VersionInfo(variant.content_hash, parent, saved_at, author, note)


def inside_folder(path: Path, folder: Path) -> Path:
    """``path``, refused when it is a link whose target lies outside ``folder``."""
    try:
        outside = not Path(path).resolve().is_relative_to(Path(folder).resolve())
    except (OSError, RuntimeError):  # a link loop
        outside = True
    if outside:
        raise VariantError(str(path), "is a link to a file outside the variant library; it was not read",
                           "replace the link with the variant file itself")
    return Path(path)


def validate_paths(paths: Sequence[Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """Check variant files (or folders of them); return per-file results and the errors found."""
    results: list[dict[str, Any]] = []
    errors: list[str] = []
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml"))
            if not found:
                errors.append(f"{path}: no variant files (*.yaml) in this folder")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            errors.append(f"{path}: no such file or folder")
    for file in files:
        try:
            variant = load_variant_file(inside_folder(file, file.parent))
            if file.stem != variant.id:
                raise VariantError(str(file), f"holds id {variant.id!r}", f"rename the file to {variant.id}.yaml")
            lib = VariantLibrary(file.parent)
            lib.check_logo(variant, str(file))
            lib.verified_history(variant.id)  # a tampered snapshot fails its hash here; each is read once
            notes = list(variant.warnings)
            if not lib.is_recorded(variant):
                notes.append(f"edited outside the lab: run `highlight-lab variants save {file}` to record it")
            results.append({"path": str(file), "id": variant.id, "version": variant.version, "ok": True,
                            "warnings": notes})
        except LabError as exc:
            errors.append(str(exc))
            results.append({"path": str(file), "ok": False, "error": str(exc)})
    return results, errors


def resolve_variant(value: str, directory: Path) -> tuple[Variant, Path]:
    """A variant by id from the library, or a YAML path; returns it with the folder its logo is under."""
    path = Path(value)
    if path.suffix in (".yaml", ".yml") or path.exists():
        variant, root = load_variant_file(path), path.parent
    else:
        variant, root = VariantLibrary(directory).load(value), directory
    VariantLibrary(root).check_logo(variant, str(value) if root != directory else f"variant {variant.id}")
    return variant, root
