"""JUnit XML for a suite's outcome, in the shape GitHub Actions, GitLab and Jenkins read.

The structure is the common one (Jenkins' ``junit-10.xsd``, which the others accept):
``<testsuites>`` holding one ``<testsuite>`` for the checks and one for the corpus, one
``<testcase>`` per check and per trace. A check that gave the wrong verdict is a
``<failure>`` whose message is the mismatch and whose text names the trace file; one
that could not run is an ``<error>``; an inconclusive one is a ``<failure>`` too (its
budget ran out, which fails the suite), or ``<skipped>`` when the check allows it:
never a pass.

The document is the same for the same outcomes except the ``time`` attributes: no
timestamps, no host names, attributes in a fixed order.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from shardcheck.checker.ci.runner import CheckOutcome, SuiteOutcome, TraceOutcome
from shardcheck.checker.errors import BadInput
from shardcheck.checker.trace import check_writable


def _time(seconds: float) -> str:
    return f"{seconds:.3f}"


def _check_case(outcome: CheckOutcome) -> ET.Element:
    check = outcome.check
    case = ET.Element("testcase", {"name": check.name, "classname": "shardcheck.checks",
                                   "time": _time(outcome.seconds)})
    lines = [f"check     {check.name}", f"design    {check.describe()}",
             f"strategy  {check.strategy}, budget {check.budget.describe()}",
             f"expected  {check.expectation()}", f"result    {outcome.message}"]
    if outcome.detail:
        lines.append(f"work      {outcome.detail}")
    if outcome.trace_path is not None:
        where = " (already in the corpus)" if outcome.in_corpus else ""
        lines.append(f"trace     {outcome.trace_path}{where}")
        lines.append(f"replay    shardcheck replay {outcome.trace_path}")
    text = "\n".join(lines)
    if outcome.status in ("mismatch", "inconclusive"):
        failure = ET.SubElement(case, "failure", {"type": outcome.status,
                                                  "message": _message(outcome)})
        failure.text = text
    elif outcome.status == "error":
        error = ET.SubElement(case, "error", {"type": "error", "message": outcome.message})
        error.text = text
    elif outcome.status == "allowed-inconclusive":
        ET.SubElement(case, "skipped", {"type": "inconclusive", "message": outcome.message})
    out = ET.SubElement(case, "system-out")
    out.text = text
    return case


def _message(outcome: CheckOutcome) -> str:
    if outcome.trace_path is None:
        return f"{outcome.check.name}: {outcome.message}"
    return f"{outcome.check.name}: {outcome.message} (trace: {outcome.trace_path})"


def _trace_case(outcome: TraceOutcome) -> ET.Element:
    case = ET.Element("testcase", {"name": outcome.path, "classname": "shardcheck.corpus",
                                   "time": _time(outcome.seconds)})
    text = (f"trace     {outcome.path}\nrecorded  {outcome.recorded}\n"
            f"replay    {outcome.message}\nreplay with: shardcheck replay {outcome.path}")
    if outcome.status != "ok":
        kind = "failure" if outcome.status == "mismatch" else "error"
        element = ET.SubElement(case, kind, {
            "type": outcome.status,
            "message": f"{outcome.path}: recorded {outcome.recorded}; {outcome.message}"})
        element.text = text
    out = ET.SubElement(case, "system-out")
    out.text = text
    return case


def _suite(name: str, cases: list[ET.Element], seconds: float,
           properties: list[tuple[str, str]]) -> ET.Element:
    failures = sum(1 for c in cases if c.find("failure") is not None)
    errors = sum(1 for c in cases if c.find("error") is not None)
    skipped = sum(1 for c in cases if c.find("skipped") is not None)
    suite = ET.Element("testsuite", {"name": name, "tests": str(len(cases)),
                                     "failures": str(failures), "errors": str(errors),
                                     "skipped": str(skipped), "time": _time(seconds)})
    if properties:
        props = ET.SubElement(suite, "properties")
        for key, value in properties:
            ET.SubElement(props, "property", {"name": key, "value": value})
    suite.extend(cases)
    return suite


def junit_xml(outcome: SuiteOutcome) -> str:
    """The JUnit XML document for ``outcome``."""
    checks = [_check_case(o) for o in outcome.checks]
    traces = [_trace_case(t) for t in outcome.traces]
    suite_file = outcome.suite.path.name
    check_suite = _suite("shardcheck.checks", checks, sum(o.seconds for o in outcome.checks),
                         [("suite", suite_file)])
    corpus = outcome.suite.corpus
    try:
        shown = corpus.relative_to(outcome.suite.path.parent).as_posix()
    except ValueError:
        shown = corpus.as_posix()
    trace_suite = _suite("shardcheck.corpus", traces, sum(t.seconds for t in outcome.traces),
                         [("corpus", shown)])
    root = ET.Element("testsuites", {
        "name": "shardcheck ci",
        "tests": str(len(checks) + len(traces)),
        "failures": str(int(check_suite.get("failures", "0"))
                        + int(trace_suite.get("failures", "0"))),
        "errors": str(int(check_suite.get("errors", "0")) + int(trace_suite.get("errors", "0"))),
        "time": _time(outcome.seconds),
    })
    root.extend([check_suite, trace_suite])
    ET.indent(root)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + ET.tostring(root, encoding="unicode") + "\n")


def check_junit_path(path: Path, overwrite: bool = False) -> None:
    """Fail before running anything if the report could not be written there, or would
    replace a file that exists without ``overwrite`` (``--force``)."""
    check_writable(path, overwrite, option="--junit", what="the report")


def write_junit(outcome: SuiteOutcome, path: Path, overwrite: bool = False) -> None:
    """Write the report; a file at ``path`` is replaced only with ``overwrite``."""
    try:
        with path.open("w" if overwrite else "x", encoding="utf-8") as handle:
            handle.write(junit_xml(outcome))
    except FileExistsError:  # it appeared while the suite ran
        raise BadInput(f"--junit {path} already exists; pass --force to overwrite it") from None
