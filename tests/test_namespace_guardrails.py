"""Namespace guardrails: quota arithmetic against the task pods, container defaults, Pod Security `restricted`."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from components.db_bootstrap import bootstrap_pod_spec
from components.namespace_guardrails import (
    LongRunning,
    NamespaceGuardrails,
    NamespaceGuardrailsArgs,
    PodResources,
    cpu_millicores,
    effective_pod,
    format_cpu,
    format_memory,
    memory_bytes,
    pod_security_labels,
    quota_sizing,
    restricted_violations,
    surge_pods,
)
from offline import Inventory

MI = 1024**2
TASK = PodResources.of({"cpu": "500m", "memory": "1Gi"}, {"cpu": "2", "memory": "2Gi"})
SIDECAR = PodResources.of({"cpu": "50m", "memory": "64Mi"}, {"cpu": "250m", "memory": "256Mi"})
DEFAULTS = PodResources.of({"cpu": "100m", "memory": "128Mi"}, {"cpu": "500m", "memory": "512Mi"})


def test_quantities_parse_and_format() -> None:
    assert [cpu_millicores(q) for q in ("500m", "0.5", "2", "1.25", "0.0001")] == [500, 500, 2000, 1250, 1]
    assert [memory_bytes(q) for q in ("512Mi", "2Gi", "1G", "1048576", "1.5Gi")] == [
        512 * MI,
        2048 * MI,
        10**9,
        MI,
        1536 * MI,
    ]
    assert (format_cpu(28000), format_cpu(6900), format_memory(10**9)) == ("28", "6900m", "954Mi")
    with pytest.raises(ValueError, match="CPU"):
        cpu_millicores("two")


def test_a_pod_counts_its_containers_or_its_largest_init_container() -> None:
    assert effective_pod([TASK], [SIDECAR]) == TASK
    big_init = PodResources.of({"cpu": "1", "memory": "64Mi"}, {"cpu": "1", "memory": "64Mi"})
    assert effective_pod([TASK, SIDECAR], [big_init]) == PodResources(1000, 1088 * MI, 2250, 2304 * MI)


def test_surge_follows_max_surge() -> None:
    assert [surge_pods(2, "25%"), surge_pods(5, "25%"), surge_pods(2, "100%"), surge_pods(5, 1)] == [1, 2, 2, 1]


def test_quota_fits_every_task_pod_while_every_component_rolls_and_jobs_run() -> None:
    scheduler = LongRunning("scheduler", replicas=2, surge=surge_pods(2, "25%"), pod=effective_pod([TASK, DEFAULTS]))
    api_server = LongRunning("api-server", replicas=5, surge=1, pod=TASK)  # HPA maximum
    sizing = quota_sizing(4, TASK, [scheduler, api_server], one_off=[DEFAULTS])
    assert sizing.tasks == TASK.times(4)
    assert sizing.hard == {
        "pods": "14",  # 4 tasks + 3 scheduler + 6 api-server + 1 job
        "requests.cpu": "6900m",  # 4x500 + 3x600 + 6x500 + 100
        "requests.memory": "13824Mi",  # 4x1024 + 3x1152 + 6x1024 + 128
        "limits.cpu": "28",  # 4x2 + 3x2.5 + 6x2 + 0.5
        "limits.memory": "28672Mi",  # 4x2048 + 3x2560 + 6x2048 + 512
    }
    with_launched = quota_sizing(
        4, TASK, [scheduler, api_server], one_off=[DEFAULTS], launched_pods=2, launched_pod=DEFAULTS
    )
    assert with_launched.pods == 16
    assert with_launched.total == sizing.total + DEFAULTS.times(2)


def test_quota_grows_linearly_with_the_task_pods() -> None:
    components = [LongRunning("triggerer", 2, 2, TASK)]
    small, large = quota_sizing(10, TASK, components), quota_sizing(110, TASK, components)
    assert large.pods - small.pods == 100
    assert large.total == small.total + TASK.times(100)
    with pytest.raises(ValueError, match="at least 1"):
        quota_sizing(0, TASK, components)


def test_pod_security_labels_enforce_the_level_and_always_audit_restricted() -> None:
    assert pod_security_labels("baseline") == {
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
    }


def test_the_db_bootstrap_pod_is_restricted() -> None:
    assert restricted_violations(bootstrap_pod_spec("postgres:17", "secret", "sql")) == []


def test_restricted_check_reports_each_missing_setting() -> None:
    spec = {
        "securityContext": {"runAsUser": 50000, "fsGroup": 0},  # the chart's default pod context
        "initContainers": [{"name": "wait", "securityContext": {"allowPrivilegeEscalation": False}}],
        "containers": [
            {
                "name": "main",
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]},
                    "runAsNonRoot": True,
                    "seccompProfile": {"type": "Unconfined"},
                },
            }
        ],
        "volumes": [{"name": "host", "hostPath": {"path": "/var/run"}}, {"name": "tmp", "emptyDir": {}}],
    }
    assert restricted_violations(spec) == [
        "volume host: type hostPath is not allowed",
        "initContainer wait: capabilities.drop does not contain ALL",
        "initContainer wait: runAsNonRoot is not true (container or pod)",
        "initContainer wait: seccompProfile is not RuntimeDefault or Localhost (container or pod)",
        "container main: adds capabilities SYS_ADMIN",
        "container main: seccompProfile is not RuntimeDefault or Localhost (container or pod)",
    ]


def test_component_creates_the_quota_and_container_defaults(run_components: Callable[..., Inventory]) -> None:
    sizing = quota_sizing(8, TASK, [LongRunning("scheduler", 1, 1, TASK)])

    def program() -> None:
        NamespaceGuardrails(
            "guardrails",
            NamespaceGuardrailsArgs(namespace="airflow-prod", quota=sizing, container_defaults=DEFAULTS),
        )

    inventory = run_components(program)
    quota = inventory.one("kubernetes:core/v1:ResourceQuota").inputs
    assert quota["metadata"]["namespace"] == "airflow-prod"
    assert quota["spec"] == {"hard": sizing.hard}
    [limits] = inventory.one("kubernetes:core/v1:LimitRange").inputs["spec"]["limits"]
    assert limits == {
        "type": "Container",
        "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
        "default": {"cpu": "500m", "memory": "512Mi"},
    }
