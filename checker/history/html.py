"""A check-history report as one self-contained HTML page, each cycle drawn as a graph.

The way Elle's plots show an anomaly: its transactions as nodes on a circle, each
dependency an arrow labelled with its kind and key (ww, wr, rw, real time, process;
forced orderings dashed), and beside the drawing the sentence that justifies each edge.
Everything is inline (styles, a few lines of script, SVG): the page needs no network and
opens from a file. Hovering or clicking an edge lights up its sentence, and the reverse.

The page is written atomically (a temporary file in the same folder, flushed to disk,
then renamed into place), never over an existing file unless asked, and never over
anything but a regular file.
"""

from __future__ import annotations

import html
import math
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

from shardcheck.checker.errors import BadInput
from shardcheck.checker.history.anomalies import DESCRIPTIONS, Anomaly, Edge
from shardcheck.checker.history.serializability import Report, Verdict

SHOWN_PER_VERDICT = 40
"""Anomalies drawn per criterion; the rest are counted (the JSON report lists them all)."""

COLORS = {"ww": "#c0392b", "wr": "#2471a3", "rw": "#d68910", "realtime": "#7d3c98",
          "process": "#1e8449", "forced": "#566573", "order": "#566573"}

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 72em;
       color: #222; padding: 0 1em; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 2em; }
table.verdicts { border-collapse: collapse; }
table.verdicts td, table.verdicts th { padding: .2em .8em; text-align: left;
       vertical-align: top; border-bottom: 1px solid #ddd; }
.holds { color: #1e8449; } .violated { color: #c0392b; font-weight: bold; }
.inconclusive { color: #b9770e; } .not-applicable { color: #888; }
.anomaly { display: flex; gap: 1.5em; align-items: flex-start; margin: 1em 0;
       padding: .8em; border: 1px solid #ddd; border-radius: 6px; }
.anomaly h3 { margin: 0 0 .3em 0; font-size: 1em; }
.kind { font-family: monospace; background: #f4f4f4; padding: 0 .3em; }
svg.cycle { flex: none; }
svg.cycle .node circle { fill: #fff; stroke: #333; stroke-width: 1.5; }
svg.cycle .node text { font: 12px monospace; text-anchor: middle;
       dominant-baseline: central; }
svg.cycle .edge path { fill: none; stroke-width: 2; }
svg.cycle .edge text { font: 11px monospace; }
svg.cycle .edge { cursor: pointer; }
svg.cycle .edge.lit path { stroke-width: 4; }
ol.evidence li { padding: .1em .3em; cursor: pointer; }
ol.evidence li.lit { background: #fdf2d0; }
.arrow { font-family: monospace; white-space: nowrap; }
.note { color: #666; }
"""

SCRIPT = """
document.querySelectorAll('.anomaly').forEach(function (box) {
  function light(index, on) {
    box.querySelectorAll('[data-edge="' + index + '"]').forEach(function (el) {
      el.classList.toggle('lit', on);
    });
  }
  box.querySelectorAll('[data-edge]').forEach(function (el) {
    var index = el.getAttribute('data-edge');
    el.addEventListener('mouseenter', function () { light(index, true); });
    el.addEventListener('mouseleave', function () {
      if (!box.querySelector('.pinned[data-edge="' + index + '"]')) { light(index, false); }
    });
    el.addEventListener('click', function () {
      var on = !el.classList.contains('pinned');
      box.querySelectorAll('.pinned').forEach(function (p) { p.classList.remove('pinned'); });
      box.querySelectorAll('.lit').forEach(function (p) { p.classList.remove('lit'); });
      if (on) { el.classList.add('pinned'); light(index, true); }
    });
  });
});
document.body.setAttribute('data-ready', '1');
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _layout(nodes: Sequence[str]) -> tuple[int, dict[str, tuple[float, float]]]:
    """Nodes evenly on a circle, the first at the top, going clockwise."""
    count = len(nodes)
    radius = 60 + 18 * count
    size = int(2 * radius + 200)
    centre = size / 2
    places = {}
    for i, name in enumerate(nodes):
        angle = -math.pi / 2 + 2 * math.pi * i / count
        places[name] = (centre + radius * math.cos(angle), centre + radius * math.sin(angle))
    return size, places


def cycle_svg(anomaly: Anomaly, index: int) -> str:
    """The cycle of one anomaly as an SVG graph."""
    nodes = list(dict.fromkeys(e.src for e in anomaly.cycle))
    size, places = _layout(nodes)
    parts = [f'<svg class="cycle" width="{size}" height="{size}" viewBox="0 0 {size} {size}" '
             f'role="img" aria-label="{_e(anomaly.kind)} cycle">',
             "<defs>" + "".join(
                 f'<marker id="arrow-{index}-{kind}" viewBox="0 0 10 10" refX="10" refY="5" '
                 f'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
                 f'<path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>'
                 for kind, color in COLORS.items()) + "</defs>"]
    for i, edge in enumerate(anomaly.cycle):
        parts.append(_edge_svg(edge, i, index, places))
    for name in nodes:
        x, y = places[name]
        parts.append(f'<g class="node" data-tx="{_e(name)}"><circle cx="{x:.1f}" cy="{y:.1f}" '
                     f'r="24"/><text x="{x:.1f}" y="{y:.1f}">{_e(name[:8])}</text>'
                     f"<title>{_e(name)}</title></g>")
    parts.append("</svg>")
    return "".join(parts)


def _edge_svg(edge: Edge, i: int, index: int, places: dict[str, tuple[float, float]]) -> str:
    (x1, y1), (x2, y2) = places[edge.src], places[edge.dst]
    dx, dy = x2 - x1, y2 - y1
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    # Start and end on the circles' rims; bow to the right of the direction of travel, so
    # two edges between the same transactions in opposite directions never overlap.
    sx, sy, ex, ey = x1 + 26 * ux, y1 + 26 * uy, x2 - 26 * ux, y2 - 26 * uy
    bow = (0.3 if len(places) == 2 else 0.12) * length
    nx, ny = -uy, ux  # the normal the curve bows along
    cx, cy = (sx + ex) / 2 + nx * bow, (sy + ey) / 2 + ny * bow
    # The label just outside the curve's peak (at half the control point's offset).
    lx, ly = (sx + ex) / 2 + nx * (bow / 2 + 8), (sy + ey) / 2 + ny * (bow / 2 + 8) + 4
    anchor = "start" if nx > 0.3 else "end" if nx < -0.3 else "middle"
    color = COLORS.get(edge.kind, "#333")
    dash = ' stroke-dasharray="6 4"' if edge.basis != "direct" else ""
    label = f"{edge.kind}({edge.key})" if edge.key else edge.kind
    return (f'<g class="edge" data-edge="{i}" data-kind="{_e(edge.kind)}" '
            f'data-basis="{_e(edge.basis)}">'
            f'<path d="M{sx:.1f},{sy:.1f} Q{cx:.1f},{cy:.1f} {ex:.1f},{ey:.1f}" '
            f'stroke="{color}"{dash} marker-end="url(#arrow-{index}-{_e(edge.kind)})"/>'
            f'<text x="{lx:.1f}" y="{ly:.1f}" fill="{color}" text-anchor="{anchor}">'
            f"{_e(label)}</text>"
            f"<title>{_e(edge.arrow())}: {_e(edge.why)}</title></g>")


def _anomaly_html(anomaly: Anomaly, index: int) -> str:
    head = (f'<h3><span class="kind">{_e(anomaly.kind)}</span> {_e(anomaly.message)}</h3>'
            f'<div class="note">{_e(DESCRIPTIONS.get(anomaly.kind, ""))}</div>')
    if not anomaly.cycle:
        return (f'<div class="anomaly" data-kind="{_e(anomaly.kind)}"><div>{head}'
                f'<div class="note">Involves {_e(", ".join(anomaly.transactions))}.</div>'
                "</div></div>")
    items = "".join(f'<li data-edge="{i}"><span class="arrow">{_e(e.arrow())}</span>: '
                    f"{_e(e.why)}</li>" for i, e in enumerate(anomaly.cycle))
    return (f'<div class="anomaly" data-kind="{_e(anomaly.kind)}">{cycle_svg(anomaly, index)}'
            f'<div>{head}<ol class="evidence">{items}</ol></div></div>')


def _verdict_html(verdict: Verdict, first_index: int) -> str:
    shown = verdict.anomalies[:SHOWN_PER_VERDICT]
    body = "".join(_anomaly_html(a, first_index + i) for i, a in enumerate(shown))
    more = len(verdict.anomalies) - len(shown)
    if more > 0:
        body += f'<p class="note">… and {more:,} more (the JSON report lists them all).</p>'
    return (f'<section class="verdict" data-criterion="{_e(verdict.criterion)}">'
            f"<h2>{_e(verdict.criterion)}: "
            f'<span class="{_e(verdict.status)}">{_e(verdict.status)}</span></h2>{body}'
            "</section>")


def render_page(report: Report, source: str) -> str:
    """The whole report as HTML."""
    rows = "".join(f'<tr><td>{_e(v.criterion)}</td><td class="{_e(v.status)}">'
                   f"{_e(v.status)}</td><td>{_e(v.summary)}</td></tr>" for v in report.verdicts)
    assumed = "".join(f"<li>{_e(line)}</li>" for line in report.assumed)
    sections = []
    index = 0
    for verdict in report.verdicts:
        if verdict.anomalies:
            sections.append(_verdict_html(verdict, index))
            index += len(verdict.anomalies[:SHOWN_PER_VERDICT])
    status = report.status()
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>shardcheck: {_e(source)} {_e(status)}</title>"
            f"<style>{STYLE}</style></head>"
            f'<body data-status="{_e(status)}">'
            f"<h1>History {_e(source)}: <span class=\"{_e(status)}\">{_e(status)}</span></h1>"
            f'<p class="note">{report.transactions:,} transactions ({report.committed:,} '
            f"committed), {report.keys:,} keys</p>"
            + (f"<ul class=\"assumed\">{assumed}</ul>" if assumed else "")
            + f'<table class="verdicts"><tr><th>criterion</th><th>verdict</th><th>why</th>'
            f"</tr>{rows}</table>" + "".join(sections)
            + f"<script>{SCRIPT}</script></body></html>\n")


def check_page_target(path: str | Path, overwrite: bool) -> None:
    """Fail early, before any check runs, when the page could not be written as asked."""
    target = Path(path)
    named = f"--html {path}"
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise BadInput(f"cannot write {named}: {error.strerror}") from None
    if info is not None:
        if not stat.S_ISREG(info.st_mode):
            what = ("a directory" if stat.S_ISDIR(info.st_mode) else "a symbolic link"
                    if stat.S_ISLNK(info.st_mode) else "not a regular file")
            raise BadInput(f"{named} is {what}; the page is written only to a regular file")
        if not overwrite:
            raise BadInput(f"{named} already exists; pass --force to overwrite it")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise BadInput(f"cannot write {named}: folder {folder} does not exist")


def write_page(text: str, path: str | Path, overwrite: bool) -> None:
    """Write the page atomically: a temporary file in the same folder, flushed to disk,
    then renamed into place (or linked, when it must not replace an existing file)."""
    check_page_target(path, overwrite)
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise BadInput(f"cannot write --html {path}: {error.strerror}") from None
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes it private; a report is not
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)  # fails if the file appeared meanwhile: never clobber
            except FileExistsError:
                raise BadInput(f"--html {path} already exists; pass --force to overwrite "
                               "it") from None
            os.unlink(tmp)
        _sync_folder(folder)
    except OSError as error:
        raise BadInput(f"cannot write --html {path}: {error.strerror}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable, where the platform allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
