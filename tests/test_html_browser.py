"""The replay page in a real headless browser: Debian's chromium, driven by playwright.

Marked ``browser``: out of the default run, which must work on a machine without
chromium; .ci/run installs it and runs these, where a missing browser is a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .cli_helpers import invoke
from .conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
TRACE = ROOT / "traces" / "block-stm" / "scan-keys-only.trace.json"


pytestmark = pytest.mark.browser


def _missing(reason: str) -> None:
    pytest.fail(f"{reason}: install it (apt-get install -y chromium; pip install -e "
                "'.[test]')")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium under playwright; playwright never downloads a browser here."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed")
    if not Path(CHROMIUM).is_file():
        _missing(f"{CHROMIUM} is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML page of a Block-STM mutant's trace, written by `shardcheck replay --html`."""
    out = tmp_path_factory.mktemp("html") / "scan-keys-only.html"
    result = invoke("replay", str(TRACE), "--html", str(out), "--no-timeline")
    assert result.exit_code == 1, result.output
    return out


def _open(browser: Any, path: Path) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    def only_the_file(route: Any) -> None:
        # Anything but the page itself would be a network request: the page needs none.
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            errors.append(f"request {route.request.url}")
            route.abort()

    page.route("**/*", only_the_file)
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready='1']", timeout=10_000)
    return page, errors


def test_the_page_loads_without_errors_and_shows_every_step(browser: Any,
                                                            page_file: Path) -> None:
    """No console errors, no requests; 61 marks, 61 in the counter, 2 lanes."""
    page, errors = _open(browser, page_file)
    assert page.locator(".mark").count() == 61
    assert page.locator("#step-count").inner_text() == "61"
    assert page.locator("#lanes > div").all_inner_texts() == ["w0", "w1"]
    assert page.locator(".violation-ring").count() == 1
    assert "serial-equivalence" in page.locator("#message").inner_text()
    assert errors == []
    page.close()


def test_moving_the_slider_moves_the_highlighted_step(browser: Any, page_file: Path) -> None:
    """It opens at the violating step; the slider, the keys and a click each move it."""
    page, errors = _open(browser, page_file)
    current = page.locator(".mark.current")
    assert current.get_attribute("data-step") == "61"
    page.locator("#slider").fill("40")
    assert current.get_attribute("data-step") == "40"
    assert page.locator("#step-number").inner_text() == "40"
    assert "record.swap_reads" in page.locator("#action").inner_text()
    assert page.locator("#changes li").count() > 0
    page.keyboard.press("ArrowLeft")
    assert current.get_attribute("data-step") == "39"
    page.locator(".mark[data-step='5']").click()
    assert current.get_attribute("data-step") == "5"
    assert page.locator("#slider").input_value() == "5"
    page.locator(".mark[data-step='10']").hover()
    assert "step 10" in page.locator("#tooltip").inner_text()
    assert errors == []
    page.close()
