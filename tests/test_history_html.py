"""check-history --html: the page's content, and how it is written (atomically, never over
an existing file unless asked, never over anything but a regular file)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .cli_helpers import assert_bad_input, invoke
from .conftest import ROOT

HISTORIES = ROOT / "traces" / "histories"


def _page(tmp_path: Path, history: Path, *args: str) -> tuple[int, str]:
    out = tmp_path / "report.html"
    result = invoke("check-history", str(history), "--html", str(out), *args)
    assert "HTML page written to" in result.stderr
    return result.exit_code, out.read_text(encoding="utf-8")


def test_the_page_draws_each_cycle_and_spells_out_each_edge(tmp_path: Path) -> None:
    """One SVG graph per anomaly with a cycle, one node per transaction on it, one arrow
    and one sentence per edge; the exit code is the check's."""
    code, text = _page(tmp_path, HISTORIES / "write-skew.json", "-c", "serializable")
    assert code == 1
    assert text.count('<svg class="cycle"') == 1
    assert text.count('<g class="node"') == 2
    assert text.count('<g class="edge"') == 2
    assert "T2 read a version of x that T1 overwrote" in text
    assert 'data-status="violated"' in text


def test_the_page_needs_nothing_from_outside(tmp_path: Path) -> None:
    """Self-contained: no link, script or image from elsewhere."""
    _, text = _page(tmp_path, HISTORIES / "lost-update.json")
    for needle in ("http://", "https://", " src=", "<link", "@import"):
        assert needle not in text


def test_text_from_the_history_is_escaped(tmp_path: Path) -> None:
    """A key like `<script>` appears as text, never as markup."""
    doc = json.loads((HISTORIES / "write-skew.json").read_text())
    text = json.dumps(doc).replace('"x"', '"<script>alert(1)</script>"')
    path = tmp_path / "h.json"
    path.write_text(text)
    _, page = _page(tmp_path, path)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_an_existing_page_is_kept_without_force(tmp_path: Path) -> None:
    """Exit 2 before anything is checked, the old page untouched; --force replaces it, and
    no temporary file is left behind either way."""
    out = tmp_path / "report.html"
    out.write_text("old")
    result = invoke("check-history", str(HISTORIES / "serializable.json"), "--html", str(out))
    assert_bad_input(result, "already exists", "--force")
    assert result.stdout == ""
    assert out.read_text() == "old"
    result = invoke("check-history", str(HISTORIES / "serializable.json"), "--html", str(out),
                    "--force")
    assert result.exit_code == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


@pytest.mark.parametrize("kind", ["directory", "symlink", "fifo"])
def test_only_a_regular_file_is_ever_replaced(tmp_path: Path, kind: str) -> None:
    """A directory, a symbolic link or a FIFO at the path is refused, even with --force."""
    out = tmp_path / "report.html"
    target = tmp_path / "elsewhere.html"
    target.write_text("keep")
    if kind == "directory":
        out.mkdir()
    elif kind == "symlink":
        out.symlink_to(target)
    else:
        os.mkfifo(out)
    result = invoke("check-history", str(HISTORIES / "serializable.json"), "--html", str(out),
                    "--force")
    assert result.exit_code == 2
    assert target.read_text() == "keep"
    if kind == "symlink":
        assert out.is_symlink()


def test_a_missing_folder_is_bad_input(tmp_path: Path) -> None:
    """The folder must exist: exit 2, naming it."""
    out = tmp_path / "nowhere" / "report.html"
    assert_bad_input(invoke("check-history", str(HISTORIES / "serializable.json"), "--html",
                            str(out)), "does not exist")


def test_json_output_stays_pure_with_a_page(tmp_path: Path) -> None:
    """With --format json the page's note goes to stderr, so stdout is still JSON."""
    out = tmp_path / "r.html"
    result = invoke("check-history", str(HISTORIES / "g0-write-cycle.json"), "--format",
                    "json", "--html", str(out))
    assert json.loads(result.stdout)["status"] == "violated"
    assert out.is_file()
