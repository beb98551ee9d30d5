"""Render the gallery: contact sheets of every shipped variant, landscape and portrait, with an English
and a CJK name, on the motion background; its beat sheet in both orientations (``lab.render.strip.beat_sheet``,
the studio's frame strip: wind-up, leap, impact, punch, hold, flight, end card); plus one strip per style of its
first 1.5 s at 12 fps (every other frame of the 24 fps video), each frame labelled with its real number and time.
Run: .venv/bin/python docs/gallery/build.py"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from lab.library.events import parse_event  # noqa: E402
from lab.library.schema import with_changes  # noqa: E402
from lab.library.versions import VariantLibrary  # noqa: E402
from lab.render.encode import contact_sheet  # noqa: E402
from lab.render.pipeline import render  # noqa: E402
from lab.render.strip import beat_sheet  # noqa: E402

STRIP_SECONDS, STRIP_FPS = 1.5, 12


def strip(video: Path, out: Path) -> None:
    """The first STRIP_SECONDS at STRIP_FPS, decoded from the MP4 itself."""
    import av

    with av.open(str(video)) as c:
        stream = c.streams.video[0]
        fps = float(stream.average_rate)
        frames = [f.to_ndarray(format="yuv420p") for f in c.decode(stream)]
        width, height = stream.codec_context.width, stream.codec_context.height
    step = round(fps / STRIP_FPS)
    numbers = list(range(0, int(STRIP_SECONDS * fps) + 1, step))
    contact_sheet([frames[i] for i in numbers], width, height, out, columns=7, rows=3,
                  thumb_width=240 if width > height else 150, numbers=numbers, fps=fps)

NAMES = {"en": ("Alice", "Bob"), "zh-CN": ("小明", "李雷")}
RANKS = {"rank_up": (3, 2), "defend": (1, 1), "first_entry": (None, 15)}


def main() -> None:
    out = ROOT / "docs" / "gallery"
    lib = VariantLibrary(ROOT / "variants")
    strips_done: set[str] = set()
    with tempfile.TemporaryDirectory() as tmp:
        for variant in lib.load_all():
            for orientation in ("landscape", "portrait"):
                v = variant
                if orientation == "portrait":
                    v = with_changes(variant, generation__width=variant.generation.height,
                                     generation__height=variant.generation.width)
                for locale, (user, rival) in NAMES.items():
                    old, new = RANKS[v.scenario]
                    event = {"event": v.scenario, "user": user, "new_rank": new, "challenge": "Weekly 5K",
                             "locale": locale}
                    if old is not None:
                        event["old_rank"] = old
                    if v.scenario != "first_entry":
                        event["rival"] = rival
                    name = f"{variant.id}-{orientation}-{locale}"
                    r = render(v, parse_event(event), Path(tmp) / f"{name}.mp4", backend="motion",
                               logo_root=ROOT / "variants")
                    shutil.copy(r.contact_sheet, out / f"{name}.png")
                    print(f"{name}.png  ({r.seconds:.2f} s, {Path(r.path).stat().st_size / 1024:.0f} KB)")
                    if locale == "en":
                        sheet = beat_sheet(variant, parse_event(event), orientation, thumb_width=240,
                                           logo_root=ROOT / "variants")
                        sheet.save(out / f"beats-{variant.id}-{orientation}.png")
                        print(f"beats-{variant.id}-{orientation}.png")
                    if orientation == "landscape" and locale == "en" and v.style not in strips_done:
                        strips_done.add(v.style)
                        strip(Path(r.path), out / f"strip-{v.style}.png")
                        print(f"strip-{v.style}.png")


if __name__ == "__main__":
    main()
