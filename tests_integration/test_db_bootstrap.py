"""The bootstrap SQL against a real PostgreSQL server: idempotent, least privilege, quoting-safe.

Runs a throwaway server from the machine's PostgreSQL packages (.ci/run installs them when
missing) over a Unix socket in a temp dir; no network.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.db_bootstrap import BOOTSTRAP_SQL

MASTER, MASTER_PASSWORD = "airflow_admin", "master-Pass_1"
APP, APP_PASSWORD = "airflow_app", 'it\'s a "quoted"; DROP ROLE x; --pass'
SUPERUSER_PASSWORD = "bootstrap-test-superuser"


def _binary(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        raise RuntimeError(f"PostgreSQL's {name} is not installed: apt-get install postgresql (see .ci/run)")
    return found[-1]


def _as_postgres(argv: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: drop to the postgres user when we are root."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@pytest.fixture(scope="module")
def server() -> Iterator[Path]:
    # Not under pytest's tmp dir: its 0700 parents keep the postgres user out.
    base = Path(tempfile.mkdtemp(prefix="pg-bootstrap-"))
    data, socket_dir = base / "data", base / "run"
    socket_dir.mkdir()
    password_file = base / "pw"
    password_file.write_text(SUPERUSER_PASSWORD)
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(socket_dir, "postgres")
        shutil.chown(password_file, "postgres")
    initdb = [
        _binary("initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "-A",
        "scram-sha-256",
        "--pwfile",
        str(password_file),
    ]
    subprocess.run(_as_postgres([*initdb, "--no-sync", "-E", "UTF8"]), check=True, capture_output=True, timeout=60)
    options = f"-k {socket_dir} -c listen_addresses='' -c fsync=off"
    pg_ctl = [_binary("pg_ctl"), "-D", str(data)]
    # The server inherits pg_ctl's stdout/stderr: log to a file, or reading them would never end.
    start = [*pg_ctl, "-o", options, "-l", str(base / "server.log"), "-w", "start"]
    subprocess.run(_as_postgres(start), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    try:
        # What RDS gives us: a master that can create roles and databases but is no superuser.
        psql(
            socket_dir,
            "postgres",
            SUPERUSER_PASSWORD,
            "postgres",
            f"CREATE ROLE {MASTER} LOGIN CREATEROLE CREATEDB PASSWORD '{MASTER_PASSWORD}'",
        )
        psql(socket_dir, "postgres", SUPERUSER_PASSWORD, "postgres", f"CREATE DATABASE airflow OWNER {MASTER}")
        yield socket_dir
    finally:
        stop = [*pg_ctl, "-m", "immediate", "stop"]
        subprocess.run(_as_postgres(stop), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        shutil.rmtree(base, ignore_errors=True)


def psql(socket_dir: Path, user: str, password: str, database: str, sql: str) -> str:
    env = {**os.environ, "PGHOST": str(socket_dir), "PGUSER": user, "PGPASSWORD": password, "PGDATABASE": database}
    result = subprocess.run(
        [_binary("psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def run_bootstrap(socket_dir: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "bootstrap.sql"
    script.write_text(BOOTSTRAP_SQL)
    script.chmod(0o644)
    env = {
        **os.environ,
        "PGHOST": str(socket_dir),
        "PGDATABASE": "airflow",
        "PGUSER": MASTER,
        "PGPASSWORD": MASTER_PASSWORD,
        "APP_USER": APP,
        "APP_PASSWORD": APP_PASSWORD,
    }
    return subprocess.run(
        [_binary("psql"), "--no-psqlrc", "--file", str(script)], env=env, capture_output=True, text=True
    )


def test_bootstrap_creates_a_login_role_that_owns_the_database_and_nothing_more(server, tmp_path):
    # Tables an earlier deploy made as the master user move to the application role.
    psql(server, MASTER, MASTER_PASSWORD, "airflow", "CREATE TABLE dag_run (id int); CREATE SEQUENCE ids")
    first = run_bootstrap(server, tmp_path)
    assert first.returncode == 0, first.stderr
    second = run_bootstrap(server, tmp_path)  # idempotent: a re-run (new password, replaced Job) succeeds
    assert second.returncode == 0, second.stderr
    su = ("postgres", SUPERUSER_PASSWORD, "airflow")
    assert psql(server, *su, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'airflow'") == APP
    assert psql(server, *su, "SELECT tableowner FROM pg_tables WHERE tablename = 'dag_run'") == APP
    assert psql(server, *su, "SELECT sequenceowner FROM pg_sequences WHERE sequencename = 'ids'") == APP
    flags = psql(
        server, *su, f"SELECT rolsuper, rolcreaterole, rolcreatedb, rolcanlogin FROM pg_roles WHERE rolname = '{APP}'"
    )
    assert flags == "f|f|f|t"
    # The password with quotes and semicolons arrived intact: the role logs in with it and can migrate.
    psql(server, APP, APP_PASSWORD, "airflow", "CREATE TABLE alembic_version (v text); DROP TABLE alembic_version")
    assert psql(server, *su, "SELECT count(*) FROM pg_roles WHERE rolname = 'x'") == "0"
