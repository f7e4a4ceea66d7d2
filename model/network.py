"""A network the explorer controls: the messages in flight are part of the state.

A protocol over an asynchronous network is modelled by keeping every message that has
been sent and not yet received in a ``Network`` value inside the design's state. Nothing
about the network is decided by the model itself; every choice is an action:

- **deliver**: any message in flight may be delivered next, so reordering needs no
  action of its own. A delivery is the *receiving* actor's action (``deliver_action``),
  with the message in its label, so a timeline shows it in the receiver's column; what
  the receiver sends in reply shows in the step's changes (``in_flight +Message(...)``).
- **drop** and **duplicate**: actions of the actor ``network``, each bounded by a budget
  carried in the state (``drops_left``, ``duplicates_left``), so exploration stays
  finite and a configuration says how unreliable its network is. A design's own fault
  on a message (two-phase-commit's replay) is built the same way, by ``network_action``,
  and read back by ``message_of``.

The messages in flight form a multiset kept as a tuple sorted by each message's
canonical encoding (a duplicate appears twice), so two runs that sent the same messages
in different orders reach the same state and the same fingerprint.

Footprints: a message is the shared object ``msg:<src>><dst>:<kind>:<payload>``
(``message_object``) and every receiver has an inbox object ``inbox:<dst>``
(``inbox_object``). Delivering, dropping or duplicating a message writes both; a step
that sends must write the inbox of every receiver it sends to (and may add the message
objects); the budgets are the objects ``net:drops`` and ``net:duplicates``. Actions on
different receivers' messages are therefore independent, which is what a partial-order
reduction needs to know, and a send is never independent of a fault on its receiver's
messages, which it can enable.

A typical design keeps ``network: Network`` in its state and does::

    def actions(self, state):
        # the receiver's state, and the inboxes of everyone its reply may reach
        own = tuple(deliver_action(m, writes={f"replica:{m.dst}",
                                              *map(inbox_object, peers(m.dst))})
                    for m in state.network.distinct())
        return own + fault_actions(state.network)

    def step(self, state, action):
        if is_fault(action):
            return attrs.evolve(state, network=apply_fault(state.network, action))
        message = message_of(action)
        network = state.network.remove(message)
        ...  # the receiver handles ``message`` and may ``network.send(*replies)``
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping

import attrs

from shardcheck.model.api import Action, ParamValue
from shardcheck.model.encoding import encode

NETWORK_ACTOR = "network"
"""The actor that drops and duplicates messages."""

DELIVER, DROP, DUPLICATE = "deliver", "drop", "duplicate"
"""The action names this module gives; ``deliver`` is the receiver's, the others the network's."""

DROPS_OBJECT, DUPLICATES_OBJECT = "net:drops", "net:duplicates"
"""Footprint objects of the two fault budgets."""

_RESERVED = frozenset({"msg", "from", "to"})


def _payload(
    items: Iterable[tuple[str, ParamValue]] | Mapping[str, ParamValue],
) -> tuple[tuple[str, ParamValue], ...]:
    pairs = tuple(items.items() if isinstance(items, Mapping) else items)
    for key, _ in pairs:
        if key in _RESERVED:
            raise ValueError(f"message payload key {key!r} is reserved ({sorted(_RESERVED)})")
    return pairs


@attrs.frozen(repr=False)
class Message:
    """One message: who sent it, to whom, its kind and its payload (small values only).

    The payload keeps the order it is given in (it reads better in timelines); two
    messages are equal exactly when every field is, so a sender that means "the same
    message" must build its payload in the same order.
    """

    src: str
    dst: str
    kind: str
    payload: tuple[tuple[str, ParamValue], ...] = attrs.field(default=(), converter=_payload)

    def get(self, key: str) -> ParamValue:
        """The value of one payload field."""
        for k, v in self.payload:
            if k == key:
                return v
        raise KeyError(f"message {self.kind} from {self.src} has no field {key!r}")

    def label(self) -> str:
        """``kind src->dst k=v ...`` for people."""
        fields = " ".join(f"{k}={v}" for k, v in self.payload)
        return f"{self.kind} {self.src}->{self.dst}" + (f" {fields}" if fields else "")

    def __repr__(self) -> str:
        # Timelines print a state's changes by repr: the label is what a reader wants.
        return f"<{self.label()}>"


def message_object(message: Message) -> str:
    """The footprint object standing for one message (in flight or not)."""
    fields = ",".join(f"{k}={v}" for k, v in message.payload)
    return f"msg:{message.src}>{message.dst}:{message.kind}:{fields}"


def inbox_object(dst: str) -> str:
    """The footprint object standing for every message in flight to ``dst``."""
    return f"inbox:{dst}"


@attrs.frozen
class Network:
    """The messages in flight (a sorted multiset) and the remaining fault budgets."""

    in_flight: tuple[Message, ...] = ()
    drops_left: int = 0
    duplicates_left: int = 0

    def send(self, *messages: Message) -> Network:
        """The network with ``messages`` added to those in flight."""
        if not messages:
            return self
        flight = list(self.in_flight)
        for message in messages:
            bisect.insort(flight, message, key=encode)
        return attrs.evolve(self, in_flight=tuple(flight))

    def remove(self, message: Message) -> Network:
        """The network with one copy of ``message`` taken out (it was delivered)."""
        flight = list(self.in_flight)
        try:
            flight.remove(message)
        except ValueError:
            raise ValueError(f"{message.label()} is not in flight") from None
        return attrs.evolve(self, in_flight=tuple(flight))

    def discard_to(self, dst: str) -> Network:
        """The network without any message addressed to ``dst`` (a crashed or halted actor).

        Such messages can never change anything again; keeping them would only split one
        state into many that differ by what lies undelivered at a receiver that is gone.
        """
        kept = tuple(m for m in self.in_flight if m.dst != dst)
        return self if len(kept) == len(self.in_flight) else attrs.evolve(self, in_flight=kept)

    def distinct(self, dst: str | None = None) -> tuple[Message, ...]:
        """Each message in flight once (to ``dst`` only, when given), in canonical order."""
        out: list[Message] = []
        for message in self.in_flight:
            if (dst is None or message.dst == dst) and (not out or out[-1] != message):
                out.append(message)
        return tuple(out)

    def count(self, message: Message) -> int:
        """How many copies of ``message`` are in flight."""
        return self.in_flight.count(message)


def broadcast(src: str, dsts: Iterable[str], kind: str,
              payload: Iterable[tuple[str, ParamValue]] | Mapping[str, ParamValue] = (),
              ) -> tuple[Message, ...]:
    """One message of ``kind`` from ``src`` to each of ``dsts`` except ``src`` itself."""
    fields = _payload(payload)
    return tuple(Message(src, dst, kind, fields) for dst in dsts if dst != src)


def deliver_action(message: Message, reads: Iterable[str] = (),
                   writes: Iterable[str] = ()) -> Action:
    """The receiver's action that takes ``message`` off the network and handles it.

    ``reads`` and ``writes`` are the receiver's own footprint (its state, what its reply
    sends); the message's own object is added.
    """
    objs = {message_object(message), inbox_object(message.dst)}
    return Action(message.dst, DELIVER,
                  (("msg", message.kind), ("from", message.src), *message.payload),
                  frozenset(reads) | objs, frozenset(writes) | objs)


def message_of(action: Action) -> Message:
    """The message a ``deliver`` action, or any ``network_action``, names."""
    params = dict(action.params)
    kind, src = params.pop("msg"), params.pop("from")
    dst = params.pop("to") if action.name != DELIVER else action.actor
    payload = tuple((k, v) for k, v in action.params if k not in _RESERVED)
    return Message(str(src), str(dst), str(kind), payload)


def network_action(name: str, message: Message, reads: Iterable[str] = (),
                   writes: Iterable[str] = ()) -> Action:
    """An action of the actor ``network`` on ``message`` (a drop, a duplicate, or a
    design's own fault such as a replay): its parameters name the message and its
    receiver (``msg=``, ``from=``, ``to=``, then the payload), so ``message_of`` gives the
    message back. ``reads`` and ``writes`` are its whole footprint."""
    return Action(NETWORK_ACTOR, name,
                  (("msg", message.kind), ("from", message.src), ("to", message.dst),
                   *message.payload), frozenset(reads), frozenset(writes))


def fault_actions(network: Network) -> tuple[Action, ...]:
    """The network's own actions: drop or duplicate a message, while budgets last."""
    out: list[Action] = []
    for name, left, budget in ((DROP, network.drops_left, DROPS_OBJECT),
                               (DUPLICATE, network.duplicates_left, DUPLICATES_OBJECT)):
        if left <= 0:
            continue
        for message in network.distinct():
            objs = frozenset({budget, message_object(message), inbox_object(message.dst)})
            out.append(network_action(name, message, objs, objs))
    return tuple(out)


def is_fault(action: Action) -> bool:
    """Whether ``action`` is one of ``fault_actions``."""
    return action.actor == NETWORK_ACTOR and action.name in (DROP, DUPLICATE)


def apply_fault(network: Network, action: Action) -> Network:
    """The network after a drop or duplicate action."""
    message = message_of(action)
    if action.name == DROP:
        if network.drops_left <= 0:
            raise ValueError("no drop budget left")
        return attrs.evolve(network.remove(message), drops_left=network.drops_left - 1)
    if action.name == DUPLICATE:
        if network.duplicates_left <= 0:
            raise ValueError("no duplicate budget left")
        if network.count(message) == 0:
            raise ValueError(f"{message.label()} is not in flight")
        return attrs.evolve(network.send(message), duplicates_left=network.duplicates_left - 1)
    raise ValueError(f"{action.label()} is not a network fault")
