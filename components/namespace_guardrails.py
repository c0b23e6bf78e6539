"""NamespaceGuardrails: a ResourceQuota sized so every task pod the executors may run still fits, and a LimitRange.

The quota arithmetic is a pure function (`quota_sizing`): the task pods x the task pod size, plus every
long-running component at its most replicas *and* its rolling-update surge (a `helm upgrade` that
changes the config rolls them all at once, and surge pods count against the quota), plus the one-off
pods (migration job, cleanup, create-user, DB bootstrap). Once a quota covers requests and limits,
Kubernetes refuses any pod with a container that sets neither: the LimitRange gives such containers
(the chart's log groomers, statsd, jobs; pods that tasks launch) defaults, and those must be counted
in the sizing with the same numbers.

`restricted_violations` checks a pod spec against the Pod Security Standard `restricted`: the
restricted-only checks (volume types, non-root, seccomp, privilege escalation, capabilities) and the
baseline host-namespace, privileged and hostPort checks; baseline's AppArmor, SELinux, sysctl,
procMount and hostProcess checks are not repeated (nothing here sets those fields).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s

_CPU = re.compile(r"(\d+(?:\.\d+)?)(m?)")
_MEMORY = re.compile(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?")
_MEMORY_UNITS = {
    None: 1,
    "k": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
}
MIB = 1024**2


def cpu_millicores(quantity: str) -> int:
    """Kubernetes CPU quantity (`500m`, `0.5`, `2`) in millicores, rounded up."""
    match = _CPU.fullmatch(quantity)
    if not match:
        raise ValueError(f"not a CPU quantity: {quantity!r}")
    number = Decimal(match.group(1))
    return math.ceil(number if match.group(2) else number * 1000)


def memory_bytes(quantity: str) -> int:
    """Kubernetes memory quantity (`512Mi`, `2Gi`, `1G`, `1048576`) in bytes, rounded up."""
    match = _MEMORY.fullmatch(quantity)
    if not match:
        raise ValueError(f"not a memory quantity: {quantity!r}")
    return math.ceil(Decimal(match.group(1)) * _MEMORY_UNITS[match.group(2)])


def format_cpu(millicores: int) -> str:
    """Millicores as a quantity: whole cores when exact (`12`), else millicores (`12500m`)."""
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def format_memory(size: int) -> str:
    """Bytes as a quantity in Mi, rounded up to a whole MiB (`1536Mi`)."""
    return f"{math.ceil(size / MIB)}Mi"


@dataclass(frozen=True)
class PodResources:
    """What one pod (or container) asks for and may use: CPU in millicores, memory in bytes."""

    requests_cpu: int
    requests_memory: int
    limits_cpu: int
    limits_memory: int

    @classmethod
    def of(cls, requests: Mapping[str, str], limits: Mapping[str, str]) -> PodResources:
        """From Kubernetes quantities: `{"cpu": "500m", "memory": "1Gi"}` for requests and limits."""
        return cls(
            cpu_millicores(requests["cpu"]),
            memory_bytes(requests["memory"]),
            cpu_millicores(limits["cpu"]),
            memory_bytes(limits["memory"]),
        )

    def __add__(self, other: PodResources) -> PodResources:
        return PodResources(
            self.requests_cpu + other.requests_cpu,
            self.requests_memory + other.requests_memory,
            self.limits_cpu + other.limits_cpu,
            self.limits_memory + other.limits_memory,
        )

    def times(self, count: int) -> PodResources:
        """``count`` pods of this size."""
        return PodResources(
            self.requests_cpu * count,
            self.requests_memory * count,
            self.limits_cpu * count,
            self.limits_memory * count,
        )


NOTHING = PodResources(0, 0, 0, 0)


def effective_pod(containers: Sequence[PodResources], init_containers: Sequence[PodResources] = ()) -> PodResources:
    """What a pod counts for in a quota: per resource, the larger of its containers' sum and its largest init container."""
    total = NOTHING
    for container in containers:
        total += container
    for init in init_containers:
        total = PodResources(
            max(total.requests_cpu, init.requests_cpu),
            max(total.requests_memory, init.requests_memory),
            max(total.limits_cpu, init.limits_cpu),
            max(total.limits_memory, init.limits_memory),
        )
    return total


@dataclass(frozen=True)
class LongRunning:
    """A Deployment/StatefulSet of the release: its most replicas, rolling-update surge and pod size."""

    name: str
    replicas: int
    """Most replicas it runs (the HPA maximum when autoscaled)."""
    surge: int
    """Extra pods during a rolling update (`maxSurge`: 1, or 100% = replicas, or ceil(25%))."""
    pod: PodResources
    """One pod, as `effective_pod` counts it."""

    @property
    def pods(self) -> int:
        """Pods at the peak of a rolling update."""
        return self.replicas + self.surge


@dataclass(frozen=True)
class QuotaSizing:
    """A ResourceQuota's hard limits and where each part comes from."""

    pods: int
    total: PodResources
    tasks: PodResources
    long_running: PodResources
    one_off: PodResources

    @property
    def hard(self) -> dict[str, str]:
        """The ResourceQuota's `spec.hard`."""
        return {
            "pods": str(self.pods),
            "requests.cpu": format_cpu(self.total.requests_cpu),
            "requests.memory": format_memory(self.total.requests_memory),
            "limits.cpu": format_cpu(self.total.limits_cpu),
            "limits.memory": format_memory(self.total.limits_memory),
        }


def quota_sizing(
    task_pods: int,
    task_pod: PodResources,
    long_running: Sequence[LongRunning],
    one_off: Sequence[PodResources] = (),
    launched_pods: int = 0,
    launched_pod: PodResources = NOTHING,
) -> QuotaSizing:
    """Quota that admits ``task_pods`` task pods while every component rolls and every job runs.

    For the KubernetesExecutor that is `[core] parallelism` x the schedulers (each runs that many).

    ``launched_pods`` pods of ``launched_pod`` size (e.g. KubernetesPodOperator pods, which run
    beside their task pod and get the LimitRange defaults) are added on top.
    """
    if task_pods < 1:
        raise ValueError("task_pods must be at least 1")
    tasks = task_pod.times(task_pods) + launched_pod.times(launched_pods)
    components = NOTHING
    for component in long_running:
        components += component.pod.times(component.pods)
    jobs = NOTHING
    for pod in one_off:
        jobs += pod
    pods = task_pods + launched_pods + sum(c.pods for c in long_running) + len(one_off)
    return QuotaSizing(pods, tasks + components + jobs, tasks, components, jobs)


def platform_sizing(long_running: Sequence[LongRunning], one_off: Sequence[PodResources] = ()) -> QuotaSizing:
    """Quota of a namespace without task pods (they run in a namespace of their own): every component at its
    most replicas while rolling, plus every job."""
    components = NOTHING
    for component in long_running:
        components += component.pod.times(component.pods)
    jobs = NOTHING
    for pod in one_off:
        jobs += pod
    pods = sum(c.pods for c in long_running) + len(one_off)
    return QuotaSizing(pods, components + jobs, NOTHING, components, jobs)


def surge_pods(replicas: int, max_surge: int | str) -> int:
    """Extra pods a Deployment adds during a rolling update (`maxSurge` as a number or a percentage)."""
    if isinstance(max_surge, int):
        return max_surge
    if not max_surge.endswith("%"):
        raise ValueError(f"maxSurge must be a number or a percentage: {max_surge!r}")
    return math.ceil(replicas * int(max_surge[:-1]) / 100)


PodSecurityLevel = Literal["restricted", "baseline"]


def pod_security_labels(enforce: PodSecurityLevel) -> dict[str, str]:
    """Namespace labels: ``enforce`` the level, and always audit and warn at `restricted`."""
    return {
        "pod-security.kubernetes.io/enforce": enforce,
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
    }


_RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
_SECCOMP_OK = {"RuntimeDefault", "Localhost"}


def restricted_violations(pod_spec: Mapping[str, Any]) -> list[str]:
    """Why a pod spec fails Pod Security `restricted` (empty when it complies), one line per problem."""
    problems: list[str] = []
    pod = pod_spec.get("securityContext") or {}
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod_spec.get(flag):
            problems.append(f"pod: {flag} is on")
    for volume in pod_spec.get("volumes") or []:
        kinds = sorted(set(volume) - {"name"} - _RESTRICTED_VOLUMES)
        if kinds:
            problems.append(f"volume {volume.get('name')}: type {', '.join(kinds)} is not allowed")
    if pod.get("runAsUser") == 0:
        problems.append("pod: runAsUser is 0")
    pod_non_root = pod.get("runAsNonRoot") is True
    pod_seccomp = (pod.get("seccompProfile") or {}).get("type") in _SECCOMP_OK
    containers = [("initContainer", c) for c in pod_spec.get("initContainers") or []]
    containers += [("container", c) for c in pod_spec.get("containers") or []]
    containers += [("ephemeralContainer", c) for c in pod_spec.get("ephemeralContainers") or []]
    for kind, container in containers:
        where = f"{kind} {container.get('name')}"
        context = container.get("securityContext") or {}
        if context.get("privileged"):
            problems.append(f"{where}: privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation is not false")
        capabilities = context.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            problems.append(f"{where}: capabilities.drop does not contain ALL")
        added = sorted(set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"})
        if added:
            problems.append(f"{where}: adds capabilities {', '.join(added)}")
        non_root = context.get("runAsNonRoot")
        if non_root is False or (non_root is None and not pod_non_root):
            problems.append(f"{where}: runAsNonRoot is not true (container or pod)")
        if context.get("runAsUser") == 0:
            problems.append(f"{where}: runAsUser is 0")
        seccomp = (context.get("seccompProfile") or {}).get("type")
        if seccomp not in _SECCOMP_OK and not (seccomp is None and pod_seccomp):
            problems.append(f"{where}: seccompProfile is not RuntimeDefault or Localhost (container or pod)")
        if any(port.get("hostPort") for port in container.get("ports") or []):
            problems.append(f"{where}: uses a hostPort")
    return problems


@dataclass(frozen=True)
class NamespaceGuardrailsArgs:
    """Inputs of NamespaceGuardrails."""

    namespace: pulumi.Input[str]
    """Namespace the quota and limit range apply to."""
    quota: QuotaSizing
    """Hard limits, from `quota_sizing`."""
    container_defaults: PodResources
    """Requests and limits given to each container that sets none (LimitRange `defaultRequest`/`default`)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels of both objects. Default: none."""


class NamespaceGuardrails(pulumi.ComponentResource):
    """A ResourceQuota and a LimitRange in one namespace."""

    def __init__(self, name: str, args: NamespaceGuardrailsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-platform:kubernetes:NamespaceGuardrails", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        defaults = args.container_defaults
        self.quota = k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata=self._metadata(args, "airflow-quota"),
            spec=k8s.core.v1.ResourceQuotaSpecArgs(hard=args.quota.hard),
            opts=child,
        )
        self.limit_range = k8s.core.v1.LimitRange(
            f"{name}-limits",
            metadata=self._metadata(args, "airflow-container-defaults"),
            spec=k8s.core.v1.LimitRangeSpecArgs(
                limits=[
                    k8s.core.v1.LimitRangeItemArgs(
                        type="Container",
                        default_request={
                            "cpu": format_cpu(defaults.requests_cpu),
                            "memory": format_memory(defaults.requests_memory),
                        },
                        default={
                            "cpu": format_cpu(defaults.limits_cpu),
                            "memory": format_memory(defaults.limits_memory),
                        },
                    )
                ]
            ),
            opts=child,
        )
        self.register_outputs({"quotaName": self.quota.metadata.name, "limitRangeName": self.limit_range.metadata.name})

    @staticmethod
    def _metadata(args: NamespaceGuardrailsArgs, object_name: str) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(
            name=object_name,
            namespace=args.namespace,
            labels={"app.kubernetes.io/managed-by": "pulumi", **args.labels},
        )
