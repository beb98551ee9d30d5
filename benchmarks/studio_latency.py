"""Studio latency as a user sees it: launch → usable page, and preview latency in the page (new vs cached).

Starts ``highlight-lab studio`` on a fresh data folder and times, in headless Chromium:
- launch to usable page (the Library table shows the variants): ``--runs`` times with ``--no-demo``, and once
  as a real first launch (which simulates and analyses the seed demo first);
- Design → Render preview (motion background, degrade level 4) until the summary shows: a new event (cache
  miss) and the same event again (served from the preview cache), ``--runs`` times each.
Prints medians and the ratio, measured in one run.

    python benchmarks/studio_latency.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(tmp: Path, demo: bool) -> tuple[subprocess.Popen, str, float]:
    home = tmp / f"home-{time.monotonic_ns()}"
    port = free_port()
    env = {**os.environ, "HIGHLIGHT_LAB_HOME": str(home), "HIGHLIGHT_LAB_EXPERIMENTS": str(tmp / "experiments"),
           "GRADIO_ANALYTICS_ENABLED": "False"}
    cmd = [str(Path(sys.executable).parent / "highlight-lab"), "studio", "--port", str(port), "--dir",
           str(tmp / "variants")] + ([] if demo else ["--no-demo"])
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return proc, f"http://127.0.0.1:{port}/", t0


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(30)


def until_usable(browser, url: str, t0: float, timeout_s: float = 300) -> tuple[float, object]:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    while True:
        try:
            page.goto(url, timeout=5_000)
            break
        except PlaywrightError:  # the server is not listening yet; retry until the deadline
            if time.perf_counter() - t0 > timeout_s:
                raise
            time.sleep(0.2)
    page.locator("#library-table").get_by_text("v1-fast-sprint", exact=True).first.wait_for(timeout=timeout_s * 1000)
    return time.perf_counter() - t0, page


def render_once(page, name: str) -> float:
    box = page.locator("#user").locator("textarea, input").first
    box.fill("")
    box.press_sequentially(name)
    prev = page.inner_text("#render-info")
    t0 = time.perf_counter()
    page.click("#render")
    page.wait_for_function("(prev) => { const t = document.querySelector('#render-info')?.innerText || '';"
                           " return t.includes('level 4') && t !== prev; }", arg=prev, timeout=120_000)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d, sync_playwright() as p:
        tmp = Path(d)
        shutil.copytree(REPO / "variants", tmp / "variants", ignore=shutil.ignore_patterns(".lock"))
        shutil.copytree(REPO / "experiments", tmp / "experiments")
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        launches = []
        for _ in range(args.runs):
            proc, url, t0 = launch(tmp, demo=False)
            try:
                seconds, page = until_usable(browser, url, t0)
                launches.append(seconds)
                page.close()
            finally:
                stop(proc)
        proc, url, t0 = launch(tmp, demo=True)
        try:
            first, page = until_usable(browser, url, t0)
            page.get_by_role("tab", name="Design").click()
            box = page.locator("#level").locator("input").first
            box.click()
            box.fill("4")
            box.press("Enter")
            page.get_by_label("motion").first.check()
            new, cached = [], []
            for i in range(args.runs):
                new.append(render_once(page, f"Runner {i}"))
                cached.append(render_once(page, f"Runner {i}"))
        finally:
            stop(proc)
        browser.close()
    med = statistics.median
    print(f"launch → usable page (--no-demo), median of {args.runs}: {med(launches):.2f} s  "
          f"({', '.join(f'{s:.2f}' for s in launches)})")
    print(f"first launch → usable page (simulates + analyses the 14-day demo): {first:.2f} s")
    print(f"preview in the page, new event (render), median of {args.runs}: {med(new):.2f} s")
    print(f"preview in the page, same event again (cached), median of {args.runs}: {med(cached):.3f} s")
    print(f"ratio new / cached: {med(new) / med(cached):.1f}x")


if __name__ == "__main__":
    main()
