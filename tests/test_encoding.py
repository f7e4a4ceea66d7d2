"""Fingerprints: canonical, stable across processes, and never Python's salted hash()."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import NamedTuple

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shardcheck import model
from shardcheck.model.encoding import Constant, encode


@attrs.frozen
class Pair:
    """A small attrs value for encoding tests."""

    left: object
    right: object


def test_a_fingerprint_is_pinned_to_its_value() -> None:
    """The fingerprint of a fixed value never changes (traces depend on it)."""
    value = Pair((1, "a", None, True), frozenset({"x", "y"}))
    assert model.fingerprint(value) == model.fingerprint(
        Pair((1, "a", None, True), frozenset({"y", "x"})))
    assert encode(value) == "Pair((1,'a',None,True,),{'x','y'},)"
    assert model.fingerprint(value) == "cac166f32b602e8818c359892715a66e"


def test_fingerprints_agree_across_processes_with_different_hash_seeds() -> None:
    """Two interpreters with different PYTHONHASHSEED give the same fingerprints."""
    code = ("from shardcheck import model; w = model.build_workload('transfers:txs=3,accounts=3'); "
            "d = model.builtin_designs()['block-stm']; "
            "s = d.initial(model.Config(w, 2)); "
            "print(model.fingerprint(s), model.fingerprint(frozenset({'a', 'b', 'c', 'd'})))")
    outputs = set()
    for seed in ("1", "2", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        outputs.add(subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                   capture_output=True, text=True).stdout)
    assert len(outputs) == 1


def test_booleans_and_integers_encode_differently() -> None:
    """True and 1 are equal in Python but must not share a fingerprint."""
    assert model.fingerprint((True,)) != model.fingerprint((1,))


def test_a_constant_encodes_as_its_digest() -> None:
    """Carrying the block in a Constant costs one digest, and equal blocks are equal."""
    block = model.build_workload("counter:txs=3").block
    assert Constant(block) == Constant(model.build_workload("counter:txs=3").block)
    assert encode(Constant(block)) == "#" + model.fingerprint(block)


def test_unsupported_values_are_refused_with_a_reason() -> None:
    """A dict in a state would make fingerprints depend on insertion order: refused."""
    with pytest.raises(TypeError, match="cannot encode a dict"):
        model.fingerprint(({"a": 1},))


class Named(NamedTuple):
    """A NamedTuple part: its fields name the path."""

    first: object
    second: object


def test_the_part_that_cannot_be_encoded_is_named_by_its_path() -> None:
    """What a design's author needs to find it: the path from the state, and the value."""
    assert model.unencodable(Pair((1, ("a", [2])), None)) == ("state.left[1][1]", [2])
    assert model.unencodable(Pair(Named(1, {3}), 0)) == ("state.left.second", {3})
    assert model.unencodable(frozenset({1, 2.5, "x"})) == ("state{...}", 2.5)
    assert model.unencodable(Pair(object, 1)) == ("state.left", object)
    assert model.unencodable(Pair((1, "a", None, True), frozenset({"x"}))) is None
    assert model.unencodable(Constant((1, 2))) is None


atoms = st.one_of(st.integers(), st.text(max_size=4), st.none())
values = st.recursive(atoms, lambda inner: st.one_of(
    st.tuples(inner, inner), st.lists(inner, max_size=3).map(tuple),
    st.frozensets(atoms, max_size=3)), max_leaves=12)


@given(values, values)
def test_the_encoding_is_injective(a: object, b: object) -> None:
    """Equal values have the same canonical text, and different values different texts."""
    assert (encode(a) == encode(b)) == (a == b)


mixed = st.recursive(
    st.one_of(atoms, st.floats(allow_nan=False), st.builds(object)),
    lambda inner: st.one_of(st.tuples(inner, inner), st.lists(inner, max_size=3),
                            st.builds(Pair, inner, inner), st.builds(Named, inner, inner),
                            st.frozensets(st.one_of(atoms, st.floats(allow_nan=False)),
                                          max_size=3)),
    max_leaves=8)


@given(mixed)
def test_a_part_is_named_exactly_when_the_value_cannot_be_encoded(value: object) -> None:
    """``unencodable`` walks the value as the encoder does: it finds a part exactly when
    encoding fails."""
    try:
        encode(value)
    except TypeError:
        assert model.unencodable(value) is not None
    else:
        assert model.unencodable(value) is None
