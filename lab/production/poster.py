"""The poster a push shows: the video's end card, read back from the MP4 (it starts on a keyframe), so a
production render skips the review extras (contact sheet) that a designer's preview needs."""

from __future__ import annotations

from pathlib import Path

import av


def poster_from_mp4(mp4: Path, png: Path) -> Path:
    """Write the last keyframe's picture (the still end card) of ``mp4`` as a PNG."""
    with av.open(str(mp4)) as container:
        stream = container.streams.video[0]
        last = None
        container.seek(stream.duration or 0, stream=stream, backward=True, any_frame=False)
        for frame in container.decode(stream):
            last = frame
            break
        if last is None:  # a stream without a duration: decode to the end
            container.seek(0)
            for frame in container.decode(stream):
                last = frame
    last.to_image().save(png, compress_level=1)
    return png
