"""One booted Airflow per stack file (module scope): database, PgBouncer, moto, migrations, the four components.

Run through `python -m boot` (never by the unit suite: `tests_boot/` is outside `testpaths`), which installs
the pinned Airflow, PostgreSQL 17 and PgBouncer and enters the private network namespace first.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from boot.airflow_boot import Boot
from boot.install import toolchain
from boot.stack import StackPods, stack_file_pods

REPO = Path(__file__).resolve().parent.parent
STACKS = sorted(p.name.split(".")[1] for p in REPO.glob("Pulumi.*.yaml") if p.name.count(".") == 2)
if os.environ.get("BOOT_STACKS"):  # python -m boot runs one stack per namespace
    STACKS = [s for s in STACKS if s in os.environ["BOOT_STACKS"].split(",")]
DAGS = Path(__file__).resolve().parent / "dags"


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    if os.environ.get("BOOT_PRIVATE_NETNS") != "1":
        skip = pytest.mark.skip(reason="run the boot test with `python -m boot` (private network namespace)")
        for item in items:
            item.add_marker(skip)


@dataclass
class Booted:
    boot: Boot
    pods: StackPods
    bootstrap: subprocess.CompletedProcess[str]
    bootstrap_again: subprocess.CompletedProcess[str]
    migration: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module", params=STACKS)
def booted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Booted]:
    pods = stack_file_pods(request.param)
    work = Path(tmp_path_factory.mktemp(f"boot-{request.param}"))
    for path in (work, *work.parents):  # PostgreSQL and PgBouncer run as nobody below it
        if path == Path(tempfile.gettempdir()):
            break
        path.chmod(path.stat().st_mode | 0o055)
    boot = Boot(pods, toolchain(), work)
    try:
        boot.write_hosts()
        boot.materialize_mounts()
        boot.install_dags()
        boot.install_dags(DAGS)
        boot.start_database()
        bootstrap = boot.run_bootstrap()
        assert bootstrap.returncode == 0, (
            f"{pods.stack}: the bootstrap Job's SQL failed as the master: {bootstrap.stderr}"
        )
        bootstrap_again = boot.run_bootstrap()
        boot.start_pgbouncer()
        boot.start_moto()
        boot.seed_secrets()
        boot.start_idp()
        migration = boot.migrate()
        tail = "\n".join((migration.stdout + migration.stderr).splitlines()[-20:])
        assert migration.returncode == 0, f"{pods.stack}: the migration Job's `airflow db migrate` failed:\n{tail}"
        boot.start_components()
        yield Booted(boot, pods, bootstrap, bootstrap_again, migration)
    finally:
        boot.stop()
