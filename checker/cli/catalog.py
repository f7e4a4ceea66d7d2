"""``shardcheck designs`` and ``shardcheck workloads``: what there is to check, and with what."""

from __future__ import annotations

import json

import click

from shardcheck import model
from shardcheck.checker.cli.console import make_console
from shardcheck.checker.design import BUILTIN_PROPERTIES


@click.command(name="designs")
@click.option("--json", "as_json", is_flag=True,
              help="Machine-readable, with each mutant's smallest known failing configuration.")
def designs_command(as_json: bool) -> None:
    """List the built-in designs and their mutants, one line each."""
    designs = model.builtin_designs()
    if as_json:
        out = []
        for d in designs.values():
            out.append({
                "name": d.name,
                "summary": d.summary,
                "criteria": list(model.design_criteria(d)),
                "properties": [p.name for p in d.properties()],
                "mutants": [
                    {
                        "name": m.name,
                        "spec": f"{d.name}:{m.name}",
                        "summary": m.summary,
                        "fails_on": None if m.known_failure is None else {
                            "workload": m.known_failure.workload,
                            "workers": m.known_failure.workers,
                            "property": m.known_failure.property,
                            "steps": m.known_failure.steps,
                        },
                    }
                    for m in d.mutants()
                ],
            })
        click.echo(json.dumps(out, indent=2))
        return
    console = make_console()
    for d in designs.values():
        console.print(f"[bold]{d.name}[/bold]  {d.summary}")
        for m in d.mutants():
            console.print(f"  {d.name}:{m.name}  {m.summary}")
    console.print("\nproperties every design is checked against: "
                  + ", ".join(name for name, _ in BUILTIN_PROPERTIES))
    console.print("terminal criteria a design (or --criterion) can choose: "
                  + ", ".join(model.CRITERIA))
    console.print("your own design: shardcheck explore path/to/design.py:ClassName "
                  "(see docs/tutorial.md)")


@click.command(name="workloads")
def workloads_command() -> None:
    """List the workload generators and their parameters."""
    console = make_console()
    for generator in model.GENERATORS.values():
        console.print(f"[bold]{generator.name}[/bold]  {generator.summary}")
        for p in generator.params:
            choices = f" (one of {', '.join(p.choices)})" if p.choices else ""
            console.print(f"    {p.name}={p.default}  {p.description}{choices}")
    console.print("\nexample: --workload transfers:txs=4,accounts=2,seed=3")
    console.print("initial values: append @KEY=VALUE,... (or KEY=absent), e.g. "
                  "--workload transfers:txs=2@acct0=1")
