"""A step of a run: the action taken and the fingerprint of the state it leads to."""

from __future__ import annotations

import attrs

from shardcheck import model


@attrs.frozen
class Step:
    """One action of a path and the fingerprint of the state it leads to.

    ``changes`` describes what the action changed, for people; it is not part of the
    record (traces do not store it, and it plays no part in equality).
    """

    action: model.Action
    fingerprint: str
    changes: tuple[str, ...] = attrs.field(default=(), eq=False)
