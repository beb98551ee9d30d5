"""Where everything sits, per orientation, and the margins every text box keeps.

Text stays inside 10 % side margins and 12 % top and bottom margins (phone UI: status bar and notch above,
home bar and player controls below); with its outline and glow it stays inside 8 % (``HARD``). ``check`` holds
every overlay and end card to it as they are built. Portrait uses the whole 9:16 canvas: the rank in the upper
third, the board in the middle, a banner or the logo in the lower third.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lab.errors import LabError

SIDE = 0.10  # text stays this far from the left and right edges ...
SAFE_TOP = 0.12  # ... from the top (status bar, notch) ...
SAFE_BOTTOM = 0.12  # ... and from the bottom (home bar, player controls)
HARD = 0.08  # a text box with its outline and glow stays at least this far from every edge
CHECKED_FROM = 120  # px on the short side: a smaller frame (a test model's 64 x 64) cannot hold text apart

Box = tuple[float, float, float, float]


def even(x: float) -> int:
    return int(round(x / 2)) * 2


def even_up(x: float) -> int:
    return int(math.ceil(x / 2 - 1e-9)) * 2


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    landscape: bool
    s: float  # scale: 1.0 at 480 px on the short side
    left: int  # the text area: inside SIDE, SAFE_TOP and SAFE_BOTTOM
    right: int
    top: int
    bottom: int
    card_x: int  # the board: its rows' left edge, top and width
    card_y: int
    card_w: int
    row_h: int
    gap: int
    rank_x: int  # the centre of the big new rank (or of the shield that carries it)
    rank_y: int
    rank_w: int  # the room the callout ("#7 → #3") may take
    rank_size: int  # the big rank's font size, before it is fitted to rank_w
    shield_w: int
    shield_h: int
    banner_y: int  # the top of a banner ("Welcome!", "SLOW-MO REPLAY")

    def slot_y(self, slot: float) -> float:
        return self.card_y + slot * (self.row_h + self.gap)

    @property
    def safe_top(self) -> int:
        return self.top

    @property
    def safe_bottom(self) -> int:
        return self.bottom

    @property
    def hard_box(self) -> Box:
        """The box a text element's outline and glow must stay inside."""
        mx, my = self.width * HARD, self.height * HARD
        return mx, my, self.width - mx, self.height - my

    @property
    def text_box(self) -> Box:
        return self.left, self.top, self.right, self.bottom


def layout(width: int, height: int, shield: bool = False, banner_h: int = 0) -> Layout:
    """The layout of a ``width`` x ``height`` frame; ``shield``: the rank rides on a shield (it needs more room);
    ``banner_h``: the height of a banner to make room for."""
    landscape = width >= height
    s = min(width, height) / 480
    left, top = even_up(width * SIDE), even_up(height * SAFE_TOP)  # rounded inwards
    right, bottom = width - left, height - top
    gap = even(12 * s)
    if landscape:
        row_h = even(64 * s)
        card_w = even(width * 0.42)
        board_h = 3 * row_h + 2 * gap
        card_y = max(even(top + (bottom - top - board_h) / 2), even(top + banner_h + gap) if banner_h else 0)
        zone_x0 = left + card_w + 2 * gap
        rank_x, rank_w = even((zone_x0 + right) / 2), right - zone_x0
        shield_w = min(even(272 * s), even(rank_w))
        shield_h = min(even(shield_w * 320 / 272), bottom - top)
        rank_y = even((top + bottom) / 2) if shield else even(top + (bottom - top) * 0.4)
        banner_y = max(top, card_y - banner_h - gap)
        rank_size = even(124 * s)
    else:
        row_h = even(72 * s)
        gap = even(14 * s)
        card_w = right - left
        shield_w = even(272 * s)
        shield_h = even(320 * s)
        rank_x, rank_w = width // 2, card_w
        rank_y = even(top + shield_h / 2) if shield else even(height * 0.24)
        card_y = even(height * (0.6 if shield else 0.5))
        banner_y = bottom - banner_h
        rank_size = even(height * 0.2)
    return Layout(width, height, landscape, s, left, right, top, bottom, left, card_y, card_w, row_h, gap,
                  rank_x, rank_y, rank_w, rank_size, shield_w, shield_h, banner_y)


def inside(box: Box, area: Box) -> bool:
    return box[0] >= area[0] - 0.5 and box[1] >= area[1] - 0.5 and box[2] <= area[2] + 0.5 and box[3] <= area[3] + 0.5


def overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def check(elements: list[dict], lay: Layout, where: str) -> None:
    """Refuse a layout that puts text outside the margins or on other text: each element's ``box`` (its letters,
    where it rests) inside the 10 % / 12 % text area and clear of every other box, its ``extent`` (with outline
    and glow) inside 8 %. Text is fitted to its room when it is drawn (long names end in "…"), so this fails only
    on a layout bug, loudly, before a frame is drawn."""
    if min(lay.width, lay.height) < CHECKED_FROM:
        return
    for i, el in enumerate(elements):
        if not inside(el["box"], lay.text_box) or not inside(el.get("extent", el["box"]), lay.hard_box):
            raise LabError(where, f"{el['element']} at {[int(v) for v in el['box']]} leaves the "
                                  f"{lay.width}x{lay.height} frame's text margins",
                           "report it: the overlay's layout must keep text inside them")
        for other in elements[i + 1:]:
            if overlap(el["box"], other["box"]):
                raise LabError(where, f"{el['element']} and {other['element']} overlap in the "
                                      f"{lay.width}x{lay.height} frame", "report it: the layout must keep text apart")
