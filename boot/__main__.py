"""`python -m boot [pytest args]`: install (cached), then run the boot tests in a private network namespace.

The namespace (`unshare --net --mount`) has only loopback, its own /etc/hosts and a private tmpfs on /opt;
nothing it starts can reach or be reached from outside, and everything in it ends with it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from boot.install import ensure

REPO = Path(__file__).resolve().parent.parent
# Kept after the run for its logs (pytest empties it at the next start); readable by the servers' user.
BASETEMP = Path(tempfile.gettempdir()) / "airflow-platform-boot"


def main() -> int:
    ensure()
    if os.geteuid() != 0:
        print("the boot test needs root for its network namespace (unshare --net --mount)", file=sys.stderr)
        return 2
    hosts = Path(tempfile.mkdtemp(prefix="boot-hosts-")) / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    pytest = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "--basetemp",
        str(BASETEMP),
        str(REPO / "tests_boot"),
        *sys.argv[1:],
    ]
    prelude = (
        "set -e; ip link set lo up; mount -t tmpfs -o mode=0755 boot-opt /opt; "
        f"mount --bind {shlex.quote(str(hosts))} /etc/hosts; exec {shlex.join(pytest)}"
    )
    env = {**os.environ, "BOOT_PRIVATE_NETNS": "1", "BOOT_PROJECT_PYTHON": sys.executable}
    return subprocess.run(["unshare", "--net", "--mount", "--fork", "sh", "-c", prelude], env=env, cwd=REPO).returncode


if __name__ == "__main__":
    sys.exit(main())
