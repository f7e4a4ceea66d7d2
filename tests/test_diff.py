"""What an action changed, as timelines show it."""

from __future__ import annotations

from shardcheck import model
from shardcheck.checker.design.diff import changes


def test_a_counter_increment_is_shown_as_old_and_new_value() -> None:
    """A Block-STM fetch-and-increment shows the index moving, not the program counter."""
    design = model.builtin_designs()["block-stm"]
    state = design.initial(model.Config(model.build_workload("counter:txs=2"), 1))
    names = []
    for _ in range(5):
        action = design.actions(state)[0]
        before, state = state, design.step(state, action)
        names.append((action.name, changes(before, state)))
    assert names[4] == ("execution_idx.fetch_add",
                        ("execution_idx: 0 → 1", "workers[0].target: -1 → 0"))
    assert names[0][1] == ()


def test_growing_sequences_show_what_was_added() -> None:
    """Entries added to a tuple appear as +entry rather than a whole new tuple."""
    assert changes((("a", 1),), (("a", 1), ("b", 2))) == ("+('b', 2)",)
