"""Shared test setup: hypothesis is derandomized so every run of the suite is the same."""

from __future__ import annotations

from pathlib import Path

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
