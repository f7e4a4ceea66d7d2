"""Shared test setup: hypothesis is derandomized so every run of the suite is the same."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent

settings.register_profile(
    "shardcheck",
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("shardcheck")

USER_DESIGN = ROOT / "tests" / "designs" / "naive_occ.py"


@pytest.fixture(autouse=True, scope="session")
def _the_repository_stays_clean() -> Iterator[None]:
    """No test leaves a file in the repository's top folder (a trace written to the
    current directory, say): tests write into their own tmp_path."""
    before = {p.name for p in ROOT.iterdir()}
    yield
    left = sorted({p.name for p in ROOT.iterdir()} - before)
    assert not left, f"tests left {left} in {ROOT}"


@pytest.fixture(autouse=True)
def _no_registered_workload_outlives_its_test() -> Iterator[None]:
    """A workload a test's design file registers (model.register_workload) is gone after
    the test, so that no other test sees it, in whatever order they run."""
    from shardcheck import model

    yield
    for name in set(model.GENERATORS) - model.BUILTIN_GENERATORS:
        del model.GENERATORS[name]
