"""Run a stack's Airflow on this machine for DAG authors: `python local.py --stack dev [--dags ./dags]`.

The same Airflow 3.1.7 with the stack's exact rendered configuration (boot/ builds it as the boot test
does): PostgreSQL 17 and PgBouncer on loopback as RDS and the chart's PgBouncer, moto standing in for
S3 and Secrets Manager, and **LocalExecutor standing in for task pods** (tasks run as processes of the
scheduler, not in the pod the template describes). Everything runs in a private network namespace
(needs root) whose names resolve as in the cluster; only the UI is forwarded to http://localhost:PORT.
Ctrl-C stops every process it started.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO))

READY = "local Airflow is up"


def parse_args(argv: list[str]) -> argparse.Namespace:
    stacks = sorted(p.name.split(".")[1] for p in REPO.glob("Pulumi.*.yaml") if p.name.count(".") == 2)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, choices=stacks)
    parser.add_argument("--dags", type=Path, default=REPO / "dags", help="folder of DAG files (default: ./dags)")
    parser.add_argument("--port", type=int, default=8080, help="local port of the UI (default: 8080)")
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)  # scratch folder, made outside
    parser.add_argument("--inside", type=int, help=argparse.SUPPRESS)  # the listening socket's fd, in the namespace
    return parser.parse_args(argv)


def outside(args: argparse.Namespace) -> int:
    """Install (cached), bind the UI port here, then run the rest inside a private network namespace."""
    from boot.install import ensure

    ensure()
    if os.geteuid() != 0:
        print("local.py needs root for its private network namespace (unshare --net --mount)", file=sys.stderr)
        return 2
    listener = socket.create_server(("127.0.0.1", args.port))
    scratch = Path(tempfile.mkdtemp(prefix="local-airflow-"))
    scratch.chmod(0o755)  # PostgreSQL and PgBouncer run as nobody below it
    hosts = scratch / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    inner = [sys.executable, str(Path(__file__).resolve()), "--stack", args.stack, "--dags", str(args.dags.resolve())]
    inner += ["--port", str(args.port), "--work", str(scratch / "work"), "--inside", str(listener.fileno())]
    prelude = (
        "set -e; ip link set lo up; mount -t tmpfs -o mode=0755 local-opt /opt; "
        f"mount --bind {shlex.quote(str(hosts))} /etc/hosts; exec {shlex.join(inner)}"
    )
    env = {**os.environ, "BOOT_PRIVATE_NETNS": "1", "BOOT_PROJECT_PYTHON": sys.executable}
    child = subprocess.Popen(
        ["unshare", "--net", "--mount", "--fork", "sh", "-c", prelude], env=env, pass_fds=[listener.fileno()]
    )
    listener.close()
    try:
        code = child.wait()
    except KeyboardInterrupt:  # the namespace's processes got the same Ctrl-C: wait for them to stop
        code = child.wait()
    if code == 0:
        shutil.rmtree(scratch, ignore_errors=True)
    else:
        print(f"logs kept in {scratch / 'work' / 'logs'}", file=sys.stderr)
    return code


def forward(listener: socket.socket, port: int) -> None:
    """Accept on the socket bound outside the namespace; connect to the API server inside it."""

    def pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    while True:
        client, _ = listener.accept()
        try:
            upstream = socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            client.close()
            continue
        upstream.settimeout(None)
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=pipe, args=(a, b), daemon=True).start()


def inside(args: argparse.Namespace) -> int:
    from boot.airflow_boot import API_PORT, Boot
    from boot.install import toolchain
    from boot.stack import stack_file_pods

    listener = socket.socket(fileno=args.inside)
    pods = stack_file_pods(args.stack)
    work = args.work
    boot = Boot(pods, toolchain(), work)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        say(f"{args.stack}: rendering done; starting PostgreSQL 17, PgBouncer, moto (logs: {work / 'logs'})")
        boot.write_hosts()
        boot.materialize_mounts()
        boot.install_dags(args.dags)
        boot.start_database()
        checked(boot.run_bootstrap(), "the bootstrap Job's SQL")
        boot.start_pgbouncer()
        boot.start_moto()
        boot.start_idp()
        say("migrating the metadata DB (the migration Job's command and env)")
        checked(boot.migrate(), "airflow db migrate")
        login = create_login(boot)
        say("starting scheduler, dag-processor, triggerer, api-server with the rendered commands and env")
        say("NOTE: LocalExecutor stands in for task pods: tasks run as local processes of the scheduler")
        boot.start_components({"AIRFLOW__CORE__EXECUTOR": "LocalExecutor"})
        boot.wait_healthy()
        threading.Thread(target=forward, args=(listener, API_PORT), daemon=True).start()
        say(f"{READY}: http://localhost:{args.port}  {login}  DAGs from {args.dags} (copied at start). Ctrl-C stops.")
        while not stop.wait(1):
            dead = [name for name, started in boot.components.items() if not started.alive()]
            if dead:
                say(f"{', '.join(dead)} exited; see {work / 'logs'}")
                return 1
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        say("stopping every process started (by pid)")
        boot.stop()
        listener.close()
        say("stopped")


def create_login(boot) -> str:  # type: ignore[no-untyped-def]
    """The chart's create-user Job, run as rendered; its user name and password file give the login."""
    if boot.oidc_metadata_url():
        return "(this stack logs in through its identity provider, which is not reachable from here)"
    job = boot.pods.chart.find("Job", f"{boot.pods.release}-create-user")
    if job is None:
        return "(this stack creates no UI user; create one: airflow users create ...)"
    checked(boot.run_job("create-user"), "the create-user Job")
    command = " ".join(job["spec"]["template"]["spec"]["containers"][0]["args"])
    user = command.split("--username ", 1)[1].split()[0]
    # The job reads the password from its mounted Secret file: `$(<file)` (or `$(cat file)`), never argv.
    password_file = shlex.split(re.search(r"\$\((?:<|cat )\s*([^)]+)\)", command).group(1))[0]
    return f"login: {user} / {Path(password_file).read_text().strip()}"


def checked(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise SystemExit(f"{what} failed:\n{tail}")


def say(line: str) -> None:
    print(f"[local.py] {line}", flush=True)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    return inside(args) if args.inside is not None else outside(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
