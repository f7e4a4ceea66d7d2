"""``shardcheck prove``: invariants, commutativity and quorum intersection for all values."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from shardcheck.checker.cli.console import CommandGroup, F, Output
from shardcheck.checker.cli.documents import document
from shardcheck.checker.cli.options import format_option, quiet_option, time_limit_option
from shardcheck.checker.design import load_workload
from shardcheck.checker.errors import EXIT_INCONCLUSIVE, EXIT_OK, EXIT_VIOLATION
from shardcheck.checker.prove import (
    DEFAULT_TIMEOUT,
    SYNTAX_HELP,
    ProofResult,
    build_invariant,
    prove_commute,
    prove_invariant,
    prove_quorum,
    quorum_config,
    select_transactions,
)

_MARK = {"proved": "✓ proved", "refuted": "✗ refuted", "unknown": "? unknown"}


def _common(func: F) -> F:
    func = format_option("json: every result, one object on stdout "
                         "(traces/prove-result.schema.json).")(func)
    func = time_limit_option("Seconds z3 may spend per claim; when it runs out the answer is "
                             "unknown (exit 3), never a pass.", default=DEFAULT_TIMEOUT,
                             old="--timeout")(func)
    return quiet_option(func)


def _report(claim: str, results: Sequence[ProofResult], output_format: str, quiet: bool,
            time_limit: float) -> None:
    """Print the results and exit: 1 if any is refuted, else 3 if any is unknown, else 0."""
    out = Output.of(output_format, quiet)
    for result in results:
        line = f"{_MARK[result.verdict]}: {result.claim}"
        out.verdict.print(line + (f" ({result.reason})" if result.reason else ""),
                          markup=False, soft_wrap=True)
        for detail in result.counterexample:
            out.report.print(f"  {detail}", markup=False, soft_wrap=True)
        if result.rerun:
            out.report.print(f"  re-run: {result.rerun}", markup=False, soft_wrap=True)
    verdicts = {r.verdict for r in results}
    verdict = next((v for v in ("refuted", "unknown") if v in verdicts), "proved")
    code = {"refuted": EXIT_VIOLATION, "unknown": EXIT_INCONCLUSIVE, "proved": EXIT_OK}[verdict]
    out.document(document("prove-result", verdict=verdict, exit_code=code, claim=claim,
                          time_limit=time_limit, results=[r.to_json() for r in results]))
    sys.exit(code)


@click.group(name="prove", cls=CommandGroup, epilog=(
    "\b\nExit codes: 0 proved; 1 refuted (the counterexample is printed, and was re-run "
    "concretely); 2 bad input; 3 unknown (z3 gave up or ran out of time; never a pass). "
    "See docs/prove.md."))
def prove_group() -> None:
    """Ask z3 for facts that hold for every data value, or a counterexample."""


_WORKLOAD = click.option("--workload", "-w", required=True,
                         help="Workload spec whose transactions and keys the claim is about, "
                              "e.g. transfers:txs=4 (see `shardcheck workloads`).")


@prove_group.command(name="invariant", epilog=f"\b\nInvariant syntax: {SYNTAX_HELP}.")
@_WORKLOAD
@click.option("--tx", "refs", multiple=True,
              help="A transaction by index or label (repeatable). Default: every one.")
@click.option("--conserves", metavar="PREFIX",
              help="The sum over present keys starting with PREFIX is unchanged.")
@click.option("--nonnegative", "nonnegative_prefix", metavar="PREFIX",
              help="Every key starting with PREFIX stays >= 0.")
@click.option("--invariant", "expression", metavar="EXPR",
              help='A formula such as "acct0 + acct1 >= 0" that stays true.')
@_common
def invariant_command(workload: str, refs: tuple[str, ...], conserves: str | None,
                      nonnegative_prefix: str | None, expression: str | None,
                      output_format: str, time_limit: float, quiet: bool) -> None:
    """Each transaction preserves the invariant from every pre-state that satisfies it.

    A pre-state is any store over the keys the workload names: each key present with
    any integer value, or absent.
    """
    built = load_workload(workload)
    invariant = build_invariant(built, conserves, nonnegative_prefix, expression)
    chosen = select_transactions(built, refs)
    _report("invariant", prove_invariant(built, chosen, invariant, time_limit), output_format,
            quiet, time_limit)


@prove_group.command(name="commute")
@_WORKLOAD
@click.argument("refs", nargs=-1, metavar="[TX TX]")
@_common
def commute_command(workload: str, refs: tuple[str, ...], output_format: str, time_limit: float,
                    quiet: bool) -> None:
    """Two transactions (index or label) commute from every store: the same final store and
    the same value for every read, in either order. Without TX TX: every pair."""
    built = load_workload(workload)
    if len(refs) not in (0, 2):
        raise click.UsageError("give two transactions, or none for every pair")
    chosen = select_transactions(built, refs)
    pairs = ([(chosen[0], chosen[1])] if refs else
             [(a, b) for i, a in enumerate(chosen) for b in chosen[i + 1:]])
    _report("commute", [prove_commute(built, a, b, time_limit) for a, b in pairs],
            output_format, quiet, time_limit)


@prove_group.command(name="quorum")
@click.option("--stakes", required=True, help="Validator stakes, positive integers: 1,1,1,1.")
@click.option("--quorum", "quorum", default="2/3", show_default=True,
              help="A quorum holds at least this fraction of the total stake; write >2/3 "
                   "for strictly more (Tendermint).")
@click.option("--faults", type=int, default=None,
              help="Faults by count: any set of at most this many validators. Default 0.")
@click.option("--faulty-stake", default=None, metavar="FRACTION",
              help="Faults by stake instead: any set with at most this fraction of the stake.")
@_common
def quorum_command(stakes: str, quorum: str, faults: int | None, faulty_stake: str | None,
                   output_format: str, time_limit: float, quiet: bool) -> None:
    """Any two quorums share at least one validator that is not faulty."""
    config = quorum_config(stakes, quorum, faults, faulty_stake)
    _report("quorum", [prove_quorum(config, time_limit)], output_format, quiet, time_limit)
