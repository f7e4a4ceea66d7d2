"""Trace files: a versioned JSON record of one run, enough to rebuild it from the file alone.

What is saved is the minimal choice record (the actions) plus a fingerprint after every
step, so replay can regenerate each state and prove it is the same. The JSON Schema is
``checker/trace.schema.json``, published as ``traces/trace.schema.json``.
"""

from __future__ import annotations

import json
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from shardcheck import model
from shardcheck.checker.design import (
    DesignRef,
    Step,
    Violation,
    block_document,
    register_block,
)
from shardcheck.checker.errors import (
    BadInput,
    ShardcheckError,
    TraceFileError,
    parse_json,
    read_user_file,
)
from shardcheck.checker.trace.version import VERSION

FORMAT = "shardcheck-trace"
FORMAT_VERSION = 1


def _schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("trace.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@attrs.frozen
class Trace:
    """One recorded run: design, configuration, actions with fingerprints, violation."""

    design: DesignRef
    workload: str
    workers: int
    initial_fingerprint: str
    steps: tuple[Step, ...]
    violation: Violation | None
    step_bound: int = 10_000
    source: tuple[tuple[str, str | int | bool | None], ...] = ()
    criteria: tuple[str, ...] | None = None
    """The terminal criteria the run was judged by, when chosen on the command line."""

    def replay_command(self, path: str) -> str:
        """The command that replays this trace from ``path``."""
        extra = f" --design-file {self.design.file}" if self.design.file else ""
        return f"shardcheck replay {path}{extra}"

    def to_json(self, path: str = "TRACE.json") -> dict[str, Any]:
        """The JSON document; ``path`` only fills in the replay hint. A run on a block
        file carries the block, so the trace replays from the file alone."""
        block = block_document(self.workload)
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "tool": {"name": "shardcheck", "version": VERSION},
            "design": {"name": self.design.name, "mutant": self.design.mutant,
                       "file": self.design.file},
            "config": {"workload": self.workload, "workers": self.workers,
                       "step_bound": self.step_bound,
                       **({"criteria": list(self.criteria)} if self.criteria else {})},
            "source": dict(self.source),
            "initial_fingerprint": self.initial_fingerprint,
            "steps": [
                {"action": s.action.to_json(), "fingerprint": s.fingerprint,
                 "label": f"{s.action.actor}: {s.action.label()}"}
                for s in self.steps
            ],
            "violation": self.violation.to_json() if self.violation else None,
            "replay": self.replay_command(path),
            **({"block": block} if block is not None else {}),
        }

    @classmethod
    def from_json(cls, data: Any, where: str = "trace") -> Trace:
        """Validate a JSON document against the schema and build the trace."""
        if isinstance(data, dict):
            if data.get("format") != FORMAT:
                raise TraceFileError(f"{where} is not a shardcheck trace (no \"format\": "
                                     f"\"{FORMAT}\")")
            if data.get("version") != FORMAT_VERSION:
                raise TraceFileError(
                    f"{where} is trace format version {data.get('version')!r}; this shardcheck "
                    f"({VERSION}) reads version {FORMAT_VERSION}: replay it with the shardcheck "
                    "that wrote it, or record it again"
                )
        # Imported here: writing a trace, or importing this module, must not pay for it.
        import jsonschema

        errors = sorted(jsonschema.Draft202012Validator(_schema()).iter_errors(data),
                        key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            location = "".join(f"[{p}]" if isinstance(p, int) else f".{p}"
                               for p in first.absolute_path).lstrip(".") or "the top level"
            raise TraceFileError(f"{where} is malformed at {location}: {first.message}")
        violation = data["violation"]
        if violation and violation["step"] > len(data["steps"]):
            raise TraceFileError(
                f"{where} is malformed: its violation is at step {violation['step']}, past its "
                f"last step ({len(data['steps'])}); the file was cut short or edited")
        if "block" in data:
            workload = register_block(data["block"], f"{where}: block")
            if workload.spec != data["config"]["workload"]:
                raise TraceFileError(f"{where}: its block is {workload.spec}, not the "
                                     f"{data['config']['workload']} its config names; the "
                                     "block was edited after the run")
        return cls(
            design=DesignRef(data["design"]["name"], data["design"]["mutant"],
                             data["design"]["file"]),
            workload=data["config"]["workload"],
            workers=data["config"]["workers"],
            initial_fingerprint=data["initial_fingerprint"],
            steps=tuple(Step(model.Action.from_json(s["action"]), s["fingerprint"])
                        for s in data["steps"]),
            violation=Violation(violation["property"], violation["message"], violation["step"])
            if violation else None,
            step_bound=data["config"].get("step_bound", 10_000),
            source=tuple(sorted(data.get("source", {}).items())),
            criteria=tuple(data["config"]["criteria"]) if "criteria" in data["config"] else None,
        )


def load_trace(path: str | Path) -> Trace:
    """Read and validate a trace file; every problem becomes a ``TraceFileError``."""
    text = read_user_file(path, "trace", TraceFileError)
    data = parse_json(text, f"trace file {path}", TraceFileError)
    return Trace.from_json(data, f"trace file {path}")


def check_writable(path: str | Path, overwrite: bool, option: str = "",
                   what: str = "the trace") -> None:
    """Fail early, before any search, if ``path`` cannot be written as asked; ``option``
    (say ``--html``) and ``what`` name the output in the message."""
    file = Path(path)
    named = f"{option} {path}" if option else str(path)
    if file.is_dir():
        raise BadInput(f"{named} is a directory; give a file name for {what}")
    if file.exists() and not overwrite:
        raise BadInput(f"{named} already exists; pass --force to overwrite it")
    parent = file.parent if str(file.parent) else Path(".")
    if not parent.is_dir():
        raise BadInput(f"cannot write {named}: directory {parent} does not exist")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _format(document: dict[str, Any]) -> str:
    """Indented JSON with one line per step, so a trace diffs well in a corpus."""
    steps = document["steps"]
    if not steps:
        return json.dumps(document, indent=2) + "\n"
    marker = "\x00steps\x00"  # no JSON text of ours contains it, so it is replaced once
    head = json.dumps({**document, "steps": marker}, indent=2)
    lines = ",\n".join("    " + json.dumps(step, ensure_ascii=False) for step in steps)
    return head.replace(json.dumps(marker), "[\n" + lines + "\n  ]", 1) + "\n"


def write_trace(trace: Trace, path: str | Path, overwrite: bool = False) -> None:
    """Write atomically: the file appears whole or not at all; never clobber unless asked."""
    file = Path(path)
    check_writable(file, overwrite)
    text = _format(trace.to_json(str(path)))
    directory = file.parent if str(file.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".tmp", dir=directory)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; a trace is not
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, file)
        else:
            try:
                os.link(tmp, file)  # fails if the file appeared meanwhile: never clobber
            except FileExistsError:
                raise BadInput(f"{path} already exists; pass --force to overwrite it") from None
            os.unlink(tmp)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def holds_trace(path: str | Path, trace: Trace) -> bool:
    """Whether the file at ``path`` is a trace of exactly this run."""
    try:
        return load_trace(path) == trace
    except ShardcheckError:
        return False


def write_trace_once(trace: Trace, path: str | Path, hint: str) -> None:
    """Write ``trace`` to a file named for it by default: a file already there that holds
    the same run is kept as it is, and one that holds another run is never replaced
    (``hint`` says how to choose: "pass --trace-out ...")."""
    if Path(path).exists():
        if holds_trace(path, trace):
            return
        raise BadInput(f"{path} exists with a different run in it; {hint}")
    write_trace(trace, path)
