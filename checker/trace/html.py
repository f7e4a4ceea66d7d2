"""A replayed run as one self-contained HTML page: a space-time diagram to look at.

The page (``checker/replay_view.html``, with the run's data inlined as JSON) needs no
network and no build step. It draws one lane per actor with a mark per action, arrows
where one actor's action hears from another's, the violating step in red, and a
slider that walks through the run showing what each step changed.

Arrows are found without knowing the design, from what every design already gives:

- *reads-from*: an action reads a shared object (its footprint) that another actor
  wrote last. For shared-memory designs such as Block-STM this is how actors talk.
- *names*: an action whose parameter names another actor (``to=r2``) points at that
  actor's next action, which is how message-passing designs read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from shardcheck.checker.design import Step
from shardcheck.checker.errors import BadInput
from shardcheck.checker.trace.files import Trace, check_writable
from shardcheck.checker.trace.replayer import ReplayResult
from shardcheck.checker.trace.version import VERSION

TEMPLATE = "replay_view.html"
DATA_MARKER = "/*SHARDCHECK_DATA*/null"


def actors_of(steps: Sequence[Step]) -> list[str]:
    """Actors in order of their first action: the lanes, top to bottom."""
    seen: list[str] = []
    for step in steps:
        if step.action.actor not in seen:
            seen.append(step.action.actor)
    return seen


def arrows(steps: Sequence[Step]) -> list[dict[str, Any]]:
    """The arrows between lanes: ``from`` and ``to`` are 1-based step numbers."""
    actors = set(actors_of(steps))
    last_writer: dict[str, int] = {}
    found: dict[tuple[int, int, str], list[str]] = {}
    for index, step in enumerate(steps, start=1):
        action = step.action
        for obj in sorted(action.reads):
            writer = last_writer.get(obj)
            if writer is not None and steps[writer - 1].action.actor != action.actor:
                found.setdefault((writer, index, "reads-from"), []).append(obj)
        for obj in action.writes:
            last_writer[obj] = index
        for key, value in action.params:
            if isinstance(value, str) and value in actors and value != action.actor:
                target = next((j for j in range(index + 1, len(steps) + 1)
                               if steps[j - 1].action.actor == value), None)
                if target is not None:
                    found.setdefault((index, target, "names"), []).append(key)
    return [{"from": src, "to": dst, "kind": kind, "via": via}
            for (src, dst, kind), via in sorted(found.items())]


def _change_entry(line: str) -> dict[str, str]:
    """Split a line of ``shardcheck.checker.design.diff`` into its parts.

    Lines are ``path: old → new`` for a changed leaf, and ``path +item`` or
    ``path -item`` for an element added to or removed from a sequence.
    """
    changed = re.fullmatch(r"(.*?): (.*) → (.*)", line, flags=re.DOTALL)
    if changed:
        return {"kind": "set", "path": changed.group(1), "old": changed.group(2),
                "new": changed.group(3), "text": line}
    grown = re.fullmatch(r"(?:(\S+) )?([+-])(.*)", line, flags=re.DOTALL)
    if grown:
        return {"kind": "add" if grown.group(2) == "+" else "remove",
                "path": grown.group(1) or "", "item": grown.group(3), "text": line}
    return {"kind": "other", "path": "", "text": line}


def page_data(trace: Trace, result: ReplayResult, name: str) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data."""
    replayed = {i: s for i, s in enumerate(result.steps, start=1)}
    steps = []
    for index, recorded in enumerate(trace.steps, start=1):
        action = recorded.action
        done = replayed.get(index)
        steps.append({
            "index": index,
            "actor": action.actor,
            "name": action.name,
            "label": action.label(),
            "params": [[k, v] for k, v in action.params],
            "reads": sorted(action.reads),
            "writes": sorted(action.writes),
            "fingerprint": recorded.fingerprint,
            "replayed": done is not None,
            "changes": [_change_entry(c) for c in done.changes] if done is not None else [],
        })
    violation = result.violation or trace.violation
    highlight = (result.diverged_at if result.verdict == "diverged"
                 else violation.step if violation else None)
    return {
        "tool": f"shardcheck {VERSION}",
        "name": name,
        "design": trace.design.spec(),
        "workload": trace.workload,
        "workers": trace.workers,
        "verdict": result.verdict,
        "message": result.message,
        "violation": violation.to_json() if violation else None,
        "highlight": highlight,
        "actors": actors_of(trace.steps),
        "steps": steps,
        "arrows": arrows(trace.steps),
        "replay": trace.replay_command(name),
    }


def _embed(data: dict[str, Any]) -> str:
    # Inside <script>, "</" would end the element and "<!--" open a comment: escape "<".
    return json.dumps(data, ensure_ascii=False, sort_keys=True).replace("<", "\\u003c")


def render_html(trace: Trace, result: ReplayResult, name: str) -> str:
    """The page for a replayed trace; ``name`` is the trace file as the user gave it."""
    template = resources.files(__package__).joinpath(TEMPLATE).read_text(encoding="utf-8")
    if DATA_MARKER not in template:
        raise AssertionError(f"{TEMPLATE} lost its data marker")
    title = f"{trace.design.spec()} — shardcheck replay"
    page = template.replace(DATA_MARKER, _embed(page_data(trace, result, name)), 1)
    return page.replace("<title>shardcheck replay</title>",
                        f"<title>{_escape(title)}</title>", 1)


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def write_html(text: str, path: str | Path, overwrite: bool) -> None:
    """Write the page; never replace an existing file unless asked."""
    check_writable(path, overwrite, option="--html", what="the page")
    try:
        with open(path, "w" if overwrite else "x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise BadInput(f"--html {path} already exists; pass --force to overwrite it") from None
