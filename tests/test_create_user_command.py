"""The create-user jobs' command, run for real with bash: the password reaches `airflow users create`
on its prompt, and no process's command line or environment ever shows it.

A stand-in `airflow` asks for the password the way the FAB provider's `users create` does without
`--password` (getpass for the password, then for its confirmation), and meanwhile reads the
command line and environment of every process it can see.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from components.airflow_auth import BreakGlassAdmin, create_user_command

PASSWORD = "Zq8vLr2NcX4mTp7WbK1sHd6Jf3Gy9AeU"  # the shape RandomPassword gives: letters and digits

FAKE_AIRFLOW = """\
import getpass, json, os, sys, warnings
warnings.simplefilter("ignore")
password = getpass.getpass("Password:")
confirmation = getpass.getpass("Repeat for confirmation:")
seen = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        for name in ("cmdline", "environ"):
            try:
                with open(f"/proc/{pid}/{name}", "rb") as source:
                    seen.append(source.read().decode(errors="replace"))
            except OSError:
                pass
print(json.dumps({"argv": sys.argv[1:], "password": password, "confirmation": confirmation, "seen": seen}))
"""


def run(command: str, tmp_path: Path) -> dict:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    airflow = bin_dir / "airflow"
    airflow.write_text(f"#!{sys.executable}\n{FAKE_AIRFLOW}")
    airflow.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    # A new session has no controlling terminal, as in a pod: getpass falls back to standard input.
    done = subprocess.run(
        ["bash", "-c", command], env=env, capture_output=True, text=True, timeout=30, start_new_session=True
    )
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stderr  # the prompts go to stderr, the answers are not echoed
    return json.loads(done.stdout)


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_the_password_goes_to_the_prompt_and_never_onto_a_command_line(tmp_path: Path) -> None:
    secret = tmp_path / "secrets" / "password"
    secret.parent.mkdir()
    secret.write_text(PASSWORD)  # a Kubernetes Secret key mounted as a file: no trailing newline
    command = create_user_command(
        role="Admin",
        username="platform-admin",
        email="ops@example.com",
        first_name="Platform",
        last_name="O'Neil",
        password_file=str(secret),
    )
    result = run(command, tmp_path)
    assert result["password"] == result["confirmation"] == PASSWORD
    assert result["argv"] == [
        "users",
        "create",
        "--role",
        "Admin",
        "--username",
        "platform-admin",
        "--email",
        "ops@example.com",
        "--firstname",
        "Platform",
        "--lastname",
        "O'Neil",
    ]
    assert result["seen"], "no process could be read"
    assert not [text for text in result["seen"] if PASSWORD in text]
    assert PASSWORD not in os.environ.values()


def test_the_break_glass_admin_uses_the_same_command() -> None:
    admin = BreakGlassAdmin(username="break-glass", email="ops@example.com")
    assert admin.create_user_command() == create_user_command(
        role="Admin",
        username="break-glass",
        email="ops@example.com",
        first_name="Break-Glass",
        last_name="Admin",
        password_file="/opt/airflow/secrets/break-glass/password",
    )
