"""Workload generators, chosen by a spec string such as ``transfers:txs=4,accounts=2``.

Each generator builds a block of transactions in the model's language and the store
they start from. Generation is deterministic: where a generator makes choices
(which accounts a transfer touches) they come from a BLAKE2b stream keyed by the
``seed`` parameter, never from a random-number generator, so a spec means the same
block on every machine.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Callable, Mapping

import attrs

from shardcheck.model.api import Workload
from shardcheck.model.language import (
    BinOp,
    Const,
    Exists,
    Let,
    Read,
    Require,
    Scan,
    Stmt,
    Transaction,
    Var,
    Write,
    WriteIf,
    block_keys,
)
from shardcheck.model.store import Store

MAX_TRANSACTIONS = 64


class WorkloadError(ValueError):
    """A workload spec is malformed or names something that does not exist."""


@attrs.frozen
class Param:
    """One parameter of a generator: its default, meaning and allowed values."""

    name: str
    default: int | str
    description: str
    minimum: int = 0
    maximum: int = 1_000_000
    choices: tuple[str, ...] = ()


@attrs.frozen
class Generator:
    """A named workload generator."""

    name: str
    summary: str
    params: tuple[Param, ...]
    build: Callable[[Mapping[str, int | str]], tuple[tuple[Transaction, ...], Store]] = attrs.field(
        eq=False
    )

    def usage(self) -> str:
        """``name:p=default,...`` for help texts."""
        args = ",".join(f"{p.name}={p.default}" for p in self.params)
        return f"{self.name}:{args}"


def _choice(seed: int, *labels: object, modulo: int) -> int:
    """A deterministic pseudo-random integer in ``[0, modulo)`` for the given labels."""
    text = ":".join(str(x) for x in (seed, *labels)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") % modulo


def var(name: str) -> Var:
    """A variable reference (short for readable programs)."""
    return Var(name)


def const(value: int) -> Const:
    """An integer literal (short for readable programs)."""
    return Const(value)


def _owners(keys: list[str], modules: int) -> dict[str, str]:
    return {key: f"m{i % modules}" for i, key in enumerate(keys)}


def _transfers(p: Mapping[str, int | str]) -> tuple[tuple[Transaction, ...], Store]:
    txs, accounts, seed = int(p["txs"]), int(p["accounts"]), int(p["seed"])
    balance, amount = int(p["balance"]), int(p["amount"])
    keys = [f"acct{a}" for a in range(accounts)]
    block = []
    for i in range(txs):
        src = _choice(seed, i, "src", modulo=accounts)
        dst = (src + 1 + _choice(seed, i, "dst", modulo=accounts - 1)) % accounts
        amt = amount if amount > 0 else 1 + _choice(seed, i, "amount", modulo=max(balance, 1))
        a, b = keys[src], keys[dst]
        program: tuple[Stmt, ...] = (
            Read("src", a),
            Read("dst", b),
            Require(BinOp(">=", var("src"), const(amt)), f"insufficient balance in {a}"),
            Write(a, BinOp("-", var("src"), const(amt))),
            Write(b, BinOp("+", var("dst"), const(amt))),
        )
        block.append(Transaction(i, f"transfer {amt} {a}->{b}", program))
    store = Store({k: balance for k in keys}, _owners(keys, int(p["modules"])))
    return tuple(block), store


def _xtransfers(p: Mapping[str, int | str]) -> tuple[tuple[Transaction, ...], Store]:
    modules, accounts = int(p["modules"]), int(p["accounts"])
    xtxs, txs, amount = int(p["xtxs"]), int(p["txs"]), int(p["amount"])
    if xtxs + txs == 0:
        raise WorkloadError("workload xtransfers: xtxs=0 and txs=0 leave the block empty; "
                            "set xtxs=1")
    sends = int(p["sends"])
    if (xtxs + txs) * sends > MAX_TRANSACTIONS:
        raise WorkloadError(f"workload xtransfers: (xtxs + txs) * sends must be at most "
                            f"{MAX_TRANSACTIONS}, got {(xtxs + txs) * sends}")
    if xtxs and modules < 2:
        raise WorkloadError("workload xtransfers: a cross-module transfer needs modules=2 "
                            "or more")
    if txs and accounts < 2:
        raise WorkloadError("workload xtransfers: a local transfer needs two accounts in its "
                            "module; set accounts=2")
    if int(p["reshard"]) and accounts < 2:
        raise WorkloadError(f"workload xtransfers: reshard splits m{modules - 1} in two, so it "
                            "needs two accounts per module; set accounts=2")
    # The k-th account of module m is acct{m + modules*k}: round robin, as _owners spreads.
    keys = [f"acct{j}" for j in range(modules * accounts)]

    def account(module: int, k: int) -> str:
        return keys[module + modules * (k % accounts)]

    block: list[Transaction] = []
    for i in range(xtxs + txs):
        if i < xtxs:
            # Module i mod M pays the next module; the payee is the module's last account,
            # the one a reshard moves to the new module.
            src_m, dst_m = i % modules, (i + 1) % modules
            a = account(src_m, i // modules)
            b = account(dst_m, accounts - 1 - (i // modules) % accounts)
        else:
            j = i - xtxs
            src_m = dst_m = j % modules
            a, b = account(src_m, j // modules), account(src_m, j // modules + 1)
        program: tuple[Stmt, ...] = (
            Read("src", a),
            Read("dst", b),
            Require(BinOp(">=", var("src"), const(amount)), f"insufficient balance in {a}"),
            Write(a, BinOp("-", var("src"), const(amount))),
            Write(b, BinOp("+", var("dst"), const(amount))),
        )
        # A sender's repeats follow each other, so their block order is their nonce order.
        for _ in range(sends):
            block.append(Transaction(len(block), f"move {amount} {a}@m{src_m} -> {b}@m{dst_m}",
                                     program))
    store = Store({k: int(p["balance"]) for k in keys}, _owners(keys, modules))
    return tuple(block), store


def _counter(p: Mapping[str, int | str]) -> tuple[tuple[Transaction, ...], Store]:
    txs, nkeys = int(p["txs"]), int(p["keys"])
    keys = [f"ctr{k}" for k in range(nkeys)]
    block = []
    for i in range(txs):
        key = keys[i % nkeys]
        program = (Read("x", key), Write(key, BinOp("+", var("x"), const(1))))
        block.append(Transaction(i, f"increment {key}", program))
    store = Store({k: 0 for k in keys}, _owners(keys, int(p["modules"])))
    return tuple(block), store


def _chain(p: Mapping[str, int | str]) -> tuple[tuple[Transaction, ...], Store]:
    txs = int(p["txs"])
    block = []
    for i in range(txs):
        src, dst = f"k{i}", f"k{i + 1}"
        program = (Read("x", src), Write(dst, BinOp("+", var("x"), const(1))))
        block.append(Transaction(i, f"{dst} := {src} + 1", program))
    return tuple(block), Store({"k0": 0})


def _condwrite(p: Mapping[str, int | str]) -> tuple[tuple[Transaction, ...], Store]:
    txs, mode = int(p["txs"]), str(p["mode"])
    # "appear": a re-execution writes a key its first incarnation did not;
    # "vanish": a re-execution stops writing a key the first incarnation wrote.
    trigger = 1 if mode == "appear" else 0
    block = [Transaction(0, "flag := 1", (Write("flag", const(1)),))]
    for i in range(1, txs):
        if i % 2 == 1:
            program: tuple[Stmt, ...] = (
                Read("f", "flag"),
                WriteIf(BinOp("==", var("f"), const(trigger)), f"k{i}",
                        BinOp("+", var("f"), const(5))),
            )
            label = f"if flag == {trigger}: k{i} := flag + 5"
        else:
            program = (Read("x", f"k{i - 1}"), Write(f"out{i}", BinOp("+", var("x"), const(1))))
            label = f"out{i} := k{i - 1} + 1"
        block.append(Transaction(i, label, program))
    return tuple(block), Store({"flag": 0})


def _registry(p: Mapping[str, int | str]) -> tuple[tuple[Transaction, ...], Store]:
    txs, names = int(p["txs"]), int(p["names"])
    block = []
    for i in range(txs):
        name = f"name{i % names}"
        program = (
            Exists("taken", name),
            Require(BinOp("==", var("taken"), const(0)), f"{name} is already registered"),
            Write(name, const(i + 1)),
        )
        block.append(Transaction(i, f"register {name} for owner {i + 1}", program))
    return tuple(block), Store()


def _audit(p: Mapping[str, int | str]) -> tuple[tuple[Transaction, ...], Store]:
    txs, accounts, insert = int(p["txs"]), int(p["accounts"]), int(p["insert"])
    keys = [f"acct/{a}" for a in range(accounts)]
    block = []
    for i in range(txs):
        if i % 2 == 1:
            program: tuple[Stmt, ...] = (Scan("total", "acct/"), Write("audit", var("total")))
            label = "audit := sum(acct/*)"
        elif insert:
            key = f"acct/new{i}"
            program = (Write(key, const(1)),)
            label = f"open {key} with 1"
        else:
            key = keys[(i // 2) % accounts]
            program = (Read("x", key), Let("y", BinOp("+", var("x"), const(1))),
                       Write(key, var("y")))
            label = f"deposit 1 into {key}"
        block.append(Transaction(i, label, program))
    return tuple(block), Store({k: 10 for k in keys})


def _bank(p: Mapping[str, int | str]) -> tuple[tuple[Transaction, ...], Store]:
    txs, accounts, balance = int(p["txs"]), int(p["accounts"]), int(p["balance"])
    keys = [f"acct{a}" for a in range(accounts)]
    block = []
    for i in range(txs):
        a, b, amt = keys[i % accounts], keys[(i + 1) % accounts], 1 + i % 3
        program: tuple[Stmt, ...] = (
            Read("src", a),
            Read("dst", b),
            Write(a, BinOp("-", var("src"), const(amt))),
            Write(b, BinOp("+", var("dst"), const(amt))),
        )
        block.append(Transaction(i, f"transfer {amt} {a}->{b}", program))
    return tuple(block), Store({k: balance for k in keys})


def _bft(p: Mapping[str, int | str]) -> tuple[tuple[Transaction, ...], Store]:
    replicas, f = int(p["replicas"]), int(p["f"])
    byzantine = int(p["byzantine"])
    if replicas != 3 * f + 1:
        raise WorkloadError(f"workload bft: replicas must be 3f + 1 = {3 * f + 1} for f={f}, "
                            f"got {replicas}; set replicas={3 * f + 1} or f to match")
    # More faults than f break Tendermint's assumption: allowed on purpose (the design's
    # notes say a violation is then expected), but a module needs an honest replica.
    if byzantine >= replicas:
        raise WorkloadError(f"workload bft: byzantine={byzantine} leaves no honest replica of "
                            f"{replicas}; set byzantine to at most {replicas - 1}")
    if int(p["drops"]) or int(p["duplicates"]):
        raise WorkloadError("workload bft: drops and duplicates are not modelled: replicas act "
                            "on any subset of the messages sent, which covers a lost message, "
                            "and a copy is the same message; leave them at 0")
    modules = int(p["modules"])
    keys = [f"m{m}/x" for m in range(modules)]
    block = []
    for i in range(int(p["txs"])):
        # Each transaction appends its digit to its module's key, so the order a block
        # executes in shows in the state root.
        key = keys[i % modules]
        program = (Read("x", key),
                   Write(key, BinOp("+", BinOp("*", var("x"), const(10)), const(i + 1))))
        block.append(Transaction(i, f"{key} := {key}*10 + {i + 1}", program))
    return tuple(block), Store({k: 0 for k in keys}, {k: k.split("/")[0] for k in keys})


_TXS = Param("txs", 4, "transactions in the block", 1, MAX_TRANSACTIONS)
_MODULES = Param("modules", 1, "modules the keys are spread over (round robin)", 1, 64)

GENERATORS: dict[str, Generator] = {
    g.name: g
    for g in (
        Generator(
            "transfers",
            "peer-to-peer transfers that revert on insufficient balance",
            (
                _TXS,
                Param("accounts", 3, "accounts the transfers move between", 2, 1000),
                Param("amount", 2, "amount of every transfer (0: drawn from the seed)", 0),
                Param("balance", 3, "initial balance of every account", 0),
                Param("seed", 0, "chooses who pays whom"),
                _MODULES,
            ),
            _transfers,
        ),
        Generator(
            "xtransfers",
            "transfers across modules (xtxs) and inside one (txs), for two-phase-commit "
            "and receipts",
            (
                Param("modules", 2, "modules; module i's accounts are acct{i}, "
                      "acct{i+modules}, ...", 1, 8),
                Param("accounts", 1, "accounts per module", 1, 8),
                Param("xtxs", 1, "cross-module transfers: transfer i pays module i+1 "
                      "from module i", 0, MAX_TRANSACTIONS),
                Param("txs", 0, "local transfers: transfer j moves inside module j", 0,
                      MAX_TRANSACTIONS),
                Param("amount", 2, "amount of every transfer", 1),
                Param("balance", 3, "initial balance of every account", 0),
                Param("replays", 0, "old messages the attacker may re-send (two-phase-commit)",
                      0, 8),
                Param("dups", 0, "messages in flight the network may duplicate", 0, 8),
                Param("attempts", 2, "attempts of each cross-module transfer "
                      "(two-phase-commit retries an aborted one)", 1, 8),
                Param("reshard", 0, "1: the last module may split in two while receipts are "
                      "in flight (receipts)", 0, 1),
                Param("sends", 1, "times each sender sends its transfer, with consecutive "
                      "nonces (receipts keeps them in nonce order)", 1, 8),
            ),
            _xtransfers,
        ),
        Generator(
            "counter",
            "read-increment-write on hot-spot keys (transaction i increments key i mod keys)",
            (_TXS, Param("keys", 1, "counters", 1, 1000), _MODULES),
            _counter,
        ),
        Generator(
            "chain",
            "transaction i reads the key transaction i-1 writes: cascading aborts",
            (_TXS,),
            _chain,
        ),
        Generator(
            "condwrite",
            "write sets that depend on values read: odd transactions write only on a flag",
            (
                Param("txs", 3, "transactions in the block", 1, MAX_TRANSACTIONS),
                Param("mode", "appear", "whether re-execution adds or drops a written key",
                      choices=("appear", "vanish")),
            ),
            _condwrite,
        ),
        Generator(
            "registry",
            "first-come name registration through the exists read kind",
            (Param("txs", 2, "transactions in the block", 1, MAX_TRANSACTIONS),
             Param("names", 1, "distinct names", 1, 1000)),
            _registry,
        ),
        Generator(
            "audit",
            "deposits into acct/* interleaved with audits that scan the prefix",
            (
                Param("txs", 2, "transactions in the block", 1, MAX_TRANSACTIONS),
                Param("accounts", 2, "accounts under the prefix", 1, 1000),
                Param("insert", 0, "1: deposits open new accounts (phantoms)", 0, 1),
            ),
            _audit,
        ),
        Generator(
            "bft",
            "per-module Tendermint consensus: transaction i appends to module i mod modules",
            (
                Param("modules", 1, "modules, each with its own consensus instance", 1, 8),
                Param("replicas", 4, "replicas per module (must be 3f + 1)", 1, 13),
                Param("f", 1, "faults each module tolerates", 0, 4),
                Param("byzantine", 1, "equivocating replicas per module (r0, r1, ...); more "
                      "than f breaks Tendermint's assumption on purpose", 0, 4),
                Param("crashes", 0, "honest replicas that may crash, over all modules", 0, 4),
                Param("drops", 0, "not modelled, must be 0: a replica may act on any subset "
                      "of the messages sent", 0, 8),
                Param("duplicates", 0, "not modelled, must be 0: messages sent are a set", 0,
                      8),
                Param("txs", 2, "transactions, split round robin over the modules", 1,
                      MAX_TRANSACTIONS),
                Param("rounds", 2, "rounds each replica may reach (timeouts stop at the last)",
                      1, 8),
                Param("exec", "serial", "how a replica executes a decided block",
                      choices=("serial", "block-stm")),
                Param("version_faults", 0, "failed shared-object version initialisations, "
                      "each retried", 0, 4),
            ),
            _bft,
        ),
        Generator(
            "bank",
            "the peers' benchmark block: transaction i moves 1 + i%3 from account i%A to "
            "account (i+1)%A, with no balance check",
            (
                _TXS,
                Param("accounts", 3, "accounts (A)", 2, 1000),
                Param("balance", 10, "initial balance of every account", 0),
            ),
            _bank,
        ),
    )
}


BUILTIN_GENERATORS: frozenset[str] = frozenset(GENERATORS)
"""The names of shardcheck's own generators, which a user's cannot replace."""


def register_workload(generator: Generator) -> Generator:
    """Make a user's generator available by name, as ours are: ``--workload NAME:...``,
    ``shardcheck workloads --design FILE``, suites and fuzzing all find it.

    Call it at the top level of a design file (the file is imported before the workload
    is built); it returns the generator, so it also works as an expression. The build
    function must be deterministic: the same parameters give the same block. A name of
    ours cannot be taken; registering a name again replaces the earlier generator.
    """
    if not isinstance(generator, Generator):
        raise WorkloadError(f"register_workload takes a model.Generator, got "
                            f"{type(generator).__name__}")
    if generator.name in BUILTIN_GENERATORS:
        raise WorkloadError(f"workload {generator.name!r} is one of shardcheck's own; give "
                            "yours another name")
    if not generator.name or not all(c.isalnum() or c in "-_" for c in generator.name):
        raise WorkloadError(f"workload name {generator.name!r}: use letters, digits, - and _")
    GENERATORS[generator.name] = generator
    return generator


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


MAX_SPEC = 1_000
"""The longest spec accepted: far beyond any real one; errors quote a cut version."""


def _shown(spec: str) -> str:
    return repr(spec) if len(spec) <= 80 else repr(spec[:77] + "...")


def parse_spec(spec: str) -> tuple[Generator, dict[str, int | str]]:
    """Split a spec into its generator and complete, validated parameters."""
    if len(spec) > MAX_SPEC:
        raise WorkloadError(f"workload spec {_shown(spec)} is {len(spec):,} characters long; "
                            f"a spec is at most {MAX_SPEC:,}")
    name, _, rest = spec.strip().partition(":")
    generator = GENERATORS.get(name)
    if generator is None:
        known = ", ".join(sorted(GENERATORS))
        raise WorkloadError(
            f"unknown workload {name!r}{_suggest(name, sorted(GENERATORS))} (known: {known})"
        )
    params: dict[str, int | str] = {p.name: p.default for p in generator.params}
    by_name = {p.name: p for p in generator.params}
    given: set[str] = set()
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, raw = item.partition("=")
        key, raw = key.strip(), raw.strip()
        if not eq or not raw:
            raise WorkloadError(f"workload {_shown(spec)}: expected key=value, got {item!r}")
        if key in given:
            raise WorkloadError(f"workload {_shown(spec)}: {key} is given twice")
        given.add(key)
        param = by_name.get(key)
        if param is None:
            names = ", ".join(by_name)
            raise WorkloadError(
                f"workload {_shown(spec)}: {name} has no parameter {key!r}"
                f"{_suggest(key, list(by_name))} (parameters: {names})"
            )
        params[key] = _convert(spec, param, raw)
    return generator, params


def _convert(spec: str, param: Param, raw: str) -> int | str:
    if param.choices:
        if raw not in param.choices:
            raise WorkloadError(
                f"workload {_shown(spec)}: {param.name} must be one of "
                f"{', '.join(param.choices)}"
            )
        return raw
    value = _integer(raw)
    if value is None:
        shown = raw if len(raw) <= 20 else raw[:17] + "..."
        raise WorkloadError(
            f"workload {_shown(spec)}: {param.name} must be an integer, got {shown!r} "
            f"(from {param.minimum} to {param.maximum})"
        )
    if not param.minimum <= value <= param.maximum:
        raise WorkloadError(
            f"workload {_shown(spec)}: {param.name} must be between {param.minimum} and "
            f"{param.maximum}, got {value}"
        )
    return value


def _integer(raw: str) -> int | None:
    """The integer ``raw`` spells in ASCII digits (int() also reads other scripts' digits,
    which no spec means), with at most 18 of them; else None."""
    digits = raw[1:] if raw[:1] == "-" else raw
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
        return None
    return int(raw)


def canonical_spec(generator: Generator, params: Mapping[str, int | str]) -> str:
    """The spec with every parameter spelled out, in declaration order."""
    return generator.name + ":" + ",".join(f"{p.name}={params[p.name]}" for p in generator.params)


def build_workload(spec: str) -> Workload:
    """The workload a spec names; raises ``WorkloadError`` with a readable message.

    After the generator's parameters, ``@KEY=VALUE,...`` sets keys of the initial store
    (``KEY=absent`` removes one): ``transfers:txs=2@acct0=1`` starts the first account
    short, so the values a check runs on are the user's to choose and travel with the
    spec into trace files.
    """
    text, _, overrides = spec.partition("@")
    generator, params = parse_spec(text)
    block, store = generator.build(params)
    canonical = canonical_spec(generator, params)
    if overrides.strip():
        changes = _initial_overrides(spec, overrides,
                                      block_keys(block, tuple(store.as_dict())))
        values = store.as_dict()
        for key, value in changes:
            if value is None:
                values.pop(key, None)
            else:
                values[key] = value
        store = attrs.evolve(store, values=values)
        canonical += "@" + ",".join(f"{k}={'absent' if v is None else v}" for k, v in changes)
    return Workload(canonical, block, store,
                    tuple((p.name, params[p.name]) for p in generator.params))


def _initial_overrides(spec: str, text: str, keys: tuple[str, ...]
                       ) -> list[tuple[str, int | None]]:
    """Parse ``KEY=VALUE,...`` against the keys the block can touch, sorted by key."""
    changes: dict[str, int | None] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, eq, raw = item.partition("=")
        key, raw = key.strip(), raw.strip()
        if not eq or not key or not raw:
            raise WorkloadError(f"workload {spec!r}: after '@' expected KEY=VALUE, got {item!r}")
        if key not in keys:
            raise WorkloadError(
                f"workload {spec!r}: the block never touches key {key!r}"
                f"{_suggest(key, list(keys))} (keys: {', '.join(keys)})")
        if key in changes:
            raise WorkloadError(f"workload {spec!r}: key {key!r} is set twice after '@'")
        if raw == "absent":
            changes[key] = None
            continue
        value = _integer(raw)
        if value is None:
            shown = raw if len(raw) <= 20 else raw[:17] + "..."
            raise WorkloadError(f"workload {_shown(spec)}: {key} must be an integer or "
                                f"'absent', got {shown!r}")
        changes[key] = value
    return sorted(changes.items())
