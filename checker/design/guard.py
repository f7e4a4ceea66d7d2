"""Calling a design's code: whatever goes wrong in it is reported as the design's error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shardcheck import model
from shardcheck.checker.errors import USER_CODE_FAILURES, BadInput, DesignBug


def call_design(who: str, what: str, function: Callable[..., Any], *args: Any) -> Any:
    """Call ``function(*args)``; a failure becomes a ``DesignBug`` naming ``who`` and ``what``.

    The one exception: ``initial()`` refusing the workload with ``model.WorkloadError``
    (a cross-module design given a block with no cross-module transfer, say) is the
    user's input, not the design's bug.
    """
    try:
        return function(*args)
    except model.WorkloadError as exc:
        if what == "initial()":
            raise BadInput(f"{who} cannot run this workload: {exc}") from None
        raise DesignBug(f"{who}: {what} raised {type(exc).__name__}: {exc}") from None
    except USER_CODE_FAILURES as exc:
        raise DesignBug(f"{who}: {what} raised {type(exc).__name__}: {exc}") from None
