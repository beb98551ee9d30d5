"""A rendered MP4 with its AAC track still autoplays in a real browser when muted (headless Chromium, under
the autoplay policy desktop browsers use), and the same file unmuted does not: players keep
``muted autoplay``, and the sound is there for the user who unmutes. Nothing leaves 127.0.0.1."""

import functools
import http.server
import threading
from urllib.parse import urlparse

import numpy as np
import pytest

from lab.render.pipeline import render
from tests.conftest import REPO
from tests.lab.render.conftest import event_for, small

CHROMIUM = "/usr/bin/chromium"
PAGE = """<!doctype html><meta charset="utf-8"><title>autoplay</title>
<video id="muted" autoplay muted playsinline loop src="clip.mp4" width="320" height="192"></video>
<video id="loud" autoplay playsinline loop src="clip.mp4" width="320" height="192"></video>
"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # no request lines in the test output
        pass


@pytest.fixture
def served(tmp_path, cache):
    """The clip and a page that embeds it, from a static server on 127.0.0.1 (stopped after the test)."""
    v = small("v3-rival-ghost")
    render(v, event_for(v.scenario), tmp_path / "clip.mp4", backend="motion", cache=cache, extras=False,
           logo_root=REPO / "variants")
    (tmp_path / "index.html").write_text(PAGE, encoding="utf-8")
    handler = functools.partial(_Quiet, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html", tmp_path / "clip.mp4"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_the_clip_has_a_sound_track(served):
    import av

    _, clip = served
    with av.open(str(clip)) as c:
        (audio,) = c.streams.audio
        assert audio.codec_context.name == "aac"
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio)])
    assert samples.size > 48_000 * 1.5  # the whole 2 s clip has sound, not a stub
    assert np.sqrt(np.mean(samples**2)) > 0.01  # and it is not silence


def test_muted_autoplay_plays_without_a_gesture_and_unmuted_is_held(served):
    from playwright.sync_api import sync_playwright

    url, _ = served
    hosts = set()
    with sync_playwright() as p:
        # The policy desktop Chrome applies: sound needs a user gesture, muted video does not.
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--autoplay-policy=document-user-activation-required"])
        try:
            page = browser.new_page()
            page.on("request", lambda req: hosts.add(urlparse(req.url).hostname))
            page.goto(url)  # no click, no key press: no user activation
            page.wait_for_function("document.getElementById('muted').currentTime > 0.2", timeout=20_000)
            first = page.evaluate("document.getElementById('muted').currentTime")
            page.wait_for_timeout(400)
            state = page.evaluate("""() => { const v = document.getElementById('muted');
                return {paused: v.paused, muted: v.muted, t: v.currentTime, ready: v.readyState,
                        error: v.error && v.error.code, audio: v.webkitAudioDecodedByteCount,
                        video: v.webkitVideoDecodedByteCount}; }""")
            loud = page.evaluate("""() => { const v = document.getElementById('loud');
                return {paused: v.paused, t: v.currentTime}; }""")
        finally:
            browser.close()
    assert state["error"] is None and state["muted"] is True
    assert state["paused"] is False and state["ready"] >= 3  # HAVE_FUTURE_DATA: playing, not stalled
    assert state["t"] != first  # the clock moves (it loops, so "!=" rather than ">")
    assert state["video"] > 0 and state["audio"] > 0  # Chromium decodes the H.264 and the AAC track
    assert loud == {"paused": True, "t": 0}  # the same file with sound is held: the policy is really on
    assert hosts == {"127.0.0.1"}
