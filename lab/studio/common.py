"""What every part of the studio shares: the choices derived from the code that defines them, user text made
safe for Markdown, refusals in a user's words, render progress labels, and the page's styles."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable
from typing import Any

import gradio as gr

from analysis.power import power_plan
from lab.errors import LabError, excerpt
from lab.library.variant import MAX_LEVEL
from lab.render.backends import BACKENDS
from lab.render.background import DECODE, ENCODE, FRAME
from lab.render.styles import STYLES

# Choices derived from the code that defines them ("auto" first, as the renderer's default).
BACKEND_CHOICES = ["auto", *sorted(b for b in BACKENDS if b != "auto")]
LEVEL_CHOICES = ["auto"] + [str(i) for i in range(MAX_LEVEL + 1)]
STYLE_CHOICES = list(STYLES)
LOCALES = ["en", "zh-CN"]
SLOTS = 4  # variants compared side by side
ERROR_CAP = 20  # bad outcome files listed at most

# The one slot a diffusion-model render holds: a GPU renders one video at a time.
GPU_SLOT = threading.Semaphore(1)

# A CLI flag in a library message, in the words of the studio's own controls.
FLAG_WORDS = {"--force --arm ARM --reason TEXT": "tick Force, name the Arm and give a Reason",
              "--force --reason": "tick Force and give a Reason", "--force": "Force", "--reason": "a Reason",
              "--arm": "Arm"}


def text(value: Any) -> str:
    """User text safe inside Markdown: HTML escaped and Markdown's specials backslash-escaped."""
    return re.sub(r"([\\`*_\[\]|~<>])", r"\\\1", html.escape(str(value), quote=False))


def in_user_words(message: str) -> str:
    """A library message with its CLI flags named as the studio's controls."""
    for flag, words in FLAG_WORDS.items():
        message = message.replace(flag, words)
    return message


def designer_message(exc: LabError) -> str:
    """A refusal in a user's words, as plain text: what, and the fix unless it names a command."""
    what = in_user_words(exc.what or "")
    fix = in_user_words(exc.fix or "")
    if "--" in fix or "highlight-lab" in fix:
        fix = ""
    what = what.replace("--", "")
    if not what:
        return ""
    return what[0].upper() + what[1:] + (f". {fix[0].upper() + fix[1:]}." if fix else ".")


class RenderCancelled(Exception):
    """Raised inside a render's progress callback when its page pressed Cancel: the work stops there."""


class CancelFlags:
    """Cancel requests per page (Gradio's session hash): Cancel sets one, the render's next progress update
    sees it and stops the render instead of finishing it unseen."""

    def __init__(self) -> None:
        self._set: set[str] = set()
        self._lock = threading.Lock()

    def cancel(self, session: str) -> None:
        with self._lock:
            self._set.add(session)

    def clear(self, session: str) -> None:
        with self._lock:
            self._set.discard(session)

    def check(self, session: str) -> None:
        with self._lock:
            if session in self._set:
                self._set.discard(session)
                raise RenderCancelled(session)


CANCELS = CancelFlags()


# How each render stage reads on the progress bar (the stages: lab.render.background).
STAGE_WORDS = {DECODE: "decoding the background (VAE)", ENCODE: "encoding the video"}


class RenderSteps:
    """A render's ``progress(done, total, stage)`` as labelled progress, in the pipeline's order: denoising steps
    of a model background, its decode, each composited frame, then encoding; ``report(fraction, desc)`` gets each
    update. A motion render, or a model background from the cache, has no steps and no decode. ``session`` (a
    page) lets Cancel stop the render at its next update.
    """

    def __init__(self, report: Callable[[float, str], None], label: str = "",
                 session: str | None = None) -> None:
        self.report, self.label, self.session = report, label, session

    def __call__(self, done: int, total: int, stage: str = FRAME) -> None:
        if self.session:
            CANCELS.check(self.session)
        if stage in STAGE_WORDS:  # a stage with no count: the bar shows it as under way
            self.report(0.99 if stage == ENCODE else 0.0, f"{self.label}{STAGE_WORDS[stage]}")
            return
        self.report(done / max(total, 1), f"{self.label}{stage} {done}/{total}")


def power(baseline: float, mde_rel: float, alpha: float, power_: float, arms: int, daily: int) -> str:
    """The sample size a test needs (``analysis.power.power_plan``)."""
    try:
        p = power_plan(baseline, mde_rel=mde_rel, alpha=alpha, power=power_, arms=int(arms), daily=int(daily) or None)
    except ValueError as exc:
        raise LabError("", str(exc)) from None
    return (f"**{p.n_per_arm:,} per arm** ({p.total:,} in all) to detect {p.baseline:.1%} → {p.target:.1%} "
            f"at α {p.alpha_per_comparison:.3g} per comparison with {p.power:.0%} power"
            + (f"; about **{p.days} days** at {int(daily):,} a day." if p.days else "."))


def row_part(name: str, line: str) -> str:
    """A bad-row line without the server's upload path: "row 3, column clicks: …" (the file is named above)."""
    return re.sub(r"\S*/" + re.escape(name), name, line).removeprefix(f"{name}: ")


CSS = """
.banner {padding: 12px 16px; border-radius: 8px; font-weight: 600; margin: 6px 0;}
.banner-red {background: #c62828; color: #fff;}
.banner-amber {background: #fff3cd; color: #5d4300; border: 1px solid #e0b100;}
.field-error {color: #c62828; font-size: 0.9em; min-height: 0;}
.field-error p {margin: 0;}
.tab-message {color: #c62828; font-weight: 600;}
.tab-message p {margin: 0;}
.unavailable {opacity: 0.45; cursor: not-allowed;}
"""

# Restart every compared video at 0 and play them together.
SYNC_PLAY = """() => { const vs = [...document.querySelectorAll('#compare video')];
  vs.forEach(v => { v.pause(); v.currentTime = 0; v.loop = true; v.muted = true; });
  Promise.all(vs.map(v => v.play().catch(() => null))); }"""


class _NoStub:
    """While two component classes are defined: Gradio's metaclass writes a ``.pyi`` stub beside the source file
    of every component subclass (here, into the package); the stub is for Gradio's own typing, so skip it."""

    def __enter__(self) -> None:
        from gradio import component_meta

        self.write = component_meta.create_or_modify_pyi
        component_meta.create_or_modify_pyi = lambda *args, **kwargs: None

    def __exit__(self, *exc: object) -> None:
        from gradio import component_meta

        component_meta.create_or_modify_pyi = self.write


with _NoStub():

    class RankNumber(gr.Number):
        """A rank field: a number box whose bad text (sent through the API) reaches the handler, which refuses
        it in words beside the field, instead of failing inside Gradio as a bare "Error"."""

        is_template = True  # Gradio's mark for a subclass the page draws with its base's (Number's) component

        def preprocess(self, payload: Any) -> Any:
            try:
                return super().preprocess(payload)
            except (TypeError, ValueError):
                return payload if isinstance(payload, str) else str(payload)

    class Choice(gr.Dropdown):
        """A dropdown whose refusal of a value it does not offer (only an API call can send one) names the field
        and quotes the value escaped and cut short, where Gradio's own message echoes it raw with every choice."""

        is_template = True  # drawn with Dropdown's component

        def preprocess(self, payload: Any) -> Any:
            try:
                return super().preprocess(payload)
            except gr.Error:
                raise gr.Error(f"{self.label or 'Choice'}: {excerpt(payload)} is not one of the choices; "
                               "pick one from the list") from None
