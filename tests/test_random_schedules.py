"""Beyond exhaustive reach: random schedules of bigger blocks still end as serial execution."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shardcheck import model
from shardcheck.checker.design.properties import Judge

WORKLOADS = st.one_of(
    st.builds(lambda n, a, seed: f"transfers:txs={n},accounts={a},seed={seed},amount=0",
              st.integers(3, 8), st.integers(2, 4), st.integers(0, 50)),
    st.builds(lambda n, k: f"counter:txs={n},keys={k}", st.integers(3, 8), st.integers(1, 3)),
    st.builds(lambda n: f"chain:txs={n}", st.integers(3, 6)),
    st.builds(lambda n, mode: f"condwrite:txs={n},mode={mode}", st.integers(3, 6),
              st.sampled_from(["appear", "vanish"])),
    st.builds(lambda n, k: f"registry:txs={n},names={k}", st.integers(3, 6), st.integers(1, 2)),
    st.builds(lambda n, i: f"audit:txs={n},insert={i}", st.integers(3, 6), st.integers(0, 1)),
)


@settings(max_examples=100)
@given(st.data(), WORKLOADS, st.integers(2, 4))
def test_every_random_schedule_of_block_stm_ends_as_serial_execution(
    data: st.DataObject, spec: str, workers: int
) -> None:
    """A random schedule (long runs of one worker, then a switch) finishes, and every
    property holds on the way and at the end."""
    design = model.builtin_designs()["block-stm"]
    config = model.Config(model.build_workload(spec), workers)
    judge = Judge(design, config, step_bound=20_000)
    state: Any = design.initial(config)
    depth = 0
    current = 0
    switch_every = data.draw(st.sampled_from([2, 4, 10, 30]))
    while not design.is_terminal(state):
        actions = design.actions(state)
        assert actions, "deadlock"
        # Runs of one worker with occasional switches reach deep interleavings that a
        # uniform choice at every step almost never produces.
        if data.draw(st.integers(0, switch_every - 1)) == 0 or current >= len(actions):
            current = data.draw(st.integers(0, len(actions) - 1))
        state = design.step(state, actions[current])
        depth += 1
        violation = judge.check_state(state, depth, design.is_terminal(state))
        assert violation is None, violation
    assert depth < 20_000
