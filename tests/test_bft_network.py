"""The explorer-controlled network: canonical in-flight multisets and exact action round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shardcheck import model
from shardcheck.model.network import (
    Message,
    Network,
    apply_fault,
    broadcast,
    deliver_action,
    fault_actions,
    is_fault,
    message_of,
)

actors = st.sampled_from(["m0/r0", "m0/r1", "m1/r0"])
values = st.one_of(st.integers(-2, 3), st.sampled_from(["nil", "T0", "T0.T1"]), st.none())
messages = st.builds(
    Message, actors, actors, st.sampled_from(["prevote", "precommit", "receipt"]),
    st.lists(st.tuples(st.sampled_from(["round", "value", "vr"]), values),
             max_size=3, unique_by=lambda kv: kv[0]).map(tuple))


@given(st.lists(messages, max_size=6), st.randoms(use_true_random=False))
def test_the_order_of_sends_does_not_change_the_state(sent: list[Message], rng) -> None:  # type: ignore[no-untyped-def]
    """Sending the same messages in any order reaches the same fingerprint."""
    shuffled = list(sent)
    rng.shuffle(shuffled)
    a, b = Network().send(*sent), Network().send(*shuffled)
    assert a == b
    assert model.fingerprint(a) == model.fingerprint(b)


@given(st.lists(messages, min_size=1, max_size=6))
def test_delivering_a_message_removes_one_copy(sent: list[Message]) -> None:
    """remove() undoes one send, duplicates included."""
    network = Network().send(*sent, sent[0])
    assert network.remove(sent[0]) == Network().send(*sent)
    assert network.count(sent[0]) == sent.count(sent[0]) + 1


@given(messages)
def test_a_delivery_names_its_message_exactly(message: Message) -> None:
    """deliver_action and message_of are inverse, through JSON too."""
    action = deliver_action(message, writes={"replica"})
    assert action.actor == message.dst
    assert message_of(action) == message
    assert message_of(model.Action.from_json(action.to_json())) == message


def test_faults_are_bounded_by_their_budgets() -> None:
    """A drop and a duplicate each spend one unit of budget; none is offered past it."""
    m = Message("m0/r0", "m0/r1", "prevote", (("round", 0), ("value", "T0")))
    network = Network(drops_left=1, duplicates_left=1).send(m)
    names = [a.name for a in fault_actions(network)]
    assert names == ["drop", "duplicate"]
    duplicated = apply_fault(network, fault_actions(network)[1])
    assert duplicated.count(m) == 2 and duplicated.duplicates_left == 0
    assert [a.name for a in fault_actions(duplicated)] == ["drop"]
    dropped = apply_fault(duplicated, fault_actions(duplicated)[0])
    assert dropped.count(m) == 1 and fault_actions(dropped) == ()
    assert all(is_fault(a) for a in fault_actions(network))
    assert message_of(fault_actions(network)[0]) == m


def test_broadcast_skips_the_sender_and_distinct_lists_each_message_once() -> None:
    """A broadcast reaches everyone else; duplicates are listed once."""
    sent = broadcast("m0/r0", ["m0/r0", "m0/r1", "m0/r2"], "prevote", {"round": 0})
    assert [m.dst for m in sent] == ["m0/r1", "m0/r2"]
    network = Network().send(*sent, sent[0])
    assert network.distinct() == tuple(sorted(sent, key=model.encoding.encode))
    assert network.distinct("m0/r2") == (sent[1],)
    assert network.discard_to("m0/r1").in_flight == (sent[1],)


def test_reserved_payload_keys_are_refused() -> None:
    """A payload cannot shadow the fields a delivery action uses to name its message."""
    with pytest.raises(ValueError, match="reserved"):
        Message("a", "b", "k", (("from", "x"),))
