"""Screenshot every studio area at a desktop (1400×1000) and a phone (390×844) size.

Run against a running studio (``highlight-lab studio``), e.g.
``python docs/screenshots/take.py http://127.0.0.1:7860/``; writes ``<area>-<size>.png`` beside this file.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

HERE = Path(__file__).resolve().parent
SIZES = {"desktop": (1400, 1000), "phone": (390, 844)}
AREAS = ("Library", "Design", "Compare", "Experiments", "Analysis", "Ship")
# A second picture, scrolled to what sits below the first screen: ``<area>-<name>-<size>.png``.
BELOW = {"Design": ("strip", "#frame-strip"), "Analysis": ("segments", "#segments-table")}
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def prepare(page: Page, area: str) -> None:
    """Put each area in a state worth looking at (rendered compare, analysed experiment)."""
    if area == "Compare":
        box = page.locator("#cmp-level input").first
        box.click()
        box.fill("4")
        box.press("Enter")
        page.click("#compare-btn")
        page.wait_for_function("[0,1,2].every(i => document.querySelector(`#cmp-video-${i} video`)?.readyState >= 2)",
                               timeout=180_000)
        page.click("#sync")
        page.wait_for_timeout(1200)
    elif area == "Analysis":
        page.wait_for_function("document.querySelector('#decision')?.innerText.length > 20", timeout=60_000)
        page.wait_for_timeout(1500)
    else:
        page.wait_for_timeout(1200)


def open_area(page: Page, area: str) -> None:
    """Click the area's tab; on a phone most tabs sit in Gradio's "More tabs" menu."""
    tab = page.get_by_role("tab", name=area)
    if tab.count() and tab.is_visible():
        tab.click()
        return
    page.click("button[aria-label='More tabs']")
    page.locator(".overflow-dropdown button", has_text=area).click()


def main(url: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for size, (w, h) in SIZES.items():
            page = browser.new_page(viewport={"width": w, "height": h})
            page.goto(url)
            page.locator("#library-table").get_by_text("v1-fast-sprint", exact=True).first.wait_for(timeout=60_000)
            for area in AREAS:
                open_area(page, area)
                prepare(page, area)
                page.screenshot(path=str(HERE / f"{area.lower()}-{size}.png"))
                if area in BELOW:
                    name, selector = BELOW[area]
                    page.locator(selector).scroll_into_view_if_needed()
                    page.evaluate(f"document.querySelector('{selector}').scrollIntoView({{block: 'center'}})")
                    page.wait_for_timeout(800)
                    page.screenshot(path=str(HERE / f"{area.lower()}-{name}-{size}.png"))
                    page.evaluate("window.scrollTo(0, 0)")
            page.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:7860/")
