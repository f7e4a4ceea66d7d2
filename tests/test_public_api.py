"""`import shardcheck` is the public API: every name it lists is there and is what it says."""

from __future__ import annotations

import shardcheck
from shardcheck import checker, model


def test_every_public_name_resolves_to_its_home() -> None:
    """Model names are the model's values, checker names the checker's functions."""
    for name in shardcheck.__all__:
        value = getattr(shardcheck, name)
        home = model if name in model.__all__ else checker
        assert value is getattr(home, name), name


def test_dir_lists_the_public_names_before_they_are_imported() -> None:
    """Tab completion shows the whole API."""
    assert set(shardcheck.__all__) <= set(dir(shardcheck))
    assert set(checker.__all__) <= set(dir(checker))
