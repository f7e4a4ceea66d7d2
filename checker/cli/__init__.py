"""The ``shardcheck`` command line: one module per command, all printing through ``console``."""

from shardcheck.checker.cli.main import main

__all__ = ["main"]
