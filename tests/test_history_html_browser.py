"""The check-history page in a real headless browser (Debian's chromium under playwright,
launched the way tests/test_html_browser.py launches it). Marked ``browser``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .cli_helpers import invoke
from .conftest import ROOT
from .test_html_browser import _open, browser  # noqa: F401  (the shared fixture)

pytestmark = pytest.mark.browser

HISTORY = ROOT / "traces" / "histories" / "lost-update.json"


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The page of the lost-update example, written by `check-history --html`."""
    out = tmp_path_factory.mktemp("history-html") / "lost-update.html"
    result = invoke("check-history", str(HISTORY), "--html", str(out))
    assert result.exit_code == 1, result.output
    yield out


def test_the_page_loads_and_draws_every_cycle(browser: Any,  # noqa: F811
                                              page_file: Path) -> None:
    """No console errors, no requests; one drawn graph per anomaly with a cycle, each with
    its nodes and arrows, and the verdict table."""
    page, errors = _open(browser, page_file)
    assert page.locator("table.verdicts tr").count() == 5
    graphs = page.locator("svg.cycle")
    assert graphs.count() == 2  # G-single under serializable and view-serializable
    for i in range(graphs.count()):
        assert graphs.nth(i).locator(".node").count() == 2
        assert graphs.nth(i).locator(".edge").count() == 2
        box = graphs.nth(i).bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100
    assert page.locator("body").get_attribute("data-status") == "violated"
    assert errors == []
    page.close()


def test_pointing_at_an_edge_lights_its_sentence(browser: Any,  # noqa: F811
                                                 page_file: Path) -> None:
    """Hovering an arrow lights the matching line of evidence; a click keeps it lit."""
    page, errors = _open(browser, page_file)
    anomaly = page.locator(".anomaly:has(svg.cycle)").first
    edge = anomaly.locator("g.edge[data-edge='1']")
    line = anomaly.locator("ol.evidence li[data-edge='1']")
    assert "lit" not in (line.get_attribute("class") or "")
    edge.hover()
    assert "lit" in (line.get_attribute("class") or "")
    assert "rw(acct)" in line.inner_text()
    page.mouse.move(0, 0)
    assert "lit" not in (line.get_attribute("class") or "")
    edge.click()
    page.mouse.move(0, 0)
    assert "lit" in (line.get_attribute("class") or "")
    assert errors == []
    page.close()
