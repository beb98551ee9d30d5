"""Per-user cost: a 4 s, 480p, 24 fps rank-up video from a cached background (overlay + encode),
against MoviePy doing the same composite (name, rank text, CTA, moving arrow over the same background
clip), in the same run. Also the draft preview (cold cache: motion background + overlay + encode).

    .venv/bin/python benchmarks/personalize.py [--repeats 7]
    .venv/bin/python benchmarks/personalize.py --encoder-sweep  # x264 preset x crf: time, size, PSNR
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lab.library.events import parse_event  # noqa: E402
from lab.library.versions import VariantLibrary  # noqa: E402
from lab.render.cache import BackgroundCache  # noqa: E402
from lab.render.encode import CRF  # noqa: E402
from lab.render.pipeline import render  # noqa: E402
from lab.render.text import roboto_file  # noqa: E402
from lab.render.yuv import yuv420_to_rgb  # noqa: E402

EVENT = {"event": "rank_up", "user": "Alice", "old_rank": 3, "new_rank": 2, "rival": "Bob", "challenge": "Weekly 5K"}


def moviepy_composite(rgb_frames: list[np.ndarray], out: Path, fps: int, cta: str) -> None:
    from moviepy import CompositeVideoClip, ImageClip, ImageSequenceClip, TextClip

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
    clip.write_videofile(str(out), fps=fps, codec="libx264", preset="ultrafast", ffmpeg_params=["-crf", str(CRF)],
                         audio=False, logger=None, threads=os.cpu_count())


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--encoder-sweep", action="store_true")
    args = parser.parse_args()
    if args.encoder_sweep:
        encoder_sweep(args.repeats)
        return
    variant = VariantLibrary(ROOT / "variants").load("v3-rival-ghost")
    event = parse_event(EVENT)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cache = BackgroundCache(tmp / "cache", 10**10)
        first = render(variant, event, tmp / "warm.mp4", backend="motion", cache=cache, extras=False,
                       logo_root=ROOT / "variants")
        entry = cache.get(first.cache_key)
        rgb = [yuv420_to_rgb(np.asarray(f), first.height, first.width) for f in entry.frames]

        def lab_user() -> None:
            r = render(variant, event, tmp / "user.mp4", backend="motion", cache=cache, extras=False,
                       logo_root=ROOT / "variants")
            assert r.cache_hit

        def lab_user_extras() -> None:
            render(variant, event, tmp / "user_x.mp4", backend="motion", cache=cache, logo_root=ROOT / "variants")

        def moviepy_user() -> None:
            moviepy_composite(rgb, tmp / "moviepy.mp4", first.fps, variant.cta_for("en"))

        counter = iter(range(10**6))

        def draft() -> None:
            cold = BackgroundCache(tmp / f"cold{next(counter)}", 10**10)
            r = render(variant, event, tmp / "draft.mp4", backend="motion", cache=cold, logo_root=ROOT / "variants")
            assert not r.cache_hit

        load0 = os.getloadavg()
        lab_user()  # warm the imports and fonts once
        moviepy_user()
        lab_s, lab_all = median_time(lab_user, args.repeats)
        extras_s, _ = median_time(lab_user_extras, args.repeats)
        mp_s, mp_all = median_time(moviepy_user, max(3, args.repeats // 2))
        draft_s, _ = median_time(draft, args.repeats)
        size_lab = (tmp / "user.mp4").stat().st_size
        size_mp = (tmp / "moviepy.mp4").stat().st_size
    print(f"load average before/after: {load0} / {os.getloadavg()}")
    print(f"per-user render, {first.width}x{first.height}, {first.frames} frames at {first.fps} fps, cached background")
    print(f"  lab (overlay + encode)          median {lab_s:.3f} s  (runs: {', '.join(f'{t:.3f}' for t in lab_all)})"
          f"  file {size_lab / 1024:.0f} KB")
    print(f"  lab + poster + contact sheet    median {extras_s:.3f} s")
    print(f"  MoviePy same composite          median {mp_s:.3f} s  (runs: {', '.join(f'{t:.3f}' for t in mp_all)})"
          f"  file {size_mp / 1024:.0f} KB")
    print(f"  MoviePy / lab                   {mp_s / lab_s:.1f}x")
    print(f"draft preview, cold cache (motion background + overlay + encode + poster + contact sheet): "
          f"median {draft_s:.3f} s")


if __name__ == "__main__":
    main()
