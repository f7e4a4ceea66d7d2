"""Make docs/img/replay.png: the replay page of a Block-STM mutant, in headless chromium.

    shardcheck replay traces/block-stm/scan-keys-only.trace.json --html /tmp/replay.html
    python docs/img/screenshot.py /tmp/replay.html docs/img/replay.png
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
STEP = 40  # T1's scan records only its keys: the read the violation comes from


def main(page_path: str, out: str) -> None:
    """Open the page, walk to STEP, and save a screenshot of the whole page."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 820})
        page.goto(Path(page_path).resolve().as_uri())
        page.wait_for_selector("body[data-ready='1']")
        page.locator("#slider").fill(str(STEP))
        page.screenshot(path=out, full_page=True)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
