"""Renders are pixel-identical across a refactor: render a fixed set with this checkout's code and with an older
checkout's, then compare the decoded frames byte for byte.

The fixed set: every shipped variant on the motion backend at degrade level 4, and the tiny random-weights Wan
pipeline at 64x64 (diffusers' loop, the lab's batched-guidance loop, the few-step distilled loop, and a V1-V3
draft batch). Each side renders in its own process with its own data folder (fresh cache, its own tiny model
built by its own code), from this checkout's variants, so only the code differs.

    .venv/bin/python benchmarks/render_identity.py --baseline /path/to/older/checkout
    .venv/bin/python benchmarks/render_identity.py --worker DIR --out frames.json  # one side only

Exit status 0 when every render's decoded frames are identical, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TINY = {"generation__width": 64, "generation__height": 64, "generation__fps": 8, "generation__duration_s": 1.0,
        "generation__steps": 2}
MOTION_LEVEL = 4


def decoded_frames(path: Path) -> list[str]:
    """SHA-256 of each decoded frame's yuv420p bytes, in order."""
    import av

    with av.open(str(path)) as container:
        return [hashlib.sha256(frame.to_ndarray(format="yuv420p").tobytes()).hexdigest()
                for frame in container.decode(video=0)]


def _event(scenario: str) -> object:
    from lab.library.events import parse_event

    data = {"event": scenario, "user": "Alice 小明", "new_rank": {"first_entry": 15, "defend": 1}.get(scenario, 2),
            "challenge": "Weekly 5K", "locale": "en"}
    if scenario == "rank_up":
        data["old_rank"] = 3
    if scenario == "defend":
        data["old_rank"] = 1
    if scenario != "first_entry":
        data["rival"] = "Bob"
    return parse_event(data)


def _renders(out: Path) -> dict[str, Path]:
    """Render the fixed set into ``out``; returns each render's MP4 by name."""
    from lab import config
    from lab.library.schema import with_changes
    from lab.library.versions import VariantLibrary
    from lab.render.pipeline import render, render_drafts

    library = VariantLibrary(ROOT / "variants")
    made: dict[str, Path] = {}
    for vid in sorted(p.stem for p in (ROOT / "variants").glob("*.yaml")):
        v = library.load(vid)
        made[f"motion-L{MOTION_LEVEL}-{vid}"] = Path(render(v, _event(v.scenario), out / f"motion-{vid}.mp4",
                                                            backend="motion", level=MOTION_LEVEL,
                                                            logo_root=ROOT / "variants").path)
    rank_up = [with_changes(library.load(vid), **TINY) for vid in ("v1-fast-sprint", "v2-slow-motion",
                                                                    "v3-rival-ghost")]
    event = _event("rank_up")
    for v in rank_up:
        made[f"tiny-wan-{v.id}"] = Path(render(v, event, out / f"tiny-{v.id}.mp4", backend="tiny-wan",
                                               logo_root=ROOT / "variants").path)
    os.environ[config.ENV_WAN_CFG_BATCH] = "1"
    made["tiny-wan-cfg-batch"] = Path(render(rank_up[2], event, out / "tiny-cfg-batch.mp4", backend="tiny-wan",
                                             logo_root=ROOT / "variants").path)
    del os.environ[config.ENV_WAN_CFG_BATCH]
    distilled = config.data_dir() / "models" / "distilled"
    shutil.copytree(config.tiny_wan_dir(), distilled)
    os.environ[config.ENV_WAN_DISTILLED] = str(distilled)
    made["wan-distilled"] = Path(render(rank_up[0], event, out / "distilled.mp4", backend="wan-distilled",
                                        device="cpu", logo_root=ROOT / "variants").path)
    drafts = out / "drafts"
    drafts.mkdir()
    for r in render_drafts(rank_up, event, drafts, backend="tiny-wan", logo_root=ROOT / "variants"):
        made[f"draft-{Path(r.path).stem}"] = Path(r.path)
    return made


def worker(code: Path, out_json: Path) -> None:
    """One side: import the lab from ``code``, render the set in a fresh data folder, write the frames' hashes."""
    sys.path.insert(0, str(code))
    with tempfile.TemporaryDirectory(prefix="render-identity-") as tmp:
        os.environ["HIGHLIGHT_LAB_HOME"] = str(Path(tmp) / "home")
        for name in ("HIGHLIGHT_LAB_WAN_MODEL", "HIGHLIGHT_LAB_WAN_DISTILLED", "HIGHLIGHT_LAB_WAN_CFG_BATCH"):
            os.environ.pop(name, None)
        made = _renders(Path(tmp))
        import lab

        result = {"code": str(Path(lab.__file__).resolve().parents[1]),
                  "renders": {name: {"frames": decoded_frames(path),
                                     "mp4_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
                              for name, path in sorted(made.items())}}
    out_json.write_text(json.dumps(result, indent=1))


def compare(before: dict, after: dict) -> bool:
    """Print one line per render; True when every render's decoded frames are byte-identical."""
    same = True
    names = sorted(set(before["renders"]) | set(after["renders"]))
    for name in names:
        a, b = before["renders"].get(name), after["renders"].get(name)
        if a is None or b is None:
            print(f"{name:40s} only in {'after' if a is None else 'before'}")
            same = False
            continue
        equal = a["frames"] == b["frames"]
        same &= equal
        print(f"{name:40s} {len(b['frames']):3d} frames  decoded {'identical' if equal else 'DIFFERENT'}  "
              f"mp4 bytes {'identical' if a['mp4_sha256'] == b['mp4_sha256'] else 'differ'}")
    print(f"before: {before['code']}\nafter:  {after['code']}\n"
          f"{'all identical' if same else 'DIFFERENCES'} ({len(names)} renders)")
    return same


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="an older checkout to compare this one against")
    parser.add_argument("--worker", type=Path, help="render with the lab imported from this folder")
    parser.add_argument("--out", type=Path, help="(with --worker) where to write the frames' hashes")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker.resolve(), args.out or Path("frames.json"))
        return 0
    if not args.baseline:
        parser.error("give --baseline DIR (or --worker DIR --out FILE)")
    with tempfile.TemporaryDirectory() as tmp:
        sides = {}
        for side, code in (("before", args.baseline.resolve()), ("after", ROOT)):
            out = Path(tmp) / f"{side}.json"
            env = {**os.environ, "PYTHONPATH": str(code)}  # ahead of the editable install of this checkout
            subprocess.run([sys.executable, __file__, "--worker", str(code), "--out", str(out)], env=env, check=True,
                           timeout=1800)
            sides[side] = json.loads(out.read_text())
    return 0 if compare(sides["before"], sides["after"]) else 1


if __name__ == "__main__":
    sys.exit(main())
