"""Regenerate `airflow-3.1.7.lock` from `airflow.in`: `python -m boot.lock` (needs PyPI; writes the lock).

Resolves as of the release day (`--uploaded-prior-to`, since the official constraints file is not reachable)
in a throwaway venv with a current pip, ignoring local pip configuration and mirrors (`--isolated`), and
records one wheel per package with its sha256 from pip's installation report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from boot.install import LOCK

REQUIREMENTS = Path(__file__).resolve().parent / "airflow.in"
RELEASED_BEFORE = "2026-02-05T00:00:00Z"
HEADER = f"""# Airflow 3.1.7 as the chart's image runs it, resolved for CPython 3.11 on linux x86_64 by
#   pip install --isolated --uploaded-prior-to {RELEASED_BEFORE} --dry-run --report -r boot/airflow.in
# (the official constraints file is not reachable; this reproduces the release-day set). One wheel per line,
# installed with --require-hashes --no-deps by boot/install.py. Regenerate: python -m boot.lock
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        venv = Path(scratch) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "--isolated"]
        if cert := os.environ.get("PIP_CERT"):
            pip += ["--cert", cert]
        subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip"], check=True)
        report = Path(scratch) / "report.json"
        subprocess.run(
            [
                *pip,
                "install",
                "--quiet",
                "--dry-run",
                "--ignore-installed",
                "--uploaded-prior-to",
                RELEASED_BEFORE,
                "--report",
                str(report),
                "-r",
                str(REQUIREMENTS),
            ],
            check=True,
        )
        rows = sorted(
            (
                item["metadata"]["name"].lower().replace("_", "-"),
                item["metadata"]["version"],
                item["download_info"]["archive_info"]["hashes"]["sha256"],
            )
            for item in json.loads(report.read_text())["install"]
        )
    LOCK.write_text(HEADER + "".join(f"{name}=={version} --hash=sha256:{digest}\n" for name, version, digest in rows))
    print(f"wrote {LOCK} ({len(rows)} wheels)")


if __name__ == "__main__":
    main()
