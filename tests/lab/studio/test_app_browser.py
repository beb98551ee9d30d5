"""The studio in a real browser (headless Chromium): a designer previews a variant with a CJK name,
saves an edit as a new version, and a stale edit is refused. No request leaves 127.0.0.1."""

import os
import shutil
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from lab.library.schema import with_changes
from lab.library.versions import VariantLibrary
from lab.render.encode import probe
from tests.conftest import REPO, free_port, serve

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def studio(tmp_path):
    variants = tmp_path / "variants"
    shutil.copytree(REPO / "variants", variants, ignore=shutil.ignore_patterns(".lock"))
    port = free_port()
    env = {**os.environ, "HIGHLIGHT_LAB_HOME": str(tmp_path / "home"), "HIGHLIGHT_LAB_VARIANTS": str(variants),
           "HIGHLIGHT_LAB_EXPERIMENTS": str(REPO / "experiments"), "GRADIO_ANALYTICS_ENABLED": "False"}
    cmd = [str(Path(sys.executable).parent / "highlight-lab"), "studio", "--port", str(port), "--dir", str(variants)]
    url = f"http://127.0.0.1:{port}/"
    with serve(cmd, url, env, cwd=tmp_path):
        yield url, variants, tmp_path / "home"


def field(page, elem_id):
    return page.locator(f"#{elem_id}").locator("textarea, input").first


def test_preview_save_and_conflict_in_the_browser(studio, tmp_path):
    from playwright.sync_api import sync_playwright

    url, variants, home = studio
    hosts = set()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu",
                                                                     "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1400, "height": 1500})
        page.on("request", lambda req: hosts.add(urlparse(req.url).hostname))
        page.goto(url)
        page.wait_for_function("document.querySelector('#template textarea')?.value.length > 10", timeout=60_000)
        assert field(page, "cta-en").input_value() == "Replay my comeback"  # comeback-replay is first

        field(page, "user").fill("小明")
        page.click("#render")
        page.wait_for_selector("#video video", timeout=90_000)
        info = page.inner_text("#render-info")
        assert "motion background" in info and "864×480" in info and "97 frames" in info
        prompt = field(page, "prompt").input_value()
        assert prompt.startswith("Epic comeback from #3 to #2") and "小明" not in prompt
        (video,) = (home / "previews").glob("*.mp4")
        assert "小明" not in video.name and probe(video)["frames"] == 97
        page.screenshot(path=str(tmp_path / "studio.png"), full_page=True)

        field(page, "cta-en").fill("Watch my comeback")
        page.click("#save")
        page.wait_for_function("document.querySelector('#save-info')?.innerText.includes('Saved')")
        saved = yaml.safe_load((variants / "comeback-replay.yaml").read_text())
        assert saved["cta"]["en"] == "Watch my comeback"
        assert len(list((variants / "versions" / "comeback-replay").glob("*.yaml"))) == 2

        # Someone else saves in between: this page's next save is refused and loses nothing.
        lib = VariantLibrary(variants)
        current = lib.load("comeback-replay")
        lib.save(with_changes(current, cta__en="Someone else's copy"), base=current.version, author="someone")
        field(page, "cta-en").fill("My stale edit")
        page.click("#save")
        page.wait_for_selector("text=was saved as version", timeout=30_000)
        assert yaml.safe_load((variants / "comeback-replay.yaml").read_text())["cta"]["en"] == "Someone else's copy"
        browser.close()
    assert hosts == {"127.0.0.1"}, f"requests left the machine: {hosts}"
