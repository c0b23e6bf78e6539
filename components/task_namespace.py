"""TaskNamespace: where KubernetesExecutor task pods (DAG code, untrusted) run, apart from every platform Secret.

A pod can mount only Secrets of its own namespace and run only as a service account of its own namespace,
and DAG code chooses much of its pod (`executor_config={"pod_override": ...}` is merged by the scheduler
into the pod it creates). So the task pods get a namespace of their own, holding no platform Secret (on
Airflow 3), their service account (IRSA-annotated, no RBAC at all, no API token), and Roles that let
Airflow's own accounts do exactly what KubernetesExecutor needs there:

- launcher (the scheduler): create, watch, patch and delete task pods, and see their events;
- log reader (the API server / webserver): read running task pods and their logs;
- cleanup (the chart's cleanup CronJob): list and delete finished task pods.

None of these may read Secrets or exec into pods, and no account of the task namespace has any right.

Task pods may not reach the node's instance metadata service either (a NetworkPolicy allows every egress
but that): through it they would get the node role's credentials, and with them the kubelet's rights
(the Node authorizer lets a node read the Secrets of the pods scheduled on it). The namespace's `default`
account gets no API token mounted, like the task account.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.namespace_guardrails import (
    NamespaceGuardrails,
    NamespaceGuardrailsArgs,
    PodSecurityLevel,
    pod_security_labels,
)

IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
CORE = ""
# What each Airflow account needs in the task namespace (cncf-kubernetes KubernetesExecutor, chart 1.19.0's
# pod-launcher / pod-log-reader / cleanup Roles without their pods/exec, and nothing on Secrets).
LAUNCHER_RULES: tuple[dict[str, Any], ...] = (
    {"apiGroups": [CORE], "resources": ["pods"], "verbs": ["create", "get", "list", "watch", "patch", "delete"]},
    {"apiGroups": [CORE], "resources": ["events"], "verbs": ["list", "watch"]},
)
LOG_READER_RULES: tuple[dict[str, Any], ...] = (
    {"apiGroups": [CORE], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [CORE], "resources": ["pods/log"], "verbs": ["get", "list"]},
)
CLEANUP_RULES: tuple[dict[str, Any], ...] = ({"apiGroups": [CORE], "resources": ["pods"], "verbs": ["list", "delete"]},)
# The EC2 instance metadata service (IPv4 and the Nitro IPv6 endpoint): every egress but these.
INSTANCE_METADATA = {"0.0.0.0/0": "169.254.169.254/32", "::/0": "fd00:ec2::254/128"}


@dataclass(frozen=True)
class PlatformAccess:
    """A service account of Airflow's namespace and what it may do in the task namespace."""

    role: str
    """Name of the Role (and RoleBinding) in the task namespace."""
    service_account: str
    rules: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class TaskNamespaceArgs:
    """Inputs of TaskNamespace."""

    namespace: str
    """The task namespace (created here)."""
    platform_namespace: pulumi.Input[str]
    """Airflow's own namespace, where the accounts granted access live."""
    worker_account: str
    """Service account of the task pods (created here)."""
    worker_role_arn: pulumi.Input[str]
    """IAM role of the task pods (IRSA annotation)."""
    access: Sequence[PlatformAccess]
    """Who of Airflow's namespace may do what here."""
    task_selector: Mapping[str, str]
    """Labels of the task pods."""
    pod_security_level: PodSecurityLevel = "restricted"
    """Pod Security level enforced (restricted is always audited and warned). Default: restricted."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels of the namespace and its objects. Default: none."""
    secrets: Mapping[str, Mapping[str, pulumi.Input[str]]] = field(default_factory=dict)
    """Secrets the task pods need by design (name -> data; Airflow 2: DB URL and Fernet key; git-sync's
    credentials). Default: none."""
    config_maps: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """ConfigMaps the task pods mount (git-sync's known_hosts). Default: none."""
    deny_ingress: bool = False
    """A NetworkPolicy admitting nothing to the task pods (nothing calls them). Default: no."""
    guardrails: NamespaceGuardrailsArgs | None = None
    """ResourceQuota and LimitRange (their `namespace` is replaced by this one). Default: none."""


class TaskNamespace(pulumi.ComponentResource):
    """The task pods' namespace, account and the Roles Airflow's accounts get there."""

    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: TaskNamespaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-platform:kubernetes:TaskNamespace", name, None, opts)
        self._name, self._args = name, args
        child = pulumi.ResourceOptions(parent=self)
        created = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.namespace, labels={**args.labels, **pod_security_labels(args.pod_security_level)}
            ),
            opts=child,
        )
        self.namespace = created.metadata.name
        self.ready: list[pulumi.Resource] = [created]
        self.ready.append(
            k8s.core.v1.ServiceAccount(
                f"{name}-worker-account",
                metadata=self._metadata(args.worker_account, {IRSA_ANNOTATION: args.worker_role_arn}),
                # IRSA's token is projected by the EKS webhook whatever this says; no Kubernetes API token.
                automount_service_account_token=False,
                opts=child,
            )
        )
        # A pod_override may name `default`; it has no right, and now no token either.
        self.ready.append(
            k8s.core.v1.ServiceAccountPatch(
                f"{name}-default-account",
                metadata=k8s.meta.v1.ObjectMetaPatchArgs(
                    name="default", namespace=self.namespace, annotations={"pulumi.com/patchForce": "true"}
                ),
                automount_service_account_token=False,
                opts=child,
            )
        )
        self.ready.append(self._no_instance_metadata())
        for access in args.access:
            self.ready.extend(self._grant(access))
        for secret_name, data in sorted(args.secrets.items()):
            self.ready.append(
                k8s.core.v1.Secret(
                    f"{name}-secret-{secret_name}",
                    metadata=self._metadata(secret_name),
                    type="Opaque",
                    string_data={key: pulumi.Output.secret(value) for key, value in data.items()},
                    opts=child,
                )
            )
        for map_name, data in sorted(args.config_maps.items()):
            self.ready.append(
                k8s.core.v1.ConfigMap(
                    f"{name}-config-{map_name}", metadata=self._metadata(map_name), data=dict(data), opts=child
                )
            )
        if args.deny_ingress:
            self.ready.append(
                k8s.networking.v1.NetworkPolicy(
                    f"{name}-deny-ingress",
                    metadata=self._metadata("task-pods-deny-ingress"),
                    spec={
                        "podSelector": {"matchLabels": dict(args.task_selector)},
                        "policyTypes": ["Ingress"],
                        "ingress": [],
                    },
                    opts=child,
                )
            )
        if args.guardrails is not None:
            guardrails = NamespaceGuardrails(
                f"{name}-guardrails",
                NamespaceGuardrailsArgs(
                    namespace=self.namespace,
                    quota=args.guardrails.quota,
                    container_defaults=args.guardrails.container_defaults,
                    labels=args.guardrails.labels,
                ),
                opts=child,
            )
            self.ready.append(guardrails)
        self.register_outputs({"namespace": self.namespace})

    def _no_instance_metadata(self) -> pulumi.Resource:
        """Every pod of the namespace (DAG code may change its labels) may open anything but the node's IMDS.

        Pod IPs are admitted by a namespace selector too: whether an ipBlock matches pod IPs is left to the
        network plugin."""
        peers: list[dict[str, Any]] = [
            {"ipBlock": {"cidr": cidr, "except": [metadata]}} for cidr, metadata in INSTANCE_METADATA.items()
        ]
        peers.append({"namespaceSelector": {}})
        return k8s.networking.v1.NetworkPolicy(
            f"{self._name}-no-instance-metadata",
            metadata=self._metadata("task-pods-no-instance-metadata"),
            spec={"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": peers}]},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _metadata(
        self, object_name: str, annotations: Mapping[str, pulumi.Input[str]] | None = None
    ) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(
            name=object_name,
            namespace=self.namespace,
            labels={"app.kubernetes.io/managed-by": "pulumi", **self._args.labels},
            annotations=dict(annotations) if annotations else None,
        )

    def _grant(self, access: PlatformAccess) -> list[pulumi.Resource]:
        child = pulumi.ResourceOptions(parent=self)
        role = k8s.rbac.v1.Role(
            f"{self._name}-{access.role}-role",
            metadata=self._metadata(access.role),
            rules=[dict(rule) for rule in access.rules],
            opts=child,
        )
        binding = k8s.rbac.v1.RoleBinding(
            f"{self._name}-{access.role}-binding",
            metadata=self._metadata(access.role),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": access.role},
            subjects=[
                {"kind": "ServiceAccount", "name": access.service_account, "namespace": self._args.platform_namespace}
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role]),
        )
        return [role, binding]
