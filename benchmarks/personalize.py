"""Per-user cost: a 4 s, 480p, 24 fps rank-up video from a cached background (overlay + encode),
against MoviePy doing the same composite (name, rank text, CTA, moving arrow over the same background
clip, and the same sound track as AAC), in the same run. Also the draft preview (cold cache: motion
background + overlay + encode). Wall time and CPU time (user + sys of the process and its threads, and of
MoviePy's ffmpeg children) are both reported: on a shared machine CPU time is the steadier of the two.

    .venv/bin/python benchmarks/personalize.py [--repeats 7] [--baseline /path/to/older/checkout]
    .venv/bin/python benchmarks/personalize.py --encoder-sweep  # x264 preset x crf: time, size, PSNR

``--baseline`` renders the same per-user video with an older checkout's code (and its own variants) in a
second worker process, round by round with this checkout's, so the two are compared in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# A worker (``--worker DIR``) imports the lab from DIR, so an older checkout can be timed by the same script.
CODE = Path(sys.argv[sys.argv.index("--worker") + 1]).resolve() if "--worker" in sys.argv else ROOT
sys.path.insert(0, str(CODE))

from lab.library.events import parse_event  # noqa: E402
from lab.library.versions import VariantLibrary  # noqa: E402
from lab.render.cache import BackgroundCache  # noqa: E402
from lab.render.encode import CRF  # noqa: E402
from lab.render.pipeline import render  # noqa: E402
from lab.render.text import roboto_file  # noqa: E402
from lab.render.yuv import yuv420_to_rgb  # noqa: E402

EVENT = {"event": "rank_up", "user": "Alice", "old_rank": 3, "new_rank": 2, "rival": "Bob", "challenge": "Weekly 5K"}


def moviepy_composite(rgb_frames: list[np.ndarray], out: Path, fps: int, cta: str,
                      audio: np.ndarray | None = None, audio_rate: int = 48_000) -> None:
    """The same composite in MoviePy; ``audio`` (mono float) is muxed as 64 kb/s AAC, as the lab does."""
    from moviepy import AudioArrayClip, CompositeVideoClip, ImageClip, ImageSequenceClip, TextClip

    duration = len(rgb_frames) / fps
    font = str(roboto_file("Bold"))
    bg = ImageSequenceClip(rgb_frames, fps=fps)
    name = TextClip(font=font, text="Alice", font_size=40, color="white").with_position(("center", 60))
    rank = TextClip(font=font, text="#3 → #2", font_size=90, color="#4CAF50").with_position(("center", 140))
    button = TextClip(font=font, text=cta, font_size=30, color="white", bg_color="#4CAF50",
                      margin=(24, 12)).with_position(("center", 330))
    arrow_img = np.zeros((96, 70, 4), np.uint8)
    for row in range(96):
        half = 35 if row < 43 else 12
        width = min(half, int(row * 35 / 43)) if row < 43 else half
        arrow_img[row, 35 - width:35 + width] = (255, 193, 7, 255)
    arrow = ImageClip(arrow_img, transparent=True).with_position(lambda t: (700, 380 - 300 * min(t / 2.0, 1.0)))
    clip = CompositeVideoClip([bg, *(c.with_duration(duration) for c in (name, rank, button, arrow))],
                              size=rgb_frames[0].shape[1::-1])
    if audio is not None:
        clip = clip.with_audio(AudioArrayClip(audio[:, None].astype(np.float64), fps=audio_rate))
    clip.write_videofile(str(out), fps=fps, codec="libx264", preset="ultrafast", ffmpeg_params=["-crf", str(CRF)],
                         audio=audio is not None, audio_codec="aac", audio_bitrate="64k", audio_fps=audio_rate,
                         temp_audiofile_path=str(out.parent), logger=None, threads=os.cpu_count())


def cpu_now(children: bool = False) -> float:
    """CPU seconds (user + sys) used so far by this process and its threads, plus its finished children."""
    who = [resource.RUSAGE_SELF] + ([resource.RUSAGE_CHILDREN] if children else [])
    return sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, who))


def timed(fn, children: bool = False) -> tuple[float, float]:
    """(wall s, CPU s) of one call."""
    c0, t0 = cpu_now(children), time.perf_counter()
    fn()
    return time.perf_counter() - t0, cpu_now(children) - c0


def median_time(fn, repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def encoder_sweep(repeats: int) -> None:
    """Encode the same composited 4 s 480p frames with each x264 preset and crf; print median time, size and
    luma PSNR against the frames themselves (decoded back), so the default is chosen by measurement."""
    import av

    from lab.library.schema import with_changes
    from lab.render.encode import encode_mp4
    from lab.render.overlay import EndCard, Overlay
    from lab.render.yuv import planes

    # The busiest picture of the gallery (speed lines, portrait): the one that must still fit 500 KB.
    variant = VariantLibrary(ROOT / "variants").load("v1-fast-sprint")
    variant = with_changes(variant, generation__width=480, generation__height=864)
    event = parse_event(EVENT)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cache = BackgroundCache(tmp / "cache", 10**10)
        first = render(variant, event, tmp / "warm.mp4", backend="motion", cache=cache, extras=False)
        entry = cache.get(first.cache_key)
        w, h, n = first.width, first.height, first.frames
        ov = Overlay(variant, event, w, h, first.fps, n)
        card = EndCard(variant, event, w, h)
        end = int(round(ov.tl.end_card * first.fps))
        frames = []
        for f in range(n):
            frame = np.array(entry.frames[f])
            if f >= end:
                card.draw(frame, (f - end) / first.fps)
            else:
                ov.draw(frame, f / first.fps)
            frames.append(frame)
        print(f"encoder sweep, {w}x{h}, {n} frames (v1-fast-sprint portrait composited, video only), "
              f"median of {repeats}; "
              f"load {os.getloadavg()}")
        print("  preset      crf   median s   KB    PSNR-Y dB")
        for preset in ("ultrafast", "superfast", "veryfast"):
            for crf in (23, 25, 27, 28, 29):
                out = tmp / f"{preset}{crf}.mp4"
                t, _ = median_time(lambda preset=preset, crf=crf, out=out: encode_mp4(
                    iter(frames), out, w, h, first.fps, preset=preset, crf=crf), repeats)
                with av.open(str(out)) as c:
                    dec = [fr.to_ndarray(format="yuv420p") for fr in c.decode(c.streams.video[0])]
                mse = np.mean([np.mean((planes(a, h, w)[0].astype(np.float32) - planes(b, h, w)[0]) ** 2)
                               for a, b in zip(frames, dec, strict=True)])
                psnr = 10 * np.log10(255**2 / max(mse, 1e-9))
                print(f"  {preset:<10}  {crf:>3}   {t:.3f}    {out.stat().st_size / 1024:>4.0f}  {psnr:.2f}")


class Checkout:
    """One checkout's renders in a worker process: each ``run(kind)`` renders once there and returns
    (wall s, CPU s, file bytes). Kinds: ``user`` (the per-user video from a cached background), ``extras``
    (+ poster and contact sheet), ``draft`` (a cold cache: background + overlay + encode + extras)."""

    def __init__(self, code: Path) -> None:
        self.code = code
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker", str(code)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.info = self._read()  # the worker is warm (background cached, imports and fonts loaded)

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the worker for {self.code} stopped (see its error above)")
        return json.loads(line)

    def run(self, kind: str) -> tuple[float, float, int]:
        self.proc.stdin.write(kind + "\n")
        r = self._read()
        return r["wall"], r["cpu"], r["bytes"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def worker() -> None:
    """Serve ``Checkout.run`` requests on stdin/stdout with the lab imported from ``CODE``."""
    variants = CODE / "variants"
    variant = VariantLibrary(variants).load("v3-rival-ghost")
    event = parse_event(EVENT)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cache = BackgroundCache(tmp / "cache", 10**10)
        kw = {"backend": "motion", "logo_root": variants}
        first = render(variant, event, tmp / "warm.mp4", cache=cache, extras=False, **kw)
        render(variant, event, tmp / "warm.mp4", cache=cache, extras=False, **kw)  # warm every per-process cache
        counter = iter(range(10**6))
        jobs = {
            "user": lambda: render(variant, event, tmp / "user.mp4", cache=cache, extras=False, **kw),
            "extras": lambda: render(variant, event, tmp / "user.mp4", cache=cache, **kw),
            "draft": lambda: render(variant, event, tmp / "user.mp4",
                                    cache=BackgroundCache(tmp / f"cold{next(counter)}", 10**10), **kw),
        }
        print(json.dumps({"width": first.width, "height": first.height, "frames": first.frames, "fps": first.fps,
                          "cache_key": first.cache_key, "cache": str(tmp / "cache"),
                          "sound": bool(getattr(variant.effects, "sound", False))}), flush=True)
        for line in sys.stdin:
            wall, cpu = timed(jobs[line.strip()])
            print(json.dumps({"wall": wall, "cpu": cpu, "bytes": (tmp / "user.mp4").stat().st_size}), flush=True)


def med(values: list[float]) -> str:
    return f"{statistics.median(values):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--encoder-sweep", action="store_true")
    parser.add_argument("--baseline", type=Path, help="an older checkout to time in the same run")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker()
        return
    if args.encoder_sweep:
        encoder_sweep(args.repeats)
        return
    from lab.render.sound import RATE, track

    variant = VariantLibrary(ROOT / "variants").load("v3-rival-ghost")
    load0 = os.getloadavg()
    sides = {"this checkout": Checkout(ROOT)}
    if args.baseline:
        sides["baseline " + args.baseline.name] = Checkout(args.baseline.resolve())
    info = sides["this checkout"].info
    entry = BackgroundCache(Path(info["cache"]), 10**10).get(info["cache_key"])
    rgb = [yuv420_to_rgb(np.asarray(f), info["height"], info["width"]) for f in entry.frames]
    audio = track(variant.style, (info["frames"] - 1) / info["fps"]) if info["sound"] else None
    with tempfile.TemporaryDirectory() as tmp:
        mp4 = Path(tmp) / "moviepy.mp4"

        def moviepy_user() -> None:
            moviepy_composite(rgb, mp4, info["fps"], variant.cta_for("en"), audio, RATE)

        moviepy_user()  # warm
        runs: dict[str, dict[str, list]] = {name: {"wall": [], "cpu": [], "bytes": []} for name in [*sides, "MoviePy"]}
        for _ in range(args.repeats):  # round by round, so a change in the machine's load hits every side alike
            for name, side in sides.items():
                for key, value in zip(("wall", "cpu", "bytes"), side.run("user"), strict=True):
                    runs[name][key].append(value)
            for key, value in zip(("wall", "cpu"), timed(moviepy_user, children=True), strict=True):
                runs["MoviePy"][key].append(value)
        runs["MoviePy"]["bytes"].append(mp4.stat().st_size)
        here = sides["this checkout"]
        extras = [here.run("extras")[0] for _ in range(args.repeats)]
        drafts = [here.run("draft")[0] for _ in range(args.repeats)]
    for side in sides.values():
        side.close()
    print(f"load average before/after: {load0} / {os.getloadavg()}")
    print(f"per-user render, {info['width']}x{info['height']}, {info['frames']} frames at {info['fps']} fps, cached "
          f"background, v3-rival-ghost; median of {args.repeats}, sides alternating round by round; MoviePy with "
          f"{'the same AAC sound track' if audio is not None else 'no sound (the variant has none)'}")
    print(f"  {'side':<28} {'wall s':>7} {'CPU s':>7} {'KB':>5}   wall runs / CPU runs")
    for name, r in runs.items():
        print(f"  {name:<28} {med(r['wall']):>7} {med(r['cpu']):>7} {r['bytes'][-1] / 1024:>5.0f}   "
              f"{', '.join(f'{t:.3f}' for t in r['wall'])} / {', '.join(f'{t:.3f}' for t in r['cpu'])}")
    lab, mp = runs["this checkout"], runs["MoviePy"]
    print(f"  MoviePy / this checkout: wall {statistics.median(mp['wall']) / statistics.median(lab['wall']):.1f}x, "
          f"CPU {statistics.median(mp['cpu']) / statistics.median(lab['cpu']):.1f}x")
    for name in sides:
        if name.startswith("baseline"):
            base = runs[name]
            print(f"  this checkout / {name}: wall "
                  f"{statistics.median(lab['wall']) / statistics.median(base['wall']):.2f}, CPU "
                  f"{statistics.median(lab['cpu']) / statistics.median(base['cpu']):.2f}")
    print(f"lab + poster + contact sheet: median {med(extras)} s wall")
    print(f"draft preview, cold cache (motion background + overlay + encode + poster + contact sheet): "
          f"median {med(drafts)} s wall")


if __name__ == "__main__":
    main()
