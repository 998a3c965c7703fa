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
