"""Who moves next: schedules that pick one enabled action per step.

A schedule never sees a design's internals, only the enabled actions and their actors.
Each of its decisions is an integer drawn through a ``Draw`` function, so the same
schedule code runs on hypothesis's data (and is shrunk by it) or on a seeded random
source (the unbiased baseline).

``runs`` is the biased schedule, after the systematic testers' observation that deep
concurrency bugs need few, well-placed preemptions rather than many random ones (PCT,
Burckhardt et al., ASPLOS 2010): the current actor keeps the highest priority and runs
alone for a stretch whose length is log-uniform (1 to 127 steps), then it is demoted
and another actor is promoted. A uniform walk switches actor at almost every step, so it
rarely leaves one worker alone long enough to get deep into a protocol while another
sits paused at exactly the wrong point. ``uniform`` picks among every enabled action
at every step: the baseline the bias is measured against.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Literal, Protocol

import attrs
from hypothesis import strategies as st

import model

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
    """Long runs of one actor, then a switch to another (a PCT-like schedule).

    The drawn segments are the preemptions the shrinker works on. Once they are used
    up, the tail goes on the same way with segments drawn from a seeded source:
    ``tail_seed`` and ``tail_exponent`` (the longest run, as a power of two) are drawn
    from hypothesis like everything else, so a run is always complete whatever the
    shrinker deletes, and a tail of short runs still reaches the fine interleavings a
    few long runs miss. Holds the current actor, its remaining steps and the tail's
    source: mutable, and alive for one run only.
    """

    def __init__(self, segments: Sequence[Segment], tail_seed: int = 0,
                 tail_exponent: int = 0) -> None:
        self._segments = iter(segments)
        self._tail = random.Random(tail_seed)
        self._tail_exponent = tail_exponent
        self._actor: str | None = None
        self._left = 0

    def pick(self, enabled: Sequence[model.Action]) -> int:
        """The current actor's action while its run lasts; otherwise switch first."""
        actors = _actors(enabled)
        if self._actor not in actors or self._left <= 0:
            segment = next(self._segments, None)
            if segment is not None:
                # A drawn switch is a demotion: the actor that just ran is not a
                # candidate, so every switch the shrinker keeps is a real preemption.
                candidates = [a for a in actors if a != self._actor] or actors
            else:
                # The tail may keep the same actor: with runs of one step it is exactly
                # the uniform random walk, which fine-grained races need.
                exponent = self._tail.randint(0, self._tail_exponent)
                segment = Segment(self._tail.randrange(len(actors)), exponent,
                                  self._tail.randrange(1 << exponent))
                candidates = actors
            self._actor = candidates[segment.actor % len(candidates)]
            self._left = segment.length()
        self._left -= 1
        # The first of the actor's actions: designs where one actor has several (a
        # network delivering one of its messages) get the choice as a separate actor's
        # run, so the order of a design's actions decides; Block-STM's workers have one.
        return next(i for i, a in enumerate(enabled) if a.actor == self._actor)


def _actors(enabled: Sequence[model.Action]) -> list[str]:
    seen: list[str] = []
    for action in enabled:
        if action.actor not in seen:
            seen.append(action.actor)
    return seen


MAX_SEGMENTS = 64


def runs_schedules(max_segments: int = MAX_SEGMENTS) -> st.SearchStrategy[RunsSchedule]:
    """``runs`` schedules: the preemptions, then the tail's longest run and its seed.

    Drawn before the run starts, so a shrunk choice sequence is still a whole schedule.
    """
    segment = st.builds(Segment, st.integers(0, 15), st.integers(0, MAX_RUN_EXPONENT),
                        st.integers(0, (1 << MAX_RUN_EXPONENT) - 1))
    return st.builds(RunsSchedule, st.lists(segment, max_size=max_segments),
                     st.integers(0, 2**32 - 1), st.integers(0, MAX_RUN_EXPONENT))


def seeded_draw(seed: int) -> Draw:
    """A ``Draw`` from a seeded pseudo-random source: the same seed, the same decisions."""
    source = random.Random(seed)

    def draw(low: int, high: int) -> int:
        return source.randint(low, high)

    return draw
