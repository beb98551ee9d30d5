"""One render: background (cached) + exact overlay + encode, with degrade and a JSON sidecar.

Personal data (the user's and rival's names, the user id) reach only the overlay's pixels: never the
prompt, the cache key, the sidecar, a log line or a file name the lab chooses.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from lab import config
from lab.errors import LabError, OutOfMemory
from lab.library.events import RankEvent
from lab.library.variant import Variant
from lab.render.backends import RANDOM_WEIGHTS_LABEL, Backend, make_backend
from lab.render.background import ENCODE, FRAME, Background, BackgroundRequest, Progress
from lab.render.cache import BackgroundCache, CacheEntry, cache_key
from lab.render.compositor import Compositor
from lab.render.degrade import choose_level, free_gpu_bytes
from lab.render.encode import MAX_BYTES, choose_encoder, contact_sheet, encode_mp4
from lab.render.motion_backend import MotionBackend
from lab.render.overlay import EndCard, Overlay
from lab.render.sound import LIMIT_DBTP, TARGET_LUFS
from lab.render.sound import RATE as SOUND_RATE
from lab.render.sound import track as sound_track
from lab.render.text import missing_glyphs
from lab.render.wan.backend import DraftBatch, WanBackend
from lab.render.yuv import yuv420_to_rgb
from lab.storage import atomic_write_text

log = logging.getLogger("lab.render")


@dataclass
class RenderResult:
    path: str
    poster: str | None
    contact_sheet: str | None
    sidecar: str
    backend: str
    model: str
    random_weights: bool
    level: int
    level_reason: str
    width: int
    height: int
    fps: int
    frames: int
    duration_s: float
    prompt: str
    negative_prompt: str
    prompt_sent_to_model: bool
    cache_hit: bool
    cache_key: str
    seed: int
    seconds: float
    timings: dict[str, float]
    warnings: list[str] = field(default_factory=list)
    variant: str = ""
    variant_version: str = ""
    event: dict[str, Any] = field(default_factory=dict)
    model_settings: dict[str, Any] = field(default_factory=dict)  # how a model backend ran (switches, inputs)
    sound: dict[str, Any] = field(default_factory=dict)  # the synthesised track, if any: style, loudness
    legibility: list[dict[str, Any]] = field(default_factory=list)  # each text element's contrast, box and fix
    encoder: str = "libx264"  # libx264, or h264_nvenc where the GPU's encoder opens (HIGHLIGHT_LAB_ENCODER)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RenderOptions:
    """How one render runs; ``render(variant, event, out, options, **overrides)`` takes these fields.

    ``backend`` is a ``backends.SPECS`` name, ``auto`` or a ``Backend``; ``device`` (``cpu`` to run a Wan
    backend without CUDA) is used only with a name. ``level`` None chooses one from the GPU's free memory
    (``free_memory`` overrides the reading) and ``latency_budget_s``. ``progress(done, total, stage)`` gets each
    denoising step of a model background made now and its decode, then each composited frame, then the encoder's
    finish (stages in ``background``: STEP, DECODE, FRAME, ENCODE). ``extras`` writes the poster and
    the contact sheet beside the video; ``poster`` (default: ``extras``) only the poster: the end card's frame,
    kept in memory while encoding (the production worker's thumbnail, with no MP4 read back).
    """

    backend: str | Backend = "auto"
    level: int | None = None
    seed: int | None = None
    latency_budget_s: float | None = None
    cache: BackgroundCache | None = None
    extras: bool = True
    logo_root: Path | None = None
    progress: Progress | None = None
    free_memory: int | None = None
    device: str | None = None
    poster: bool | None = None

    @property
    def want_poster(self) -> bool:
        return self.extras if self.poster is None else self.poster

    @property
    def library_root(self) -> Path:
        return Path(self.logo_root or "variants")


def check_inputs(variant: Variant, event: RankEvent, out: Path | str, options: RenderOptions) -> Path:
    """Every check that needs no work done: the output path, the scenario, an explicit level. Returns ``out``."""
    out = Path(out)
    if out.suffix.lower() != ".mp4":
        raise LabError("--out", f"{out} does not end in .mp4", "give a path such as preview.mp4")
    if out.parent and not out.parent.exists():
        raise LabError("--out", f"folder {out.parent} does not exist", "create it first")
    if event.scenario != variant.scenario:
        raise LabError(f"variant {variant.id}", f"is for {variant.scenario} events, the event is {event.scenario}",
                       "choose a variant of the event's scenario")
    if options.level is not None and not 0 <= options.level <= len(variant.degrade):
        raise LabError("--level", f"level {options.level} does not exist for {variant.id}",
                       f"choose 0 to {len(variant.degrade)}")
    return out


def render(variant: Variant, event: RankEvent, out: Path | str, options: RenderOptions | None = None,
           **overrides: Any) -> RenderResult:
    """Render one rank-up video for one user: ``check_inputs``, then the numbered steps below.

    ``overrides`` are ``RenderOptions`` fields (``render(v, e, out, backend="motion", extras=False)``).
    """
    t_start = time.perf_counter()
    options = replace(options or RenderOptions(), **overrides)
    out = check_inputs(variant, event, out, options)
    notices: list[str] = []
    timings: dict[str, float] = {}
    # 1. The backend, the seed and the prompt (public fields of the event only).
    be = _backend(options, notices)
    cache = options.cache or BackgroundCache(config.cache_dir(), config.cache_bytes())
    seed = variant.generation.seed if options.seed is None else options.seed
    prompt = variant.prompt_for(event)
    # 2. The degrade level: given, or chosen from free GPU memory and the latency budget.
    level, reason = _level(variant, be, options)
    # 3. The background, cached by its recipe; out of memory steps down one level and tries again.
    bg = _background(variant, be, cache, prompt, seed, level, reason, options, timings)
    # 4. What the viewer reads: overlay, end card, compositor; notices about the model options and fonts.
    notices += _notices(variant, event, bg.backend)
    t1 = time.perf_counter()
    comp = _compositor(variant, event, bg, seed, options)
    timings["overlay_setup_s"] = time.perf_counter() - t1
    # 5. Composite and encode (sound once per style, beats and length), keeping the frames the extras need.
    t2 = time.perf_counter()
    encoder = choose_encoder(config.encoder())
    count, sampled, sample_at, audio = _encode(variant, comp, bg.plan.size, out, options, encoder)
    timings["composite_encode_s"] = time.perf_counter() - t2
    # 6. The extras: the poster (a frame of the video itself) and the contact sheet.
    t3 = time.perf_counter()
    poster_path, sheet_path = _extras(comp.poster_index, sampled, sample_at, bg.plan.size, out, options)
    if options.extras:
        timings["extras_s"] = time.perf_counter() - t3
    # 7. The sidecar: what was made, how and from what (no personal data beyond the event's public fields).
    active, plan, entry, size = bg.backend, bg.plan, bg.entry, bg.plan.size
    overlay, card = comp.ov, comp.card
    result = RenderResult(
        path=str(out), poster=str(poster_path) if poster_path else None,
        contact_sheet=str(sheet_path) if sheet_path else None, sidecar=str(out.with_suffix(".json")),
        backend=active.name, model=getattr(active, "model", active.name), random_weights=active.random_weights,
        level=plan.level, level_reason=bg.reason, width=size.width, height=size.height, fps=size.fps, frames=count,
        duration_s=round((count - 1) / size.fps, 4), prompt=prompt, negative_prompt=variant.negative_prompt,
        prompt_sent_to_model=bool(active.sends_prompt), cache_hit=entry.hit, cache_key=bg.key, seed=seed,
        seconds=0.0, timings={k: round(v, 4) for k, v in timings.items()},
        warnings=notices + list(plan.warnings), variant=variant.id, variant_version=variant.version,
        event=event.public_fields(),
        model_settings=active.describe(bg.request) if hasattr(active, "describe") else {},
        sound={"track": variant.style, "lufs": TARGET_LUFS + variant.beats.sound_db, "true_peak_dbtp_max": LIMIT_DBTP,
               "codec": "aac"} if audio is not None else {},
        legibility=overlay.legibility + card.legibility, encoder=encoder,
    )
    result.seconds = round(time.perf_counter() - t_start, 4)
    result.timings["generation"] = entry.meta.get("timings", {}).get("generate_s", 0.0) if not entry.hit else 0.0
    atomic_write_text(Path(result.sidecar), json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    log.info("rendered %s background, level %d, %dx%d, %d frames, cache %s, in %.2fs", active.name, plan.level,
             size.width, size.height, count, "hit" if entry.hit else "miss", result.seconds)
    return result


@dataclass
class _Made:
    """Step 3's outcome: the backend that made the background (motion when the level asks for it), at which level."""

    backend: Backend
    plan: Any
    request: BackgroundRequest
    key: str
    entry: CacheEntry
    reason: str


def _backend(options: RenderOptions, notices: list[str]) -> Backend:
    if not isinstance(options.backend, str):
        return options.backend
    be, notice = make_backend(options.backend, options.device)
    if notice:
        notices.append(notice)
        log.warning("%s", notice)
    return be


def _level(variant: Variant, be: Backend, options: RenderOptions) -> tuple[int, str]:
    if options.level is not None:
        return options.level, "as configured" if options.level == 0 else f"level {options.level} requested"
    gpu_free = options.free_memory if options.free_memory is not None else (
        free_gpu_bytes() if be.sends_prompt else None)
    resident = getattr(be, "weights_resident", None)
    settings = getattr(be, "settings", None)
    return choose_level(variant, gpu_free, options.latency_budget_s, weights_resident=bool(resident and resident()),
                        cpu_offload=bool(settings and settings.cpu_offload))


def _background(variant: Variant, be: Backend, cache: BackgroundCache, prompt: str, seed: int, level: int,
                reason: str, options: RenderOptions, timings: dict[str, float]) -> _Made:
    while True:
        plan = variant.generation_plan(level)
        active = MotionBackend() if plan.backend == "motion" and not isinstance(be, MotionBackend) else be
        req = BackgroundRequest(variant, plan, prompt, variant.negative_prompt, seed, options.progress,
                                library_root=options.library_root)
        key = cache_key(active.recipe(req))
        t0 = time.perf_counter()
        try:
            entry = cache.get_or_create(key, lambda req=req, active=active: _make(active, req))
        except OutOfMemory as exc:
            if level >= len(variant.degrade):
                raise
            log.warning("out of memory at level %d; retrying at level %d", level, level + 1)
            reason = f"{exc} -> retried at level {level + 1}"
            level += 1
            continue
        timings["background_s"] = time.perf_counter() - t0
        return _Made(active, plan, req, key, entry, reason)


def _notices(variant: Variant, event: RankEvent, active: Backend) -> list[str]:
    notices = []
    if variant.model.to_dict() and not active.sends_prompt:
        notices.append("the variant's model options (key visual, LoRA, cfg_steps) apply to the Wan backends only: "
                       "the motion background ignores them")
    for who, name in (("user", event.user), ("rival", event.rival)):
        missing = missing_glyphs(name) if name else []
        if missing:  # say how many, never which: the characters are part of a name
            notices.append(f"the {who}'s name has {len(missing)} character(s) no installed font can draw "
                           "(they show as boxes); install a font that covers them")
    return notices


def _compositor(variant: Variant, event: RankEvent, bg: _Made, seed: int, options: RenderOptions) -> Compositor:
    size = bg.plan.size
    logo = None
    if variant.brand.logo:  # only a checked image inside the library's assets/ reaches Pillow
        from lab.library.assets import resolve_asset

        logo = str(resolve_asset(options.library_root, variant.brand.logo, f"variant {variant.id}: brand.logo"))
    label = RANDOM_WEIGHTS_LABEL if bg.backend.random_weights else None
    overlay = Overlay(variant, event, size.width, size.height, size.fps, size.frames, particles=bg.plan.particles,
                      label=label, seed=seed)
    card = EndCard(variant, event, size.width, size.height, logo, label, overlay.tl)  # over the live background
    return Compositor(overlay, card, bg.entry.frames, bg.key)  # the dimmed background: once per background, shared


def _encode(variant: Variant, comp: Compositor, size: Any, out: Path, options: RenderOptions, encoder: str
            ) -> tuple[int, dict[int, np.ndarray], list[int], np.ndarray | None]:
    sampled: dict[int, np.ndarray] = {}
    sample_at = set(np.linspace(0, size.frames - 1, 12).round().astype(int).tolist()) if options.extras else set()
    encodes = 0
    progress = options.progress

    def frames() -> Iterator[np.ndarray]:
        nonlocal encodes
        encodes += 1
        for f, frame in enumerate(comp.frames()):
            if f in sample_at or (options.want_poster and f == comp.poster_index):
                sampled[f] = frame
            if progress is not None and encodes == 1:  # the CPU's share of a render: a motion render is all frames
                progress(f + 1, size.frames, FRAME)
            yield frame
        if progress is not None and encodes == 1:  # every frame is in: the encoder flushes and closes the file
            progress(0, 1, ENCODE)

    audio = None
    if variant.effects.sound:  # made once per style, beats and length (nothing personal in it), then reused
        audio = sound_track(variant.style, (size.frames - 1) / size.fps, variant.beats, size.fps)
    count = encode_mp4(frames, out, size.width, size.height, size.fps, keyframes=frozenset({comp.end_index}),
                       audio=audio, audio_rate=SOUND_RATE, max_bytes=MAX_BYTES, frame_count=size.frames,
                       codec=encoder)
    return count, sampled, sorted(sample_at), audio


def _extras(poster_index: int, sampled: dict[int, np.ndarray], sample_at: list[int], size: Any, out: Path,
            options: RenderOptions) -> tuple[Path | None, Path | None]:
    poster_path = sheet_path = None
    if options.want_poster:
        poster_path = out.with_suffix(".poster.png")
        poster = sampled[poster_index]  # the end card, settled: a frame of the video itself
        Image.fromarray(yuv420_to_rgb(poster, size.height, size.width)).save(poster_path, compress_level=1)
    if options.extras:
        sheet_path = out.with_suffix(".contact.png")
        contact_sheet([sampled[i] for i in sample_at], size.width, size.height, sheet_path, numbers=sample_at,
                      fps=size.fps)
    return poster_path, sheet_path


def render_drafts(variants: list[Variant], event: RankEvent, out_dir: Path | str, backend: str | Backend = "wan",
                  level: int = 0, cache: BackgroundCache | None = None, logo_root: Path | None = None,
                  device: str | None = None, extras: bool = True) -> list[RenderResult]:
    """Draft mode: the backgrounds of several variants of one scenario (V1-V3) in one batched model call, then
    each variant's overlay and encode as ``render`` does; ``<out_dir>/<variant id>.mp4``.

    The variants must share size, length, steps, guidance, key visual and LoRA; each keeps its prompt and seed.
    """
    be = make_backend(backend, device)[0] if isinstance(backend, str) else backend
    if not isinstance(be, WanBackend):
        raise LabError("draft mode", f"needs a Wan backend, got {be.name}", "use --backend wan or tiny-wan")
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise LabError("draft mode", f"folder {out_dir} does not exist", "create it first")
    ids = tuple(v.id for v in variants)
    if len(set(ids)) != len(ids) or len({v.scenario for v in variants}) != 1:
        raise LabError("draft mode", "needs distinct variants of one scenario", "pick e.g. V1, V2 and V3")
    cache = cache or BackgroundCache(config.cache_dir(), config.cache_bytes())
    batch = DraftBatch(be, ids)
    reqs = [BackgroundRequest(v, v.generation_plan(level), v.prompt_for(event), v.negative_prompt,
                              v.generation.seed, library_root=Path(logo_root or "variants")) for v in variants]
    if any(cache.get(cache_key(batch.recipe(r))) is None for r in reqs):
        batch.make(reqs)  # one batched call for all of them
    return [render(v, event, out_dir / f"{v.id}.mp4", backend=batch, level=level, cache=cache, extras=extras,
                   logo_root=logo_root) for v in variants]


def _make(backend: Backend, req: BackgroundRequest) -> tuple[np.ndarray, dict[str, Any]]:
    bg: Background = backend(req)
    meta = {"recipe": backend.recipe(req), "timings": bg.info, "created": time.time()}
    return bg.frames, meta


__all__ = ["CacheEntry", "RenderOptions", "RenderResult", "check_inputs", "render", "render_drafts"]
