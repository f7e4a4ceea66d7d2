"""Calling a design's code: whatever goes wrong in it is reported as the design's error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from checker.errors import USER_CODE_FAILURES, DesignBug


def call_design(who: str, what: str, function: Callable[..., Any], *args: Any) -> Any:
    """Call ``function(*args)``; a failure becomes a ``DesignBug`` naming ``who`` and ``what``."""
    try:
        return function(*args)
    except USER_CODE_FAILURES as exc:
        raise DesignBug(f"{who}: {what} raised {type(exc).__name__}: {exc}") from None
