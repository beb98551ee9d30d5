"""Render the gallery: contact sheets of every shipped variant, landscape and portrait, with an English
and a CJK name, on the motion background. Run: .venv/bin/python docs/gallery/build.py"""

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
from lab.render.pipeline import render  # noqa: E402

NAMES = {"en": ("Alice", "Bob"), "zh-CN": ("小明", "李雷")}
RANKS = {"rank_up": (3, 2), "defend": (1, 1), "first_entry": (None, 15)}


def main() -> None:
    out = ROOT / "docs" / "gallery"
    lib = VariantLibrary(ROOT / "variants")
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
                    print(f"{name}.png  ({r.seconds:.2f} s)")


if __name__ == "__main__":
    main()
