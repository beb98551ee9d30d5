"""H.264 / yuv420p / faststart MP4 with PyAV, plus the contact sheet designers review at a glance."""

from __future__ import annotations

import functools
import io
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

from lab.errors import LabError
from lab.render.yuv import yuv420_to_rgb_half
from lab.storage import atomic_path

# Chosen by measurement (benchmarks/personalize.py --encoder-sweep, recorded in benchmarks/RESULTS.md): ultrafast
# is the fastest preset by far; crf 28 is the quality a clip gets while it fits. One x264 thread per core measured
# faster here than x264's default of 1.5.
PRESET = "ultrafast"
CRF = 28
# Every clip stays under MAX_BYTES whatever it shows (a long name, a busy background): x264's VBV caps the bit
# rate from the byte budget, so crf 28 is a ceiling on quality, not a promise on size.
MAX_BYTES = 500_000
CONTAINER_BYTES = 12_000  # the MP4's headers and index (measured ~4-6 KB for 97 frames), with room to spare
BUFFER_SHARE = 0.2  # the share of the video budget the VBV buffer holds (the first I-frame draws on it)

Frames = Iterable[np.ndarray] | Callable[[], Iterable[np.ndarray]]


def vbv(video_bytes: int, seconds: float) -> tuple[int, int]:
    """x264's ``vbv-maxrate`` and ``vbv-bufsize`` (kbit/s, kbit) that keep ``seconds`` of video within
    ``video_bytes``: with a full buffer at the start, the most it can spend is bufsize + maxrate x seconds."""
    bits = video_bytes * 8
    bufsize = bits * BUFFER_SHARE
    return max(int((bits - bufsize) / max(seconds, 1e-3) / 1000), 16), max(int(bufsize / 1000), 16)


@functools.cache
def nvenc_opens() -> bool:
    """Whether NVIDIA's H.264 encoder opens here (a PyAV build with it, an NVIDIA GPU and driver); probed once."""
    try:
        ctx = av.CodecContext.create("h264_nvenc", "w")
        ctx.width, ctx.height, ctx.pix_fmt, ctx.time_base = 256, 256, "yuv420p", Fraction(1, 24)
        ctx.open()
        return True
    except Exception:  # noqa: BLE001 - any failure to open means "not here": no codec, no GPU, no driver
        return False


def choose_encoder(setting: str = "auto") -> str:
    """The encoder a render uses: ``h264_nvenc`` where it opens (``auto``), else ``libx264``.

    Asking for ``h264_nvenc`` where it does not open is a ``LabError`` naming the setting; ``auto`` falls back.
    """
    if setting == "libx264":
        return "libx264"
    if nvenc_opens():
        return "h264_nvenc"
    if setting == "h264_nvenc":
        raise LabError("HIGHLIGHT_LAB_ENCODER", "h264_nvenc does not open on this machine (it needs an NVIDIA GPU, "
                       "its driver and a PyAV build with NVENC)", "set it to auto or libx264")
    return "libx264"


def encode_mp4(frames: Frames, path: Path, width: int, height: int, fps: int,
               preset: str = PRESET, crf: int = CRF, keyframes: frozenset[int] = frozenset(),
               audio: np.ndarray | None = None, audio_rate: int = 48_000, max_bytes: int | None = None,
               frame_count: int | None = None, codec: str = "libx264") -> int:
    """Encode yuv420p frames to ``path`` atomically (temp file, then rename); returns the frame count.

    ``keyframes``: frame indexes coded as I-frames, e.g. the first frame of a scene cut, so that it is sharp
    at once. ``audio``: a mono float track (-1..1) muxed as AAC into the same MP4. ``max_bytes`` (e.g.
    ``MAX_BYTES``): the file's cap, kept by rate control over ``frame_count`` frames; ``frames`` may then be a
    function that gives them again, so that a file the container pushed over the cap is encoded once more at a
    lower rate (VBV holds the video's bytes; this guards the rest). ``codec``: ``libx264``, or ``h264_nvenc``
    (``choose_encoder``): the GPU's encoder, variable bit rate under the same cap, the same forced keyframes."""
    source = frames if callable(frames) else (lambda: frames)
    rates = None
    if max_bytes is not None:
        if frame_count is None:
            raise ValueError("a byte cap needs the frame count")
        audio_bytes = sum(len(p[0]) for p in _aac_packets(audio.tobytes(), audio_rate)) if audio is not None else 0
        rates = vbv(max_bytes - audio_bytes - CONTAINER_BYTES, frame_count / fps)
    with atomic_path(Path(path), suffix=".mp4") as tmp:
        for _ in range(3):
            count = _encode(source(), tmp, width, height, fps, preset, crf, keyframes, audio, audio_rate, rates,
                            codec)
            size = tmp.stat().st_size
            if rates is None or size <= max_bytes or not callable(frames):
                break
            rates = (int(rates[0] * 0.85), int(rates[1] * 0.85))
        if rates is not None and size > max_bytes:  # nothing is written: the temp file goes
            raise RuntimeError(f"the clip came to {size} bytes, over its {max_bytes}-byte cap")
    return count


def _encode(frames: Iterable[np.ndarray], tmp: Path, width: int, height: int, fps: int, preset: str, crf: int,
            keyframes: frozenset[int], audio: np.ndarray | None, audio_rate: int,
            rates: tuple[int, int] | None, codec: str = "libx264") -> int:
    count = 0
    with av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream(codec, rate=Fraction(fps, 1))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = _codec_options(codec, preset, crf, rates)
        stream.codec_context.color_range = 1  # limited (MPEG) range, as the frames are
        stream.codec_context.colorspace = 6  # SMPTE 170M / BT.601
        stream.codec_context.color_primaries = 6
        stream.codec_context.color_trc = 6
        if audio is not None:
            _mux_audio(container, audio, audio_rate)
        into = _FrameWriter(width, height)
        for frame in _ahead(frames):
            vf = into(frame)
            vf.pts = count
            vf.pict_type = av.video.frame.PictureType.I if count in keyframes else av.video.frame.PictureType.NONE
            for packet in stream.encode(vf):
                container.mux(packet)
            count += 1
        for packet in stream.encode():
            container.mux(packet)
    return count


def _codec_options(codec: str, preset: str, crf: int, rates: tuple[int, int] | None) -> dict[str, str]:
    """x264: the preset, constant quality and VBV under a cap. NVENC: its fastest preset, constant quality
    (``cq``) as a variable bit rate under the same maximum rate and buffer, forced keyframes as IDR frames."""
    if codec == "h264_nvenc":
        options = {"preset": "p1", "rc": "vbr", "cq": str(crf), "forced-idr": "1"}
        if rates is not None:
            options.update({"maxrate": f"{rates[0]}k", "bufsize": f"{rates[1]}k"})
        return options
    options = {"preset": preset, "crf": str(crf), "threads": str(os.cpu_count() or 1)}
    if rates is not None:
        options["x264-params"] = f"vbv-maxrate={rates[0]}:vbv-bufsize={rates[1]}"
    return options


class _FrameWriter:
    """One ``av.VideoFrame`` reused for every frame: its planes are filled with three plain copies.

    ``VideoFrame.from_ndarray`` allocates a fresh frame each time, and touching that new memory (page faults)
    cost ~0.5 ms a frame, ~35 ms of CPU a render. Reuse is safe: x264 copies the picture into its own buffers
    inside ``encode`` (tests/lab/render/test_render.py checks a lossless encode decodes back exactly)."""

    def __init__(self, width: int, height: int) -> None:
        self.height = height
        self.frame = av.VideoFrame(width, height, "yuv420p")
        planes = self.frame.planes
        self.tight = [p.line_size for p in planes] == [width, width // 2, width // 2]
        self.views = [np.frombuffer(p, np.uint8) for p in planes] if self.tight else []

    def __call__(self, frame: np.ndarray) -> av.VideoFrame:
        if not self.tight:  # padded rows: let PyAV lay them out
            return av.VideoFrame.from_ndarray(frame, format="yuv420p")
        h, q = self.height, self.height // 4
        y, u, v = self.views
        y[:] = frame[:h].reshape(-1)
        u[:] = frame[h:h + q].reshape(-1)
        v[:] = frame[h + q:h + 2 * q].reshape(-1)
        return self.frame


AUDIO_BITRATE = 64_000  # mono AAC: a few whooshes and hits need no more; ~32 KB for 4 s


def _mux_audio(container: av.container.OutputContainer, audio: np.ndarray, rate: int) -> None:
    """Add an AAC stream and mux the track's packets; the muxer interleaves them with the video packets.

    The same track (one per style and length) is encoded once per process and its packets reused: the AAC
    encode is ~30 ms, a fifth of the per-user budget."""
    stream = container.add_stream("aac", rate=rate)
    stream.layout = "mono"
    stream.bit_rate = AUDIO_BITRATE
    for data, pts, dts, duration in _aac_packets(audio.tobytes(), rate):
        packet = av.Packet(data)
        packet.pts, packet.dts, packet.duration = pts, dts, duration
        packet.time_base = Fraction(1, rate)
        packet.stream = stream
        container.mux(packet)


AUDIO_PEAK_DBTP = -1.0  # the decoded AAC's true peak stays at or under this (EBU R 128's ceiling)


@functools.lru_cache(maxsize=16)
def _aac_packets(samples: bytes, rate: int) -> tuple[tuple[bytes, int, int, int], ...]:
    """The track encoded to AAC packets (payload, pts, dts, duration in 1/rate), once per distinct track.

    AAC's coding can raise a peak above the limited PCM (by up to ~1.6 dB, measured on these tracks), so the
    packets are decoded and their true peak measured; over AUDIO_PEAK_DBTP, the track is lowered by the excess and
    encoded again."""
    track = np.frombuffer(samples, np.float32)
    gain = 1.0
    for _ in range(4):
        packets = _encode_aac(track * gain if gain != 1.0 else track, rate)
        over = _true_peak_db(_decode_aac(packets, rate)) - (AUDIO_PEAK_DBTP - 0.1)  # a little margin under it
        if over <= 0:
            break
        gain *= 10 ** (-(over + 0.2) / 20)
    return packets


def _encode_aac(track: np.ndarray, rate: int) -> tuple[tuple[bytes, int, int, int], ...]:
    codec = av.CodecContext.create("aac", "w")
    codec.sample_rate, codec.layout, codec.format, codec.bit_rate = rate, "mono", "fltp", AUDIO_BITRATE
    codec.time_base = Fraction(1, rate)
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(track, np.float32)[None, :], format="fltp",
                                       layout="mono")
    frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
    packets = list(codec.encode(frame)) + list(codec.encode(None))
    return tuple((bytes(p), int(p.pts), int(p.dts), int(p.duration)) for p in packets)


def _decode_aac(packets: tuple[tuple[bytes, int, int, int], ...], rate: int) -> np.ndarray:
    """The PCM a player gets from the packets (through a muxed file, as a player reads it)."""
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as container:
        stream = container.add_stream("aac", rate=rate)
        stream.layout = "mono"
        for data, pts, dts, duration in packets:
            packet = av.Packet(data)
            packet.pts, packet.dts, packet.duration, packet.time_base = pts, dts, duration, Fraction(1, rate)
            packet.stream = stream
            container.mux(packet)
    buf.seek(0)
    with av.open(buf) as container:
        return np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(container.streams.audio[0])])


def _true_peak_db(x: np.ndarray) -> float:
    from scipy.signal import resample_poly

    return float(20 * np.log10(max(np.abs(resample_poly(np.asarray(x, np.float64), 4, 1)).max(), 1e-12)))


def _ahead(frames: Iterable[np.ndarray], depth: int = 8) -> Iterator[np.ndarray]:
    """Produce frames on a second thread while x264 encodes (PyAV and numpy release the GIL)."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()
    failure: list[BaseException] = []

    def work() -> None:
        try:
            for f in frames:
                if stop.is_set():
                    return
                q.put(f)
        except BaseException as exc:  # handed to the consumer, raised there
            failure.append(exc)
        finally:
            q.put(done)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        while (item := q.get()) is not done:
            yield item
    finally:
        stop.set()  # the encoder stopped early: let the producer finish instead of blocking on a full queue
        while thread.is_alive():
            try:
                q.get(timeout=0.05)
            except queue.Empty:
                pass
        thread.join()
    if failure:
        raise failure[0]


def contact_sheet(frames: np.ndarray | list[np.ndarray], width: int, height: int, path: Path, columns: int = 4,
                  rows: int = 3, thumb_width: int = 320, numbers: list[int] | None = None,
                  fps: float | None = None) -> None:
    """A grid of evenly spaced frames, each labelled with its real frame number (``numbers``: the video's
    frame index of each given frame) and its time at ``fps``, saved as PNG."""
    n = len(frames)
    count = min(columns * rows, n)
    idx = np.linspace(0, n - 1, count).round().astype(int)
    numbers = list(range(n)) if numbers is None else numbers
    rows = -(-count // columns)
    tw = thumb_width
    th = int(round(tw * height / width))
    pad, label = 6, 16
    sheet = Image.new("RGB", (columns * (tw + pad) + pad, rows * (th + label + pad) + pad), (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    for k, i in enumerate(idx):
        rgb = yuv420_to_rgb_half(frames[i], height, width)
        thumb = Image.fromarray(rgb).resize((tw, th), Image.BILINEAR)
        x = pad + (k % columns) * (tw + pad)
        y = pad + (k // columns) * (th + label + pad)
        sheet.paste(thumb, (x, y + label))
        label_text = f"frame {numbers[i]}" + (f"  {numbers[i] / fps:.2f} s" if fps else "")
        draw.text((x + 2, y + 2), label_text, fill=(200, 200, 200))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, compress_level=1)  # fast: review images, not archives


def probe(path: Path) -> dict:
    """What a player sees: codec, pixel format, size, frame count (decoded), fps, faststart."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        audio = [a.codec_context.name for a in container.streams.audio]
        info = {
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "width": stream.codec_context.width,
            "height": stream.codec_context.height,
            "frames": frames,
            "fps": float(stream.average_rate) if stream.average_rate else None,
        }
    data = Path(path).read_bytes()
    moov, mdat = data.find(b"moov"), data.find(b"mdat")
    if audio:
        info["audio"] = audio[0]
    info["faststart"] = 0 <= moov < mdat
    info["bytes"] = len(data)
    return info
