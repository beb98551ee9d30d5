"""Which background backends exist, what one must provide, and how one is made from its name.

A backend is called as diffusers pipelines are, ``backend(request) -> Background``, and says which fields
of the request change its pixels (``recipe``), which is what the cache key is made of. The implementations
(``MotionBackend``, ``WanBackend``) live in ``backgrounds.py``.

Adding a backend: a class that satisfies ``Backend``, its name in ``BackendName`` and a branch in
``make_backend``.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, get_args

from lab.errors import LabError
from lab.render.backgrounds import Background, BackgroundRequest, DistilledWanBackend, MotionBackend, WanBackend

BackendName = Literal["auto", "motion", "wan", "wan-distilled", "tiny-wan"]
BACKENDS: tuple[str, ...] = get_args(BackendName)

# Shown on every frame and the end card of a render whose model has random weights (a test model).
RANDOM_WEIGHTS_LABEL = "RANDOM WEIGHTS"


class Backend(Protocol):
    """What the pipeline needs of a background backend."""

    name: str  # the backend's name, as in the sidecar
    model: str  # the model (or procedure) that makes the pixels
    random_weights: bool  # a test model: its output is noise, and renders are labelled RANDOM_WEIGHTS_LABEL
    sends_prompt: bool  # whether the prompt reaches a model (and the GPU, so degrade checks its memory)

    def recipe(self, req: BackgroundRequest) -> dict[str, Any]:
        """Everything that changes the pixels; the cache key is its hash."""
        ...

    def __call__(self, req: BackgroundRequest) -> Background:
        ...


def gpu_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def make_backend(name: str, device: str | None = None) -> tuple[Backend, str | None]:
    """The backend for a name (one of ``BACKENDS``), and a notice when ``auto`` had to fall back.

    ``wan`` and ``wan-distilled`` (a few-step distilled model from ``$HIGHLIGHT_LAB_WAN_DISTILLED``) need CUDA
    unless ``device="cpu"`` is given explicitly; ``tiny-wan`` runs on the CPU by default.
    Making a Wan backend is cheap: the pipeline itself is loaded once per process and device and stays
    resident (``lab.render.backgrounds.free_resident`` gives the memory back).
    """
    from lab import config

    if name == "motion":
        return MotionBackend(), None
    if name == "wan":
        return WanBackend(config.wan_model_dir(), device=device), None
    if name == "wan-distilled":
        return DistilledWanBackend(config.wan_distilled_dir(), device=device), None
    if name == "tiny-wan":
        from lab.render.tiny_wan import ensure_tiny_wan

        return WanBackend(ensure_tiny_wan(config.tiny_wan_dir()), device=device or "cpu",
                          label=RANDOM_WEIGHTS_LABEL, name="tiny-wan"), None
    if name == "auto":
        model_dir = config.wan_model_dir()
        if not gpu_available():
            return MotionBackend(), "no GPU here: using the motion background (the model needs CUDA)"
        try:
            return WanBackend(model_dir, device=device), None
        except LabError as exc:
            return MotionBackend(), f"Wan weights unavailable ({exc}): using the motion background"
    raise LabError("--backend", f"unknown backend {name!r}", f"use one of {', '.join(BACKENDS)}")
