"""A design in a user's own file is explored, judged and replayed like a built-in one."""

from __future__ import annotations

from pathlib import Path

from shardcheck import model
from shardcheck.checker import (
    SearchSettings,
    explore,
    load_trace,
    replay,
    resolve_design,
    write_trace,
)
from shardcheck.checker.trace.files import Trace

from .conftest import USER_DESIGN

SPEC = f"{USER_DESIGN}:NaiveOcc"


def test_the_naive_scheduler_is_correct_with_one_worker() -> None:
    """With one worker there is no race: every schedule is serial."""
    design, _ = resolve_design(SPEC)
    result = explore(design, model.Config(model.build_workload("counter:txs=2,keys=1"), 1))
    assert (result.verdict, result.stats.states) == ("pass", 8)


def test_the_naive_scheduler_loses_an_update_with_two_workers(tmp_path: Path) -> None:
    """Two workers read the counter before either writes: found in 8 steps, and replayed."""
    design, ref = resolve_design(SPEC)
    workload = model.build_workload("counter:txs=2,keys=1")
    result = explore(design, model.Config(workload, 2), SearchSettings())
    assert result.violation is not None
    assert (result.violation.property, result.violation.step) == ("serial-equivalence", 8)
    trace = Trace(ref, workload.spec, 2, result.initial_fingerprint, result.path,
                  result.violation)
    path = tmp_path / "lost-update.trace.json"
    write_trace(trace, path)
    loaded = load_trace(path)
    assert loaded.design.file == str(USER_DESIGN)
    assert replay(loaded, str(USER_DESIGN)).verdict == "reproduced"


def test_a_user_file_named_model_py_does_not_shadow_ours(tmp_path: Path) -> None:
    """User files load under a private module name, so `model.py` is no clash."""
    clash = tmp_path / "model.py"
    clash.write_text(USER_DESIGN.read_text())
    design, _ = resolve_design(f"{clash}:NaiveOcc")
    assert design.name == "naive-occ"
    assert model.builtin_designs()["block-stm"].name == "block-stm"


def test_the_toy_design_in_the_protocol_docstring_runs() -> None:
    """The Design protocol's documented toy is a complete, working design."""
    doc = model.Design.__doc__ or ""
    code = doc[doc.index("import attrs"):]
    source = "\n".join(line.removeprefix(" " * 8) for line in code.splitlines())
    namespace: dict[str, object] = {}
    exec(source, namespace)
    toy = namespace["Toy"]()  # type: ignore[operator]
    result = explore(toy, model.Config(model.build_workload("transfers:txs=3"), 1))
    assert (result.verdict, result.stats.states) == ("pass", 4)
