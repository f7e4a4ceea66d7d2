"""Replay reproduces any recorded run exactly, and notices any edit to it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from shardcheck import model
from shardcheck.checker.design import Step
from shardcheck.checker.design.properties import Judge
from shardcheck.checker.design.resolve import DesignRef, load_design_file, resolve_design
from shardcheck.checker.trace.files import Trace, load_trace, write_trace
from shardcheck.checker.trace.replayer import replay

from .conftest import USER_DESIGN

CASES = [
    (DesignRef("serial"), "transfers:txs=3,accounts=2", 1),
    (DesignRef("block-stm"), "transfers:txs=3,accounts=2", 2),
    (DesignRef("block-stm"), "audit:txs=3", 3),
    (DesignRef("block-stm", "read-own-entries"), "counter:txs=2,keys=1", 2),
    (DesignRef("NaiveOcc", None, str(USER_DESIGN)), "counter:txs=3,keys=1", 2),
]


def _design(ref: DesignRef) -> model.Design:
    if ref.file:
        return load_design_file(ref.file, ref.name)
    return resolve_design(ref)[0]


Chooser = Callable[[tuple[model.Action, ...]], model.Action]


def drawn_by(data: st.DataObject) -> Chooser:
    """Each choice of action drawn by hypothesis."""
    return lambda actions: data.draw(st.sampled_from(actions))


def random_run(choose: Chooser, ref: DesignRef, spec: str, workers: int,
               limit: int = 120) -> Trace:
    """A run whose every choice of action is made by ``choose``, recorded as a trace."""
    design = _design(ref)
    workload = model.build_workload(spec)
    config = model.Config(workload, workers)
    judge = Judge(design, config, 10_000)
    state: Any = design.initial(config)
    initial = model.fingerprint(state)
    steps: list[Step] = []
    violation = None
    while len(steps) < limit and violation is None:
        actions = design.actions(state)
        if not actions:
            break
        action = choose(tuple(actions))
        state = design.step(state, action)
        steps.append(Step(action, model.fingerprint(state)))
        violation = judge.check_state(state, len(steps), design.is_terminal(state))
    return Trace(ref, workload.spec, workers, initial, tuple(steps), violation)


@settings(max_examples=25)
@given(st.data(), st.sampled_from(CASES))
def test_a_recorded_random_run_replays_with_identical_fingerprints(
    tmp_path_factory: Any, data: st.DataObject, case: tuple[DesignRef, str, int]
) -> None:
    """Write a random run to a file, read it back, replay it: every step matches."""
    ref, spec, workers = case
    trace = random_run(drawn_by(data), ref, spec, workers)
    path = tmp_path_factory.mktemp("replay") / "run.trace.json"
    write_trace(trace, path)
    loaded = load_trace(path)
    assert loaded == trace
    result = replay(loaded, ref.file)
    assert result.verdict == "reproduced", result.message
    assert tuple(s.fingerprint for s in result.steps) == tuple(
        s.fingerprint for s in trace.steps)


@settings(max_examples=25)
@given(st.data(), st.sampled_from(CASES))
def test_editing_one_action_makes_replay_diverge_at_that_step(
    tmp_path_factory: Any, data: st.DataObject, case: tuple[DesignRef, str, int]
) -> None:
    """Change one recorded action in the file; replay reports divergence at exactly that step."""
    ref, spec, workers = case
    trace = random_run(drawn_by(data), ref, spec, workers, limit=60)
    if not trace.steps:
        return
    index = data.draw(st.integers(0, len(trace.steps) - 1))
    path: Path = tmp_path_factory.mktemp("edit") / "run.trace.json"
    write_trace(trace, path)
    document = json.loads(path.read_text())
    document["steps"][index]["action"]["name"] += "-edited"
    path.write_text(json.dumps(document))
    result = replay(load_trace(path), ref.file)
    assert result.verdict == "diverged"
    assert result.diverged_at == index + 1
    assert "not enabled" in result.message


def test_a_changed_model_is_reported_as_a_fingerprint_divergence(tmp_path: Path) -> None:
    """If the design now steps differently, replay names the step and the likely cause."""
    ref, spec, workers = CASES[1]
    trace = random_run(lambda actions: actions[0], ref, spec, workers, 30)
    edited = attrs.evolve(trace, steps=(*trace.steps[:9],
                                        attrs.evolve(trace.steps[9], fingerprint="0" * 32),
                                        *trace.steps[10:]))
    result = replay(edited)
    assert (result.verdict, result.diverged_at) == ("diverged", 10)
    assert "hidden nondeterminism" in result.message
