"""Who moves next: schedules that pick one enabled action per step.

A schedule never sees a design's internals, only the enabled actions and their actors,
and every decision it makes comes from drawn data: hypothesis's, so that the shrinker
minimizes schedules with the same machinery as workloads, or a seeded source for the
unbiased baseline.

``runs`` is the biased schedule, after the systematic testers' observation that deep
concurrency bugs need a few well-placed preemptions more than many random ones (PCT,
Burckhardt et al., ASPLOS 2010): the current actor runs alone for a stretch, then it is
demoted and another actor runs. Each run draws its granularity, the longest stretch it
allows (1 to 127 steps, log-uniform below that), so the same schedule is a random walk
at granularity 0 and leaves one worker alone deep in a protocol at the top. When the
actor that runs has several actions (a replica with messages to receive, a module with
votes in flight), which one it takes is drawn at that step, so the order of deliveries
is fuzzed too; an actor with one action (a Block-STM worker) costs no draw.
``uniform`` picks among every enabled action at every step: the baseline the bias is
measured against (``benchmarks/fuzz_bench.py``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Literal, Protocol

import attrs
from hypothesis import strategies as st

from shardcheck import model

ScheduleKind = Literal["runs", "uniform"]
SCHEDULES: tuple[ScheduleKind, ...] = ("runs", "uniform")

Draw = Callable[[int, int], int]
"""``draw(low, high)``: an integer in ``[low, high]``; the one source of every decision."""

MAX_RUN_EXPONENT = 6
"""Runs last 1 to 2**(MAX_RUN_EXPONENT + 1) - 1 steps before a switch."""


class Schedule(Protocol):
    """Picks the index of the next action among the enabled ones."""

    def pick(self, enabled: Sequence[model.Action]) -> int:
        """An index into ``enabled`` (which is never empty)."""


class UniformSchedule:
    """Every step is an independent choice among all enabled actions."""

    def __init__(self, draw: Draw) -> None:
        self._draw = draw

    def pick(self, enabled: Sequence[model.Action]) -> int:
        """Any enabled action, each as likely as the next."""
        return self._draw(0, len(enabled) - 1) if len(enabled) > 1 else 0


@attrs.frozen
class Segment:
    """One preemption: switch to the ``actor``-th other actor and run it for a while.

    The actor index wraps around the actors enabled at the switch; the run lasts
    ``2**exponent + offset mod 2**exponent`` steps, so lengths are log-uniform. All
    three shrink towards 0: switch to the next actor in order, after one step.
    """

    actor: int
    exponent: int
    offset: int

    def length(self) -> int:
        """How many steps the actor runs before the next switch."""
        return (1 << self.exponent) + self.offset % (1 << self.exponent)


class RunsSchedule:
    """Runs of one actor, then a switch to another (a PCT-like schedule).

    Every switch and every run length comes from a drawn segment, so the shrinker
    minimizes the schedule like any other data. Once the segments are used up the
    schedule is fair and deterministic, one step per actor in turn: a run always ends,
    and whatever the shrinker deletes leaves a complete schedule, never a truncated one.
    Holds the current actor and its remaining steps: mutable, alive for one run only.
    """

    def __init__(self, segments: Sequence[Segment], fair_after: int | None = None,
                 choose: Draw | None = None) -> None:
        self._segments = iter(segments)
        self._choose = choose
        self._actor: str | None = None
        self._left = 0
        self._fair = False
        self._fair_after = fair_after
        self._steps = 0

    def choosing_with(self, choose: Draw) -> RunsSchedule:
        """This schedule, drawing from ``choose`` which action an actor with several
        takes (it takes the first without one)."""
        self._choose = choose
        return self

    def pick(self, enabled: Sequence[model.Action]) -> int:
        """The current actor's action while its run lasts; otherwise switch first."""
        actors = _actors(enabled)
        self._steps += 1
        if self._fair or (self._fair_after is not None and self._steps > self._fair_after):
            # Past ``fair_after`` steps the segments stop: long runs that kept passing
            # over one worker could otherwise starve it until the step bound, and a
            # correct design would be blamed for not terminating.
            self._fair = True
            self._actor = _next_in_turn(actors, self._actor)
        elif self._actor not in actors or self._left <= 0:
            segment = next(self._segments, None)
            if segment is None:
                self._fair = True
                self._actor = _next_in_turn(actors, self._actor)
            else:
                # A switch is a demotion: the actor that just ran is not a candidate,
                # so every switch the shrinker keeps is a real preemption.
                others = [a for a in actors if a != self._actor] or actors
                self._actor = others[segment.actor % len(others)]
                self._left = segment.length()
        self._left -= 1
        mine = [i for i, a in enumerate(enabled) if a.actor == self._actor]
        if len(mine) == 1 or self._choose is None:
            return mine[0]
        # Drawn only where there is a choice, and shrinking towards the actor's first
        # action, so the shrinker keeps a delivery order only where the bug needs it.
        return mine[self._choose(0, len(mine) - 1)]


def _next_in_turn(actors: Sequence[str], current: str | None) -> str:
    if current in actors:
        return actors[(actors.index(current) + 1) % len(actors)]
    return actors[0]


def _actors(enabled: Sequence[model.Action]) -> list[str]:
    seen: list[str] = []
    for action in enabled:
        if action.actor not in seen:
            seen.append(action.actor)
    return seen


MAX_SEGMENTS = 255


def runs_schedules(max_segments: int = MAX_SEGMENTS,
                   fair_after: int | None = None) -> st.SearchStrategy[RunsSchedule]:
    """``runs`` schedules, drawn before the run starts so that a shrunk choice sequence
    is still a whole schedule.

    First how many segments, then the run's granularity (the longest run it allows, as
    a power of two), then the segments. A granularity of 0 gives runs of one step: a
    random walk, which the fine-grained races need; larger ones leave one actor alone
    long enough to get deep into the protocol, which the others need.
    """

    @st.composite
    def build(draw: st.DrawFn) -> RunsSchedule:
        count = draw(st.integers(0, max_segments))
        granularity = draw(st.integers(0, MAX_RUN_EXPONENT))
        # One integer per segment, its bits unpacked: a third of the choices for the
        # shrinker to work through, and the low bits of a wide draw vary more than
        # three narrow draws, which hypothesis pulls towards their bounds.
        packed = draw(st.lists(st.integers(0, (1 << 16) - 1), min_size=count,
                               max_size=count))
        return RunsSchedule(tuple(Segment(value & 15, (value >> 4) % (granularity + 1),
                                          value >> 8) for value in packed), fair_after)

    return build()


def seeded_draw(seed: int) -> Draw:
    """A ``Draw`` from a seeded pseudo-random source: the same seed, the same decisions."""
    source = random.Random(seed)

    def draw(low: int, high: int) -> int:
        return source.randint(low, high)

    return draw
