"""``shardcheck designs`` and ``shardcheck workloads``: what there is to check, and with what."""

from __future__ import annotations

from typing import Any

import click

from shardcheck import model
from shardcheck.checker.cli.console import Output
from shardcheck.checker.cli.documents import document
from shardcheck.checker.cli.options import format_option, quiet_option
from shardcheck.checker.design import BUILTIN_PROPERTIES, resolve_design
from shardcheck.checker.errors import EXIT_OK


def _design_json(design: model.Design) -> dict[str, Any]:
    kinds = getattr(design, "workload_kinds", None)
    return {
        "name": design.name,
        "summary": design.summary,
        "default_workload": model.default_workload(design),
        "default_workers": model.default_workers(design),
        "workload_kinds": None if kinds is None else list(kinds),
        "criteria": list(model.design_criteria(design)),
        "properties": [p.name for p in design.properties()],
        "mutants": [
            {
                "name": m.name,
                "spec": f"{design.name}:{m.name}",
                "summary": m.summary,
                "fails_on": None if m.known_failure is None else {
                    "workload": m.known_failure.workload,
                    "workers": m.known_failure.workers,
                    "property": m.known_failure.property,
                    "steps": m.known_failure.steps,
                },
            }
            for m in design.mutants()
        ],
    }


@click.command(name="designs")
@format_option("json: one object on stdout with each mutant's smallest known failing "
               "configuration (traces/designs.schema.json).", json_flag=True)
@quiet_option
def designs_command(output_format: str, quiet: bool) -> None:
    """List the built-in designs and their mutants, one line each."""
    out = Output.of(output_format, quiet)
    designs = model.builtin_designs()
    out.document(document("designs", exit_code=EXIT_OK,
                          designs=[_design_json(d) for d in designs.values()],
                          properties=[name for name, _ in BUILTIN_PROPERTIES],
                          criteria=list(model.CRITERIA)))
    if out.json:
        return
    for d in designs.values():
        out.verdict.print(f"[bold]{d.name}[/bold]  {d.summary}")
        out.verdict.print(f"  default: --workload {model.default_workload(d)} --workers "
                          f"{model.default_workers(d)}")
        for m in d.mutants():
            out.verdict.print(f"  {d.name}:{m.name}  {m.summary}")
    out.report.print("\nproperties every design is checked against: "
                     + ", ".join(name for name, _ in BUILTIN_PROPERTIES))
    out.report.print("terminal criteria a design (or --criterion) can choose: "
                     + ", ".join(model.CRITERIA))
    out.report.print("your own design: shardcheck explore path/to/design.py:ClassName "
                     "(see docs/tutorial.md); a variant of one of these: docs/variants.md")


@click.command(name="workloads")
@click.option("--design", "design_spec", metavar="FILE.py:NAME", default=None,
              help="Load this design file first, so that the workloads it registers "
                   "(model.register_workload) are listed too.")
@format_option("json: one object on stdout with every generator and its parameters "
               "(traces/workloads.schema.json).")
@quiet_option
def workloads_command(design_spec: str | None, output_format: str, quiet: bool) -> None:
    """List the workload generators and their parameters."""
    out = Output.of(output_format, quiet)
    if design_spec is not None:
        resolve_design(design_spec)
    generators = model.GENERATORS.values()
    out.document(document("workloads", exit_code=EXIT_OK, workloads=[
        {"name": g.name, "summary": g.summary, "usage": g.usage(),
         "builtin": g.name in model.BUILTIN_GENERATORS,
         "params": [{"name": p.name, "default": p.default, "description": p.description,
                     "minimum": p.minimum, "maximum": p.maximum, "choices": list(p.choices)}
                    for p in g.params]}
        for g in generators]))
    if out.json:
        return
    for generator in generators:
        mine = "" if generator.name in model.BUILTIN_GENERATORS else "  (registered by a design)"
        out.verdict.print(f"[bold]{generator.name}[/bold]  {generator.summary}{mine}")
        for p in generator.params:
            choices = f" (one of {', '.join(p.choices)})" if p.choices else ""
            out.verdict.print(f"    {p.name}={p.default}  {p.description}{choices}")
    out.report.print("\nexample: --workload transfers:txs=4,accounts=2,seed=3")
    out.report.print("initial values: append @KEY=VALUE,... (or KEY=absent), e.g. "
                     "--workload transfers:txs=2@acct0=1")
    out.report.print("your own block: --workload path/to/block.json (traces/block.schema.json, "
                     "docs/variants.md)")
