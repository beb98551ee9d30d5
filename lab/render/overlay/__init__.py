"""The exact layer: names, ranks, arrow, sparks, style effects and the end card, drawn over a background.

Everything personal or textual is drawn here, never by a model. Sprites are drawn once per render with
Pillow and converted to YUV; each frame then only blends them at eased positions into the background.
The motion follows the style's beat sheet (``styles.BeatSheet``, with a variant's ``motion`` overrides):
anticipation -> leap -> impact -> hold -> the rank flies into the end card; docs/MOTION.md describes each
style's beats, the margins and the contrast rule.

Modules: ``easing`` (curves), ``beats`` (the timeline), ``layout`` (where things sit, the margins),
``sprites`` (pictures), ``particles``, ``board`` (the rows), ``callout`` (the rank, arrow, shield, caption),
``scene`` (``Overlay``), ``endcard`` (``EndCard``). ``lab.render.compositor`` puts them over a background.
"""

from lab.render.overlay.beats import DIP, Timeline, timeline
from lab.render.overlay.easing import EASINGS, punch
from lab.render.overlay.endcard import END_CARD_DIM, SETTLED_S, EndCard, dimmed_frames, end_card
from lab.render.overlay.layout import HARD, SAFE_BOTTOM, SAFE_TOP, SIDE, Layout, layout
from lab.render.overlay.scene import Overlay
from lab.render.overlay.words import WORDS, words
from lab.render.styles import END_CARD_MIN_S, TRANSITION_S

__all__ = ["DIP", "EASINGS", "END_CARD_DIM", "END_CARD_MIN_S", "HARD", "SAFE_BOTTOM", "SAFE_TOP", "SETTLED_S", "SIDE",
           "TRANSITION_S", "WORDS", "EndCard", "Layout", "Overlay", "Timeline", "dimmed_frames", "end_card", "layout",
           "punch", "timeline", "words"]
