"""`python local.py --stack dev`: starts, serves the UI and health, runs the example DAG, stops on Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from boot.processes import Started, wait_for

REPO = Path(__file__).resolve().parent.parent
PORT = 18080  # the default 8080 is the boot test's API server in this namespace
BASE = f"http://127.0.0.1:{PORT}"


def _call(method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:  # type: ignore[type-arg]
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(BASE + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response) if response.status != 204 else {}


def test_local_airflow_serves_the_ui_runs_the_example_dag_and_stops_on_ctrl_c(tmp_path):
    log = tmp_path / "local.log"
    with log.open("wb") as out:
        local = subprocess.Popen(
            [sys.executable, str(REPO / "local.py"), "--stack", "dev", "--port", str(PORT)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=REPO,
        )
    try:
        ready = wait_for(
            lambda: re.search(r"local Airflow is up.*login: (\S+) / (\S+)", log.read_text()),
            420,
            "local.py ready",
            died=Started("local.py", local, log),  # fail at once, with its log, if it exits instead
        )
        user, password = ready.group(1), ready.group(2)
        assert "LocalExecutor stands in for task pods" in log.read_text()
        assert _call("GET", "/api/v2/monitor/health")["scheduler"]["status"] == "healthy"
        with urllib.request.urlopen(f"{BASE}/auth/login/", timeout=30) as page:
            assert page.status == 200
        token = _call("POST", "/auth/token", {"username": user, "password": password})["access_token"]
        dag = "example_platform"
        wait_for(lambda: _call("GET", f"/api/v2/dags/{dag}", token=token), 120, f"{dag} parsed")
        _call("PATCH", f"/api/v2/dags/{dag}", {"is_paused": False}, token)
        run_id = _call("POST", f"/api/v2/dags/{dag}/dagRuns", {"logical_date": None}, token)["dag_run_id"]
        state = wait_for(
            lambda: (
                (s := _call("GET", f"/api/v2/dags/{dag}/dagRuns/{run_id}", token=token)["state"])
                in ("success", "failed")
                and s
            ),
            180,
            f"{dag} run finished",
        )
        assert state == "success", log.read_text()[-3000:]
    finally:
        os.killpg(local.pid, signal.SIGINT)  # Ctrl-C
        try:
            code = local.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(local.pid, signal.SIGKILL)
            raise
    output = log.read_text()
    assert "[local.py] stopped" in output, output[-3000:]
    assert code == 0, output[-3000:]
    time.sleep(0.5)
    assert subprocess.run(["ss", "-Htln", f"sport = :{PORT}"], capture_output=True, text=True).stdout.strip() == ""
