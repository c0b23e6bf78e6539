"""Wall-time benchmarks of whole commands against their budgets (not tests: timings depend on the machine).

    .venv/bin/python scripts/bench.py plan  [--runs 5]   # plan.py --stack all --json FILE, budget 3 s
    .venv/bin/python scripts/bench.py tests [--runs 3]   # the unit suite (pytest -q), budget 15 s

Each run is a fresh process (what an operator or CI waits for); one warm-up run first writes the
bytecode caches. Prints every run and the median; exits 1 when the median is over the budget.
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
PLANS = Path(tempfile.gettempdir()) / "airflow-platform-bench-plans.json"
BENCHMARKS = {
    "plan": ([sys.executable, str(REPO / "plan.py"), "--stack", "all", "--json", str(PLANS)], 3.0),
    "tests": ([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], 15.0),
}


def one_run(command: list[str]) -> float:
    """Wall seconds of one process."""
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmark", choices=sorted(BENCHMARKS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--budget", type=float, help="seconds allowed for the median run (default: its budget)")
    args = parser.parse_args()
    command, budget = BENCHMARKS[args.benchmark]
    budget = args.budget or budget
    one_run(command)  # warm-up: bytecode caches
    walls = [one_run(command) for _ in range(args.runs)]
    for number, wall in enumerate(walls, start=1):
        print(f"run {number}: {wall:.2f} s")
    median = statistics.median(walls)
    print(f"{args.benchmark}: median {median:.2f} s (budget {budget:.1f} s)")
    return 0 if median <= budget else 1


if __name__ == "__main__":
    sys.exit(main())
