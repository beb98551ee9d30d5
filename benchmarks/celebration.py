"""The celebration's figures (issue 20, docs/MOTION.md "Done when") for every shipped variant, landscape and
portrait, a Latin and a 30-character name, measured on the rendered MP4s (decoded) and the layout:

    .venv/bin/python benchmarks/celebration.py [--baseline /path/to/older/checkout]

impact / flight: the largest mean |ΔY| (luma levels per frame) at the impact and during the flight into the end
card, and their ratio; quiet: the lowest mean |ΔY| over any 0.5 s between 1.6 and 2.8 s; rank: the new rank's
letters at 1.5 s as a share of the frame's height (from pixels); spread: the share of the height the overlay's
text boxes span (the first pass recorded sprite boxes, padding included, so its spread reads high);
KB; true peak (dBTP); the end card's mean volume (dB). ``--baseline`` measures an older checkout the same way
(its own code and variants, in a subprocess) for a before/after table.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = Path(sys.argv[sys.argv.index("--code") + 1]).resolve() if "--code" in sys.argv else ROOT
sys.path.insert(0, str(CODE))

from lab.library.events import parse_event  # noqa: E402
from lab.library.schema import with_changes  # noqa: E402
from lab.library.versions import VariantLibrary  # noqa: E402
from lab.render.cache import BackgroundCache  # noqa: E402
from lab.render.overlay import Overlay, timeline  # noqa: E402
from lab.render.pipeline import render  # noqa: E402


def _this_checkouts_measure():  # type: ignore[no-untyped-def]
    """The measuring code is always this checkout's, whichever checkout renders."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("celebration_measure", ROOT / "lab" / "render" / "measure.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


measure = _this_checkouts_measure()

NAMES = {"latin": ("Alice", "Bob"), "30-char": ("Maximiliana Fernández-Oyelaran", "Bartholomew Quintero-Vasquez")}
RANKS = {"rank_up": (3, 2), "defend": (1, 1), "first_entry": (None, 15)}


def event(scenario: str, user: str, rival: str):
    old, new = RANKS[scenario]
    data = {"event": scenario, "user": user, "new_rank": new, "challenge": "Weekly 5K"}
    if old is not None:
        data["old_rank"] = old
    if scenario != "first_entry":
        data["rival"] = rival
    return parse_event(data)


def rank_and_spread(v, e, width: int, height: int, fps: int, frames: int) -> tuple[float, float]:
    """The new rank's letters at 1.5 s (drawn alone on a flat grey frame, found by their colour near the callout)
    and the span of the overlay's text boxes, as shares of the frame's height."""
    import numpy as np

    from lab.render.text import INK
    from lab.render.yuv import rgb_to_yuv420, yuv420_to_rgb

    ov = Overlay(v, e, width, height, fps, frames, particles=False)
    frame = rgb_to_yuv420(np.full((height, width, 3), (60, 60, 70), np.uint8))
    try:
        ov.draw(frame, 1.5, shared_drawn=True)
    except TypeError:  # an older checkout's draw(frame, t)
        ov.draw(frame, 1.5)
    shield = getattr(ov, "shield", None) is not None
    colour = np.array(INK if shield else [int(v.brand.accent[i:i + 2], 16) for i in (1, 3, 5)])
    rank = next(el for el in ov.legibility if el["element"].startswith(("new rank", "rank on the shield")))
    x0, y0, x1, y1 = (max(int(c), 0) for c in rank.get("extent", rank["box"]))  # the rank's sprite or shield
    rgb = yuv420_to_rgb(frame, height, width).astype(int)
    box = rgb[y0:y1, x0:x1]
    rows = np.where((np.abs(box - colour).sum(axis=-1) < 60).sum(axis=1) >= 2)[0]
    boxes = [el["box"] for el in ov.legibility]
    spread = max(b[3] for b in boxes) - min(b[1] for b in boxes)
    return (rows[-1] - rows[0]) / height if len(rows) else 0.0, spread / height


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", type=Path, help="an older checkout to measure the same way")
    parser.add_argument("--code", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        print(f"== baseline {args.baseline}")
        subprocess.run([sys.executable, __file__, "--code", str(args.baseline)], check=True, timeout=3600)
        print("== this checkout")
    lib = VariantLibrary(CODE / "variants")
    print(f"{'clip':46} {'impact':>6} {'flight':>6} {'ratio':>5} {'quiet':>5} {'rank':>5} {'spread':>6} {'KB':>5} "
          f"{'dBTP':>6} {'card dB':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        cache = BackgroundCache(Path(tmp) / "cache", 10**10)
        for v0 in lib.load_all():
            for orientation in ("landscape", "portrait"):
                v = v0 if orientation == "landscape" else with_changes(
                    v0, generation__width=v0.generation.height, generation__height=v0.generation.width)
                for names, (user, rival) in NAMES.items():
                    e = event(v.scenario, user, rival)
                    path = Path(tmp) / "clip.mp4"
                    r = render(v, e, path, backend="motion", cache=cache, extras=False, logo_root=CODE / "variants")
                    beats = getattr(v, "beats", v.style)
                    try:
                        tl = timeline(beats, r.duration_s, r.fps)
                    except TypeError:  # an older checkout's timeline(style, duration)
                        tl = timeline(beats, r.duration_s)
                    flight = getattr(tl, "transition", tl.end_card - 0.2)
                    rep = measure.clip_report(path, tl.impact, flight, tl.end_card)
                    rank, spread = rank_and_spread(v, e, r.width, r.height, r.fps, r.frames)
                    print(f"{v0.id + ' ' + orientation + ' ' + names:46} {rep.impact:6.2f} {rep.transition:6.2f} "
                          f"{rep.impact_ratio:5.2f} {rep.quietest:5.2f} {rank:5.1%} {spread:6.1%} "
                          f"{rep.bytes / 1000:5.0f} {rep.true_peak_dbtp:6.2f} {rep.end_card_db:7.1f}", flush=True)


if __name__ == "__main__":
    main()
