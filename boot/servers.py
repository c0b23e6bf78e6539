"""PostgreSQL 17 as RDS runs it, PgBouncer with the rendered files, and moto, all on loopback."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
from pathlib import Path

from boot.install import Toolchain
from boot.processes import Processes, Started, wait_for

SUPERUSER = "postgres"
UNPRIVILEGED = "nobody"  # the rendered PgBouncer runs as 65534; PostgreSQL refuses root


def as_unprivileged(argv: list[str]) -> list[str]:
    return ["runuser", "-u", UNPRIVILEGED, "--", *argv] if os.geteuid() == 0 else argv


def give_away(*paths: Path) -> None:
    if os.geteuid() != 0:
        return
    user = pwd.getpwnam(UNPRIVILEGED)
    for path in paths:
        for item in [path, *(path.rglob("*") if path.is_dir() else [])]:
            os.chown(item, user.pw_uid, user.pw_gid)


def self_signed(directory: Path, names: list[str]) -> tuple[Path, Path]:
    """A throwaway key pair for `names` (the offline run's TLS resources carry no real key material)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "tls.crt", directory / "tls.key"
    san = ",".join(f"DNS:{n}" for n in names)
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={names[0]}",
            "-addext",
            f"subjectAltName={san}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    key.chmod(0o600)
    return cert, key


class Postgres:
    """PostgreSQL 17 with TLS on, scram-sha-256, TCP on 127.0.0.1 only (SSL required), like RDS with force_ssl."""

    def __init__(self, tools: Toolchain, base: Path, port: int, processes: Processes):
        self.tools, self.base, self.port, self.processes = tools, base, port, processes
        self.data = base / "data"
        self.superuser_password = "boot-superuser"
        self.process: Started | None = None

    def start(self, hostnames: list[str]) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        password_file = self.base / "superuser-password"
        password_file.write_text(self.superuser_password)
        cert, key = self_signed(self.base / "tls", hostnames)
        give_away(self.base)
        env = self._env()
        initdb = [str(self.tools.pg_bin("initdb")), "-D", str(self.data), "-U", SUPERUSER, "-A", "scram-sha-256"]
        result = subprocess.run(
            as_unprivileged([*initdb, "--pwfile", str(password_file), "--no-sync", "-E", "UTF8"]),
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed ({result.returncode}): {result.stderr.strip()}")
        (self.data / "pg_hba.conf").write_text(
            "local all all scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\n"
            "host all all 127.0.0.1/32 reject\n"
        )
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.base}'",
            "ssl": "on",
            "ssl_cert_file": f"'{cert}'",
            "ssl_key_file": f"'{key}'",
            "password_encryption": "'scram-sha-256'",
            "fsync": "off",
            "max_connections": "200",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{k} = {v}\n" for k, v in settings.items())
        give_away(self.base)
        self.process = self.processes.start(
            "postgres", as_unprivileged([str(self.tools.pg_bin("postgres")), "-D", str(self.data)]), env
        )
        wait_for(
            lambda: self.sql("postgres", "SELECT 1", check=False).returncode == 0, 30, "PostgreSQL", died=self.process
        )

    def _env(self) -> dict[str, str]:
        return {"PATH": os.environ["PATH"], "LD_LIBRARY_PATH": str(self.tools.postgres / "lib"), "LANG": "C.UTF-8"}

    def sql(self, database: str, statement: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run SQL as the superuser over the Unix socket (setup only: what RDS's operator did)."""
        env = {**os.environ, "PGHOST": str(self.base), "PGPORT": str(self.port), "PGPASSWORD": self.superuser_password}
        return subprocess.run(
            [psql(), "-X", "-At", "-v", "ON_ERROR_STOP=1", "-U", SUPERUSER, "-d", database, "-c", statement],
            env=env,
            capture_output=True,
            text=True,
            check=check,
            timeout=30,
        )

    def create_master(self, user: str, password: str, database: str) -> None:
        """What RDS creates: a master that may create roles and databases, no superuser, owning the DB."""
        literal = password.replace("'", "''")
        self.sql("postgres", f"CREATE ROLE \"{user}\" LOGIN CREATEROLE CREATEDB PASSWORD '{literal}'")
        self.sql("postgres", f'CREATE DATABASE "{database}" OWNER "{user}"')


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def psql() -> str:
    """Debian's psql client (the bootstrap Job's image runs psql; .ci/run installs postgresql-client)."""
    found = shutil.which("psql")
    if not found:
        raise RuntimeError("psql is not installed: apt-get install postgresql-client (see .ci/run)")
    return found


class PgBouncer:
    """The rendered pgbouncer.ini and users.txt; only file paths point at copies under `base`."""

    def __init__(self, tools: Toolchain, base: Path, processes: Processes):
        self.tools, self.base, self.processes = tools, base, processes
        self.process: Started | None = None

    def start(self, files: dict[str, str], command: list[str], hostnames: list[str]) -> Path:
        self.base.mkdir(parents=True, exist_ok=True)
        local = {path: self.base / path.lstrip("/") for path in files}
        for path, content in files.items():
            local[path].parent.mkdir(parents=True, exist_ok=True)
            local[path].write_text(content)
        # The offline run's certificate is a placeholder: a real pair for the same names.
        tls = [p for p in files if p.endswith("/tls.crt")]
        if tls:
            cert, key = self_signed(self.base / "generated-tls", hostnames)
            shutil.copy(cert, local[tls[0]])
            shutil.copy(key, local[tls[0]].with_name("tls.key"))
        ini_path = next(p for p in files if p.endswith(".ini"))
        ini = files[ini_path]
        for original, copy in local.items():
            ini = ini.replace(original, str(copy))
        # A file path too: the default /tmp is shared by the namespaces of stacks booting side by side.
        ini += f"unix_socket_dir = {self.base}\n"
        local[ini_path].write_text(ini)
        for path in local.values():
            path.chmod(0o600)
        give_away(self.base)
        _binary, *rest = command
        argv = [str(self.tools.pgbouncer_bin), *[str(local.get(a, a)) for a in rest]]
        if os.geteuid() != 0:  # `-u` works only when started as root
            argv = [a for i, a in enumerate(argv) if a != "-u" and (i == 0 or argv[i - 1] != "-u")]
        self.process = self.processes.start(self.base.name, argv, {"PATH": os.environ["PATH"]})
        port = int(re.search(r"^listen_port = (\d+)$", ini, re.M).group(1))  # type: ignore[union-attr]
        wait_for(lambda: listening(port), 30, f"PgBouncer on port {port}", died=self.process)
        return local[ini_path]


def moto(processes: Processes, python: Path, port: int) -> Started:
    """moto's server on loopback, standing in for S3 and Secrets Manager."""
    started = processes.start(
        "moto", [str(python), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], {"PATH": os.environ["PATH"]}
    )
    import urllib.request

    wait_for(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=2), 30, "moto", died=started)
    return started
