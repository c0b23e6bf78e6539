"""Benchmark `plan.py --stack all --json FILE`: wall time of whole CLI runs, against the 4 s budget.

    .venv/bin/python scripts/bench_plan.py [--runs 5] [--budget 4.0]

Each run is a fresh process (what an operator or CI waits for); one warm-up run first writes the
bytecode caches. Prints every run and the median; exits 1 when the median is over the budget.
Not a test: timings depend on the machine, so the suite never asserts on them.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def one_run(json_file: Path) -> float:
    """Wall seconds of one `plan.py --stack all` process."""
    command = [sys.executable, str(REPO / "plan.py"), "--stack", "all", "--json", str(json_file)]
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--budget", type=float, default=4.0, help="seconds allowed for the median run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        json_file = Path(folder) / "plans.json"
        one_run(json_file)  # warm-up: bytecode caches
        walls = [one_run(json_file) for _ in range(args.runs)]
    for number, wall in enumerate(walls, start=1):
        print(f"run {number}: {wall:.2f} s")
    median = statistics.median(walls)
    print(f"median {median:.2f} s (budget {args.budget:.1f} s)")
    return 0 if median <= args.budget else 1


if __name__ == "__main__":
    sys.exit(main())
