"""The benchmark's small version: checks correctness, never timing.

The fast kernel and the one-mesa.Agent-per-citizen reference (benchmarks/mesa_reference.py) must give
the same national fully-online trajectory within statistical tolerance (see bench_scale.agreement),
and the citizen state must stay within 16 bytes per agent.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_quick_benchmark_checks_pass():
    proc = subprocess.run(
        [sys.executable, "benchmarks/bench_scale.py", "--quick"], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "quick benchmark checks: passed" in proc.stdout
