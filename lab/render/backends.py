"""The background backends: what one must provide (``Backend``) and the one table that names them (``SPECS``).

Every place that knows a backend reads the table: ``make_backend`` (its factory), ``availability`` (why it
cannot run here), and the queues' routing (``uses_gpu``: the studio's model slot, the workers' rate limit).
Adding a backend is one class module and one ``BackendSpec`` line below.

Importing this module is cheap (no numpy, torch or diffusers): the CLI's parser and the studio read the names,
and each factory imports its backend's module only when a backend is made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from lab.errors import LabError

if TYPE_CHECKING:
    from lab.render.background import Background, BackgroundRequest

# Shown on every frame and the end card of a render whose model has random weights (a test model).
RANDOM_WEIGHTS_LABEL = "RANDOM WEIGHTS"
AUTO = "auto"  # not a backend: the best one available here (see ``make_backend``)


class ModelSwitches(Protocol):
    """The part of a model backend's switches (``lab.render.wan.resident.WanSettings``) a render reads."""

    cpu_offload: bool  # weights wait in CPU memory: a degrade estimate counts only the largest module


class Backend(Protocol):
    """What the render pipeline uses of a background backend: every member it reads is declared here."""

    name: str  # the backend's name, as in the sidecar
    model: str  # the model (or procedure) that makes the pixels
    random_weights: bool  # a test model: its output is noise, and renders are labelled RANDOM_WEIGHTS_LABEL
    sends_prompt: bool  # whether the prompt reaches a model (and the GPU, so degrade checks its memory)
    settings: ModelSwitches | None  # a model's switches; None for a procedure

    def recipe(self, req: BackgroundRequest) -> dict[str, Any]:
        """Everything that changes the pixels; the cache key is its hash."""
        ...

    def describe(self, req: BackgroundRequest) -> dict[str, Any]:
        """How the model ran, for the sidecar (switches, inputs); {} for a procedure."""
        ...

    def weights_resident(self) -> bool:
        """Whether the weights are already on the device (a degrade estimate does not count them again)."""
        ...

    def __call__(self, req: BackgroundRequest) -> Background:
        ...


@dataclass(frozen=True)
class BackendSpec:
    """One backend: how it is made, whether it needs the model slot, and why it cannot run here."""

    name: str
    label: str  # a short description for menus and help
    uses_gpu: bool  # runs a diffusion model: one render at a time in the model slot, rate-limited on workers
    factory: Callable[[str | None], Backend]  # device (None: the backend's default) -> backend
    unavailable: Callable[[], str | None]  # why it cannot run here (None: it can), without loading a model


def gpu_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


# -- factories: each imports its backend's module only when called ----------------------------------------

def _motion(device: str | None) -> Backend:
    from lab.render.motion_backend import MotionBackend

    return MotionBackend()


def _wan(device: str | None) -> Backend:
    from lab import config
    from lab.render.wan.backend import WanBackend

    return WanBackend(config.wan_model_dir(), device=device)


def _wan_distilled(device: str | None) -> Backend:
    from lab import config
    from lab.render.wan.backend import DistilledWanBackend

    return DistilledWanBackend(config.wan_distilled_dir(), device=device)


def _tiny_wan(device: str | None) -> Backend:
    from lab import config
    from lab.render.wan.backend import WanBackend
    from lab.render.wan.tiny import ensure_tiny_wan

    return WanBackend(ensure_tiny_wan(config.tiny_wan_dir()), device=device or "cpu", label=RANDOM_WEIGHTS_LABEL,
                      name="tiny-wan")


# -- availability: cheap checks, in the order a user would fix them -----------------------------------------

def _runs_anywhere() -> str | None:
    return None


def _model_stack() -> str | None:
    import importlib.util

    if any(importlib.util.find_spec(m) is None for m in ("torch", "diffusers")):
        return "needs torch and diffusers (pip install -e '.[gpu]')"
    return None


def _gpu_model(folder: Callable[[], Any], env: str, what: str, where: str) -> Callable[[], str | None]:
    """Available when the model stack is installed, a CUDA GPU is here and ``env`` names a complete folder."""

    def check() -> str | None:
        from lab.render.wan.files import check_model_dir

        if reason := _model_stack():
            return reason
        if not gpu_available():
            return "no CUDA GPU on this machine"
        try:
            check_model_dir(folder(), env, what, where)
        except LabError as exc:
            return f"no local weights ({exc})"
        return None

    return check


def _config(name: str) -> Callable[[], Any]:
    """A setting read when the check runs (the environment may change between checks)."""

    def read() -> Any:
        from lab import config

        return getattr(config, name)()

    return read


SPECS: tuple[BackendSpec, ...] = (
    BackendSpec("motion", "procedural motion graphics on the CPU", False, _motion, _runs_anywhere),
    BackendSpec("wan", "Wan2.2-TI2V-5B (HIGHLIGHT_LAB_WAN_MODEL)", True, _wan,
                _gpu_model(_config("wan_model_dir"), "HIGHLIGHT_LAB_WAN_MODEL", "Wan-AI/Wan2.2-TI2V-5B-Diffusers",
                           "wan backend")),
    BackendSpec("wan-distilled", "few-step distilled Wan2.2-TI2V-5B (HIGHLIGHT_LAB_WAN_DISTILLED)", True,
                _wan_distilled, _gpu_model(_config("wan_distilled_dir"), "HIGHLIGHT_LAB_WAN_DISTILLED",
                                           "a few-step distilled Wan2.2-TI2V-5B in diffusers format",
                                           "wan-distilled backend")),
    BackendSpec("tiny-wan", "tiny Wan with random weights (tests; CPU)", True, _tiny_wan, _model_stack),
)
BY_NAME: dict[str, BackendSpec] = {spec.name: spec for spec in SPECS}
BACKENDS: tuple[str, ...] = (AUTO, *BY_NAME)  # every name --backend accepts
AUTO_PREFERENCE = ("wan", "motion")  # what ``auto`` tries, in order; the last one runs anywhere


def spec(name: str) -> BackendSpec:
    """The table entry of a backend name; a clear error for a name it does not hold."""
    if name not in BY_NAME:
        raise LabError("--backend", f"unknown backend {name!r}", f"use one of {', '.join(BACKENDS)}")
    return BY_NAME[name]


def availability() -> dict[str, str | None]:
    """Each name ``--backend`` accepts and why it cannot run here (None: it can), without loading a model."""
    return {AUTO: None, **{s.name: s.unavailable() for s in SPECS}}


def resolve_auto() -> tuple[str, str | None]:
    """The backend ``auto`` makes here (the first of ``AUTO_PREFERENCE`` that can run), and why it passed over
    the ones before it (None: the first choice runs)."""
    passed: list[str] = []
    for name in AUTO_PREFERENCE[:-1]:
        reason = BY_NAME[name].unavailable()
        if reason is None:
            return name, None
        passed.append(f"{name}: {reason}")
    return AUTO_PREFERENCE[-1], _fallback_notice(passed)


def _fallback_notice(passed: list[str]) -> str:
    return f"using the {AUTO_PREFERENCE[-1]} background; {'; '.join(passed)}"


def uses_gpu(name: str) -> bool:
    """Whether a render with this backend name runs a diffusion model, so it must wait for the model slot.

    ``auto`` uses it when it would make a model backend here. The studio's queue and the workers route by this.
    """
    if name == AUTO:
        name = resolve_auto()[0]
    return spec(name).uses_gpu


def gpu_backends() -> tuple[str, ...]:
    """The backend names that run a diffusion model (``uses_gpu``), as the table lists them."""
    return tuple(s.name for s in SPECS if s.uses_gpu)


def make_backend(name: str, device: str | None = None) -> tuple[Backend, str | None]:
    """The backend for a name (one of ``BACKENDS``), and a notice when ``auto`` had to fall back.

    ``wan`` and ``wan-distilled`` (a few-step distilled model from ``$HIGHLIGHT_LAB_WAN_DISTILLED``) need CUDA
    unless ``device="cpu"`` is given explicitly; ``tiny-wan`` runs on the CPU by default.
    Making a Wan backend is cheap: the pipeline itself is loaded once per process and device and stays
    resident (``lab.render.wan.resident.free_resident`` gives the memory back).
    """
    if name != AUTO:
        return spec(name).factory(device), None
    chosen, notice = resolve_auto()
    last = BY_NAME[AUTO_PREFERENCE[-1]]
    try:
        return BY_NAME[chosen].factory(device), notice
    except LabError as exc:  # available by the cheap check, yet it would not load: say why and fall back
        if chosen == last.name:
            raise
        return last.factory(device), _fallback_notice([f"{chosen}: {exc}"])
