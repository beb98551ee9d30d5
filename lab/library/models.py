"""What each background model can produce: the one place its size and length rules live."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelSpec:
    """Constraints of a text-to-video model that every config is checked against."""

    name: str
    repo_id: str
    size_multiple: int  # width and height must be multiples of this (VAE x16, patch 2)
    frame_stride: int  # frame counts are frame_stride * k + 1 (temporal VAE compression)
    max_reliable_seconds: float  # past this the published model distorts
    max_side: int
    text_encoder_max_tokens: int = 512  # UMT5 reads this many tokens of a prompt and drops the rest
    # The model card's published sizes (landscape first) and sampling defaults, shown next to a variant's own.
    published_sizes: tuple[tuple[int, int], ...] = ()
    card_steps: int | None = None
    card_guidance: float | None = None

    def size_note(self, width: int, height: int) -> str | None:
        """None for a published size; otherwise the sentence the sidecar records."""
        if not self.published_sizes or (width, height) in self.published_sizes:
            return None
        sizes = ", ".join(f"{w}x{h}" for w, h in self.published_sizes)
        return f"{width}x{height} is outside the model's published sizes ({sizes})"

    def card_comparison(self, steps: int, guidance: float) -> dict[str, object]:
        """The variant's steps and guidance beside the model card's, so a designer sees the trade-off."""
        return {"steps": steps, "card_steps": self.card_steps, "guidance": guidance,
                "card_guidance": self.card_guidance}

    def snap_side(self, value: int) -> int:
        """Nearest multiple of ``size_multiple`` (ties go up), at least one multiple."""
        m = self.size_multiple
        return max(m, int((value + m / 2) // m) * m)

    def snap_frames(self, frames: int) -> int:
        """Nearest count of the form ``frame_stride * k + 1`` (ties go up), at least one stride."""
        s = self.frame_stride
        k = max(1, int((frames - 1 + s / 2) // s))
        return s * k + 1

    def frames_for(self, fps: int, duration_s: float) -> int:
        """Frames the model must make for ``duration_s`` seconds at ``fps``: one per tick plus the first."""
        return round(fps * duration_s) + 1


WAN22_TI2V_5B = ModelSpec(
    name="Wan2.2-TI2V-5B",
    repo_id="Wan-AI/Wan2.2-TI2V-5B-Diffusers",
    size_multiple=32,
    frame_stride=4,
    max_reliable_seconds=6.0,
    max_side=1280,
    published_sizes=((1280, 704), (704, 1280)),  # Wan2.2 README: TI2V-5B generates 720P as 1280*704
    card_steps=50,
    card_guidance=5.0,
)

DEFAULT_MODEL = WAN22_TI2V_5B


@dataclass(frozen=True)
class SizePlan:
    """A size and length the model can produce, with what was changed to get there."""

    width: int
    height: int
    fps: int
    frames: int
    warnings: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return (self.frames - 1) / self.fps


def plan_size(model: ModelSpec, width: int, height: int, fps: int, duration_s: float) -> SizePlan:
    """Snap a requested size and length to the model's grid, saying what changed and why."""
    warnings: list[str] = []
    w, h = model.snap_side(width), model.snap_side(height)
    if (w, h) != (width, height):
        warnings.append(
            f"size {width}x{height} snapped to {w}x{h}: {model.name} needs width and height "
            f"in multiples of {model.size_multiple}"
        )
    wanted = model.frames_for(fps, duration_s)
    frames = model.snap_frames(wanted)
    if frames != wanted:
        warnings.append(
            f"{wanted} frames ({duration_s:g} s at {fps} fps) snapped to {frames}: {model.name} makes "
            f"{model.frame_stride}k+1 frames"
        )
    if duration_s > model.max_reliable_seconds:
        warnings.append(
            f"duration {duration_s:g} s is past the ~{model.max_reliable_seconds:g} s where "
            f"{model.name} starts to distort"
        )
    return SizePlan(width=w, height=h, fps=fps, frames=frames, warnings=tuple(warnings))
