"""The benchmark scripts under bench/ stay runnable: the figures in the issue notes come from them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = sorted(p for p in BENCH.glob("*.py") if p.name != "__init__.py")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_each_bench_script_imports_and_answers_help(script: Path):
    """An engineer runs `python bench/<name>.py --help` on a fresh checkout and gets its usage, not a traceback;
    the modules the scripts share import cleanly."""
    # importing the module runs every top-level import, which --help alone may never reach
    loaded = subprocess.run(
        [sys.executable, "-c", f"import bench.{script.stem}"],
        cwd=BENCH.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    if '__name__ == "__main__"' not in script.read_text():
        return  # a module the scripts share (generated requisitions, the other engine's tables)
    helped = subprocess.run(
        [sys.executable, str(script), "--help"], cwd=BENCH.parent, capture_output=True, text=True, timeout=120
    )
    assert helped.returncode == 0, helped.stderr[-2000:]
    assert "usage" in helped.stdout.lower(), helped.stdout[-500:]


def test_intake_reply_bench_runs_in_a_smoke_mode():
    """An engineer runs the intake reply bench on three messages: it prints p50/p90/p99 for the Assistant's reply
    and for the reader alone, with the ratio, and whether the p90 goal is met."""
    corpus = BENCH.parent / "tests" / "data" / "intake_eval_sample.jsonl"
    ran = subprocess.run(
        [sys.executable, str(BENCH / "intake_reply.py"), str(corpus), "--limit", "3", "--repeat", "1"],
        cwd=BENCH.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    lines = ran.stdout.splitlines()
    assert lines[0] == f"3 messages from {corpus} x 1 passes"
    assert lines[2].split()[0] == "reader" and lines[3].split()[0] == "reply" and "x reader:" in lines[3]
    assert lines[4].startswith("goal (reply p90 < 20 ms): ")
