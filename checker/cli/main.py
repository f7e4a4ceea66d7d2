"""The ``shardcheck`` command group: every command, each from its own module."""

from __future__ import annotations

import click

from shardcheck.checker.cli.catalog import designs_command, workloads_command
from shardcheck.checker.cli.ci import ci_command
from shardcheck.checker.cli.console import CommandGroup
from shardcheck.checker.cli.demo import demo_command
from shardcheck.checker.cli.every_input import prove_trace_command
from shardcheck.checker.cli.explore import explore_command
from shardcheck.checker.cli.fuzz import fuzz_command
from shardcheck.checker.cli.history import check_history_command
from shardcheck.checker.cli.prove import prove_group
from shardcheck.checker.cli.replay import replay_command
from shardcheck.checker.errors import EXIT_CODES
from shardcheck.checker.trace import VERSION

_EXIT_CODES = "\b\nExit codes:\n" + "\n".join(
    f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES)


@click.group(cls=CommandGroup, epilog=_EXIT_CODES,
             context_settings={"help_option_names": ["-h", "--help"],
                               "max_content_width": 100})
@click.version_option(VERSION, prog_name="shardcheck")
def main() -> None:
    """Model-check parallel transaction execution designs and replay their failures.

    \b
    Verify a design:   shardcheck explore block-stm --workload counter:txs=3,keys=1
    Find a bug:        shardcheck explore block-stm:scan-keys-only --workload audit:txs=2
    Replay it:         shardcheck replay TRACE.json
    See what exists:   shardcheck designs; shardcheck workloads
    """


for command in (explore_command, replay_command, designs_command, workloads_command,
                demo_command, check_history_command, fuzz_command, ci_command, prove_group,
                prove_trace_command):
    main.add_command(command)
