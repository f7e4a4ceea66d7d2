"""Same inputs, same output: byte for byte, in processes with different hash seeds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_two_processes_write_byte_identical_traces(tmp_path: Path) -> None:
    """The CLI's trace for a mutant is the same file under any PYTHONHASHSEED."""
    outputs = []
    for seed in ("0", "4242"):
        (tmp_path / seed).mkdir()
        out = tmp_path / seed / "trace.json"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, "-c", "from shardcheck.checker.cli import main; main()",
             "explore",
             "block-stm:exists-unrecorded", "--workload", "registry:txs=2",
             "--trace-out", "trace.json", "--quiet"],
            env=env, capture_output=True, text=True, cwd=tmp_path / seed)
        assert run.returncode == 1, run.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
