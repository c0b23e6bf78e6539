"""`python -m boot [pytest args]`: install (cached), then run the boot tests in private network namespaces.

Each namespace (`unshare --net --mount`) has only loopback, its own /etc/hosts and a private tmpfs on /opt;
nothing it starts can reach or be reached from outside, and everything in it ends with it. The stacks boot
in parallel, one namespace each (their ports and names are the same), plus one for local.py's test; each
group's output is printed when it ends, then one closing line with the totals.
"""

from __future__ import annotations

import fcntl
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from boot.install import ensure

REPO = Path(__file__).resolve().parent.parent
# Kept after the run for its logs (pytest empties a group's folder at its next start).
BASETEMP = Path(tempfile.gettempdir()) / "airflow-platform-boot"
COUNTS = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")


def stacks() -> list[str]:
    return sorted(p.name.split(".")[1] for p in REPO.glob("Pulumi.*.yaml") if p.name.count(".") == 2)


def in_namespace(name: str, argv: list[str], extra_env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    hosts = BASETEMP / f"{name}.hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    prelude = (
        "set -e; ip link set lo up; mount -t tmpfs -o mode=0755 boot-opt /opt; "
        f"mount --bind {shlex.quote(str(hosts))} /etc/hosts; exec {shlex.join(argv)}"
    )
    env = {**os.environ, "BOOT_PRIVATE_NETNS": "1", "BOOT_PROJECT_PYTHON": sys.executable, **extra_env}
    with log.open("wb") as out:
        return subprocess.Popen(
            ["unshare", "--net", "--mount", "--fork", "sh", "-c", prelude],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def main() -> int:
    if os.geteuid() != 0:
        print("the boot test needs root for its network namespaces (unshare --net --mount)", file=sys.stderr)
        return 2
    ensure()
    BASETEMP.mkdir(exist_ok=True)
    BASETEMP.chmod(0o755)  # PostgreSQL and PgBouncer run as nobody below it
    # One run at a time: runs share the group folders, logs and ports' namespaces' names.
    lock = (BASETEMP / ".lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"another boot test is running (lock {BASETEMP / '.lock'}); wait for it", file=sys.stderr)
        return 2
    pytest = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE"]
    groups = {stack: ([str(REPO / "tests_boot" / "test_boot.py")], {"BOOT_STACKS": stack}) for stack in stacks()}
    groups["local"] = ([str(REPO / "tests_boot" / "test_local.py")], {})
    started = time.monotonic()
    running = {}
    for name, (paths, env) in groups.items():
        argv = [*pytest, "--basetemp", str(BASETEMP / name), *paths, *sys.argv[1:]]
        running[name] = (in_namespace(name, argv, env, BASETEMP / f"{name}.log"), BASETEMP / f"{name}.log")
    totals: dict[str, int] = {}
    worst = 0
    for name, (process, log) in running.items():
        code = process.wait()
        output = log.read_text(errors="replace")
        print(f"===== boot: {name} (exit {code}) =====\n{output.rstrip()}\n", flush=True)
        closing = output.strip().splitlines()[-1] if output.strip() else ""
        counted = {
            ("failed" if word.startswith("error") else word): int(count) for count, word in COUNTS.findall(closing)
        }
        # pytest's 5 (nothing collected, e.g. a -k that selects nothing in this group) is not a failure; any other
        # code is, a negative one (the group killed by a signal) included, counted once if it named no failure.
        if code not in (0, 5):
            worst = 1
            counted["failed"] = counted.get("failed") or 1
        for key, count in counted.items():
            totals[key] = totals.get(key, 0) + count
    elapsed = time.monotonic() - started
    expected = "".join(f", {totals[k]} {k}" for k in ("xfailed", "xpassed") if totals.get(k))
    print(f"boot test: {elapsed:.0f} s, logs in {BASETEMP}{expected}")
    skipped = f", {totals['skipped']} skipped" if totals.get("skipped") else ""
    print(f"boot: {totals.get('passed', 0)} passed, {totals.get('failed', 0)} failed{skipped}")
    return 1 if worst or totals.get("failed") else 0


if __name__ == "__main__":
    sys.exit(main())
