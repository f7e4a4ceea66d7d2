"""`shardcheck replay --html`: the page's data, its self-containment, and never clobbering."""

from __future__ import annotations

import json
import re
from pathlib import Path

from shardcheck import model
from shardcheck.checker import load_trace, replay
from shardcheck.checker.design import Step
from shardcheck.checker.trace.html import DATA_MARKER, arrows, page_data, render_html

from .cli_helpers import assert_bad_input, invoke
from .conftest import ROOT

TRACE = ROOT / "traces" / "block-stm" / "scan-keys-only.trace.json"


def _step(actor: str, reads: tuple[str, ...] = (), writes: tuple[str, ...] = (),
          **params: model.ParamValue) -> Step:
    return Step(model.Action(actor, "act", tuple(params.items()), frozenset(reads),
                             frozenset(writes)), "0" * 32)


def test_an_arrow_runs_from_a_write_to_another_actors_read_of_it() -> None:
    """Reads-from across actors is an arrow; an actor reading its own write is not."""
    steps = [_step("a", writes=("x",)), _step("a", reads=("x",)), _step("b", reads=("x", "y")),
             _step("b", writes=("x",)), _step("a", reads=("x",))]
    assert arrows(steps) == [
        {"from": 1, "to": 3, "kind": "reads-from", "via": ["x"]},
        {"from": 4, "to": 5, "kind": "reads-from", "via": ["x"]},
    ]


def test_an_action_naming_another_actor_points_at_its_next_action() -> None:
    """A message: a parameter whose value is another actor's name."""
    steps = [_step("r1", to="r2"), _step("r1"), _step("r2"), _step("r2")]
    assert arrows(steps) == [{"from": 1, "to": 3, "kind": "names", "via": ["to"]}]


def test_the_page_data_holds_every_step_the_actors_and_the_violation() -> None:
    """61 steps, two lanes, the violation at step 61 highlighted."""
    trace = load_trace(TRACE)
    data = page_data(trace, replay(trace), "t.json")
    assert len(data["steps"]) == 61
    assert data["actors"] == ["w0", "w1"]
    assert data["highlight"] == 61
    assert data["violation"]["property"] == "serial-equivalence"
    assert all(s["replayed"] for s in data["steps"])
    assert any(s["changes"] for s in data["steps"])
    assert data["arrows"] and all(a["from"] < a["to"] for a in data["arrows"])


def test_the_page_is_self_contained() -> None:
    """No external scripts, styles, images or fetches; the data is inlined."""
    trace = load_trace(TRACE)
    page = render_html(trace, replay(trace), "t.json")
    assert DATA_MARKER not in page
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=", page)
    assert "fetch(" not in page and "XMLHttpRequest" not in page and "@import" not in page
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", page))
    assert urls <= {"http://www.w3.org/2000/svg"}  # a namespace name, never fetched
    inlined = page.split("const DATA = ", 1)[1].split(";\n", 1)[0]
    assert json.loads(inlined)["design"] == "block-stm:scan-keys-only"


def test_the_page_is_the_same_for_the_same_trace() -> None:
    """Deterministic: same trace, same bytes."""
    trace = load_trace(TRACE)
    assert render_html(trace, replay(trace), "t") == render_html(trace, replay(trace), "t")


def test_replay_html_writes_the_page_and_refuses_to_overwrite_it(tmp_path: Path) -> None:
    """Written once; a second time without --force is exit 2 and the file is untouched."""
    out = tmp_path / "run.html"
    first = invoke("replay", str(TRACE), "--html", str(out), "--no-timeline")
    assert first.exit_code == 1  # the violation reproduces
    assert f"HTML page written to {out}" in first.output
    assert out.read_text().startswith("<!DOCTYPE html>")
    out.write_text("mine")
    assert_bad_input(invoke("replay", str(TRACE), "--html", str(out)), "already exists",
                     "--force")
    assert out.read_text() == "mine"
    forced = invoke("replay", str(TRACE), "--html", str(out), "--force", "--no-timeline")
    assert forced.exit_code == 1
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_replay_html_into_a_missing_directory_is_bad_input(tmp_path: Path) -> None:
    """Checked before replaying: one line, exit 2."""
    assert_bad_input(invoke("replay", str(TRACE), "--html", str(tmp_path / "no" / "x.html")),
                     "does not exist")
