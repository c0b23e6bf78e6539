"""Facts the real cluster checks and mocks never do: image users, chart object names, signal handling."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import STACKS, stack_settings
from tests.values_support import AIRFLOW_2, GIT_SSH, airflow_override, fake_wiring, values_for

# The user:group each image is built for (its Dockerfile's USER), and what we run it as.
# PgBouncer is started as `pgbouncer -u nobody`: it must already run with nobody's group.
IMAGE_USERS = {
    "airflow": (50000, 0),  # apache/airflow: airflow user, primary group root
    "pgbouncer": (65534, 65534),  # chart's PgBouncer image, nobody:nogroup
    "pgbouncer-exporter": (65534, 65534),
    "statsd-exporter": (65534, 65534),  # quay.io/prometheus/statsd-exporter: USER nobody
    "git-sync": (65533, 65533),  # registry.k8s.io/git-sync: git-sync user and group
    "aws-cli": (50000, 0),  # root in its image; run as Airflow's user so DAG files belong to Airflow
}


def _get(values: dict[str, Any], *path: str) -> dict[str, Any]:
    node: Any = values
    for part in path:
        node = (node or {}).get(part)
    return node or {}


def effective_ids(values: dict[str, Any]) -> list[tuple[str, str, int | None, int | None]]:
    """(where, image, uid, gid) of every container, resolved the way chart 1.19.0 resolves contexts.

    Airflow components: `<c>.securityContexts.pod` else the global `securityContexts.pod`;
    PgBouncer and statsd: only their own `securityContexts.pod` (chart helper
    `localPodSecurityContext`). A container's `runAsUser`/`runAsGroup` win over the pod's.
    """
    found = []

    def add(where: str, image: str, pod: dict[str, Any], container: dict[str, Any]) -> None:
        uid = container.get("runAsUser", pod.get("runAsUser"))
        gid = container.get("runAsGroup", pod.get("runAsGroup"))
        found.append((where, image, uid, gid))

    global_pod = _get(values, "securityContexts", "pod")
    airflow_sections = ["scheduler", "triggerer", "dagProcessor", "apiServer", "webserver", "workers"]
    for section in airflow_sections:
        block = values.get(section) or {}
        if section in ("dagProcessor",) and not block.get("enabled"):
            continue
        if "replicas" not in block and section != "workers":
            continue  # the shape of the other Airflow major: not rendered
        pod = _get(block, "securityContexts", "pod") or global_pod
        add(section, "airflow", pod, _get(block, "securityContexts", "container"))
        for extra in block.get("extraInitContainers", []) + block.get("extraContainers", []):
            add(f"{section}/{extra['name']}", "aws-cli", pod, extra.get("securityContext") or {})
        if values["dags"]["gitSync"]["enabled"]:
            add(
                f"{section}/git-sync", "git-sync", pod, _get(values, "dags", "gitSync", "securityContexts", "container")
            )
    if values["pgbouncer"]["enabled"]:
        pod = _get(values, "pgbouncer", "securityContexts", "pod")
        add("pgbouncer", "pgbouncer", pod, _get(values, "pgbouncer", "securityContexts", "container"))
        exporter = _get(values, "pgbouncer", "metricsExporterSidecar", "securityContexts", "container")
        add("pgbouncer/exporter", "pgbouncer-exporter", pod, exporter)
    pod = _get(values, "statsd", "securityContexts", "pod")
    add("statsd", "statsd-exporter", pod, _get(values, "statsd", "securityContexts", "container"))
    return found


@pytest.mark.parametrize("variant", ["s3", "git-ssh", "airflow2"])
@pytest.mark.parametrize("stack", STACKS)
def test_every_container_runs_as_the_user_and_group_its_image_was_built_for(stack, variant):
    overrides = {"s3": {}, "git-ssh": GIT_SSH, "airflow2": airflow_override(stack, **AIRFLOW_2)}[variant]
    _, values = values_for(stack, overrides)
    containers = effective_ids(values)
    images = {image for _, image, _, _ in containers}
    assert {"airflow", "statsd-exporter"} <= images
    for where, image, uid, gid in containers:
        assert (uid, gid) == IMAGE_USERS[image], where


def test_pgbouncer_pod_does_not_inherit_the_airflow_root_group():
    _, values = values_for("prod")
    pod = values["pgbouncer"]["securityContexts"]["pod"]
    assert (pod["runAsUser"], pod["runAsGroup"], pod["fsGroup"]) == (65534, 65534, 65534)


@pytest.mark.parametrize("release", ["airflow", "orchestrator", "prod-airflow-x"])
def test_chart_object_names_follow_the_release_name_for_any_release(release):
    """Chart 1.19.0, useStandardNaming off: objects are `<release>-<suffix>`, service accounts
    `<release>-<suffix>` only when the release contains "airflow", else `<release>-airflow-<suffix>`."""
    settings = stack_settings("prod", airflow_override("prod", releaseName=release))
    _, values = values_for("prod", airflow_override("prod", releaseName=release))
    assert "fullnameOverride" not in values  # it would only move service accounts, never objects
    assert settings.shape.object_name("pgbouncer") == f"{release}-pgbouncer"
    assert settings.shape.object_name(settings.shape.ui_workload.value) == f"{release}-api-server"
    scheduler = settings.shape.service_account(settings.shape.ui_workload).name
    expected_base = release if "airflow" in release else f"{release}-airflow"
    assert scheduler == f"{expected_base}-api-server"
    assert values["apiServer"]["serviceAccount"]["name"] == scheduler


def test_metadata_uri_and_outputs_point_at_the_services_the_chart_creates_for_orchestrator():
    from tests.variants import prod_renamed_and_scraped

    inventory = prod_renamed_and_scraped()
    assert inventory.outputs["apiServiceName"] == "orchestrator-api-server"
    secrets = {r.inputs["metadata"]["name"]: r for r in inventory.of_type("kubernetes:core/v1:Secret")}
    from offline.engine import unwrap

    connection = unwrap(secrets["orchestrator-metadata-connection"].inputs["stringData"])["connection"]
    assert "@orchestrator-pgbouncer.airflow-prod:6543/orchestrator-metadata?" in connection
    ini = unwrap(secrets["orchestrator-pgbouncer-static-config"].inputs["stringData"])["pgbouncer.ini"]
    assert ini.splitlines()[1].startswith("orchestrator-metadata = ")


def _sidecar_command(interval: int = 30) -> str:
    settings, values = values_for(
        "dev", {"airflow-platform:dags": {"source": "s3", "s3Sync": {"intervalSeconds": interval}}}
    )
    [sidecar] = values["dagProcessor"]["extraContainers"]
    assert sidecar["command"][:2] == ["/bin/sh", "-c"]
    assert fake_wiring(settings).dag_bucket in sidecar["command"][2]
    return sidecar["command"][2]


SHELLS = [shell for shell in ("/bin/sh", "/bin/bash") if Path(shell).exists()]


@pytest.mark.parametrize("shell", SHELLS)
def test_s3_sync_sidecar_exits_at_once_on_sigterm(shell, tmp_path):
    """The loop must not wait out its sleep (or the grace period) when the pod stops."""
    fake_aws = tmp_path / "aws"
    fake_aws.write_text('#!/bin/sh\necho synced >> "$SYNC_LOG"\n')
    fake_aws.chmod(0o755)
    log = tmp_path / "sync.log"
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "SYNC_LOG": str(log)}
    process = subprocess.Popen([shell, "-c", _sidecar_command(interval=30)], env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 5
        while not (log.exists() and log.read_text()) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert log.read_text().strip() == "synced"  # one sync ran; now it sleeps for 30 s
        time.sleep(0.1)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=3) == 0
        assert time.monotonic() - started < 2
    finally:
        if process.poll() is None:
            process.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the orphaned background sleep


def test_the_shell_test_ran_somewhere():
    assert SHELLS and shutil.which("sleep")


def test_airflow_never_logs_in_as_the_master_user():
    from config import ConfigError
    from tests.support import make_settings

    with pytest.raises(ConfigError) as caught:
        make_settings(database={"appUsername": "airflow_admin"})
    [problem] = caught.value.problems
    assert str(problem).startswith('airflow-platform:database.appUsername: given "airflow_admin"; must differ')


def test_airflow_3_0_is_refused_because_its_async_url_cannot_carry_tls():
    from config import ConfigError
    from tests.support import AIRFLOW_ACCESS, make_settings

    with pytest.raises(ConfigError) as caught:
        make_settings(airflow={**AIRFLOW_ACCESS, "version": "3.0.6"})
    [problem] = caught.value.problems
    assert problem.key == "airflow.version" and "sql_alchemy_conn_async" in problem.message
    assert make_settings(airflow={**AIRFLOW_ACCESS, "version": "3.1.0"}).airflow.major == 3
