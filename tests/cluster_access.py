"""What a cluster would hold after `pulumi up`: the rendered chart plus the program's own Kubernetes objects.

Answers the questions the isolation tests ask: which Secrets live where, what a service account may do
(Kubernetes RBAC, evaluated as the API server does: RoleBindings grant in their namespace, ClusterRoleBindings
everywhere; ServiceAccount, group and user subjects), and whether a NetworkPolicy admits a pod.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urlparse

from airflow_chart.render import RenderedChart
from offline import Inventory
from tests.k8s_access import selects
from tests.render_support import program_objects

ALL_NAMESPACES = "*"
# Rights that reach a Secret's content in a namespace: reading it, or starting a pod (directly or through a
# workload controller) that mounts it, or running a command in a pod that has it.
SECRET_REACHING = (
    ("", "secrets", "get"),
    ("", "secrets", "list"),
    ("", "secrets", "watch"),
    ("", "pods", "create"),
    ("", "pods/exec", "create"),
    ("", "pods/exec", "get"),
    ("", "pods/attach", "create"),
    ("", "pods/ephemeralcontainers", "patch"),
    ("", "serviceaccounts/token", "create"),
    ("apps", "deployments", "create"),
    ("apps", "statefulsets", "create"),
    ("apps", "daemonsets", "create"),
    ("apps", "replicasets", "create"),
    ("batch", "jobs", "create"),
    ("batch", "cronjobs", "create"),
)


@dataclass(frozen=True)
class Account:
    """A service account."""

    namespace: str
    name: str


class Cluster:
    """The objects of one stack, each with its namespace resolved (chart objects: the release's)."""

    def __init__(self, chart: RenderedChart, inventory: Inventory):
        self.chart = chart
        self.release_namespace = chart.namespace
        objects = [(self.release_namespace, obj) for obj in chart.objects]
        objects += [((obj.get("metadata") or {}).get("namespace", ""), obj) for obj in program_objects(inventory)]
        self.objects: list[tuple[str, dict[str, Any]]] = [
            ((obj.get("metadata") or {}).get("namespace") or default, obj) for default, obj in objects
        ]

    def of_kind(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [(ns, obj) for ns, obj in self.objects if obj["kind"] == kind]

    # -- Secrets --------------------------------------------------------------------------
    @cached_property
    def secrets(self) -> dict[tuple[str, str], dict[str, str]]:
        """(namespace, name) -> data of every Secret (the program's stringData; the chart's data, still base64)."""
        found: dict[tuple[str, str], dict[str, str]] = {}
        for namespace, obj in self.of_kind("Secret"):
            data = dict(obj.get("stringData") or obj.get("data") or {})
            found[(namespace, obj["metadata"]["name"])] = data
        return found

    def secret_namespaces(self) -> set[str]:
        """Namespaces that hold at least one Secret."""
        return {namespace for namespace, _ in self.secrets}

    def secrets_in(self, namespace: str) -> set[str]:
        return {name for ns, name in self.secrets if ns == namespace}

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        """Labels of a namespace, with the one Kubernetes adds to every namespace."""
        labels = {"kubernetes.io/metadata.name": namespace}
        for _, obj in self.of_kind("Namespace"):
            if obj["metadata"]["name"] == namespace:
                labels.update(obj["metadata"].get("labels") or {})
        return labels

    # -- RBAC -----------------------------------------------------------------------------
    def _rules(self, namespace: str, role_ref: Mapping[str, str]) -> list[dict[str, Any]]:
        kind, name = role_ref["kind"], role_ref["name"]
        for ns, obj in self.of_kind(kind):
            if obj["metadata"]["name"] == name and (kind == "ClusterRole" or ns == namespace):
                return list(obj.get("rules") or [])
        return []

    @staticmethod
    def _names(subject: Mapping[str, str], account: Account, binding_namespace: str) -> bool:
        kind, name = subject.get("kind"), subject.get("name")
        if kind == "ServiceAccount":
            return name == account.name and subject.get("namespace", binding_namespace) == account.namespace
        if kind == "Group":
            return name in {
                "system:serviceaccounts",
                f"system:serviceaccounts:{account.namespace}",
                "system:authenticated",
            }
        if kind == "User":
            return name == f"system:serviceaccount:{account.namespace}:{account.name}"
        return False

    def rights(self, account: Account) -> set[tuple[str, str, str, str]]:
        """(namespace or `*`, API group, resource, verb) the account may use; `*` stays `*`."""
        granted: set[tuple[str, str, str, str]] = set()
        for kind in ("RoleBinding", "ClusterRoleBinding"):
            for namespace, binding in self.of_kind(kind):
                if not any(self._names(s, account, namespace) for s in binding.get("subjects") or []):
                    continue
                where = namespace if kind == "RoleBinding" else ALL_NAMESPACES
                for rule in self._rules(namespace, binding["roleRef"]):
                    for group in rule.get("apiGroups") or [""]:
                        for resource in rule.get("resources") or []:
                            for verb in rule.get("verbs") or []:
                                granted.add((where, group, resource, verb))
        return granted

    def reaching_rights(self, account: Account, namespace: str) -> set[tuple[str, str, str]]:
        """The account's rights in ``namespace`` that reach Secrets there (see SECRET_REACHING)."""
        found = set()
        for where, group, resource, verb in self.rights(account):
            if where not in (namespace, ALL_NAMESPACES):
                continue
            for wanted in SECRET_REACHING:
                if group in (wanted[0], "*") and resource in (wanted[1], "*") and verb in (wanted[2], "*"):
                    found.add(wanted)
        return found

    def pod_creators(self, account: Account) -> set[str]:
        """Namespaces (or `*`) where the account may create pods."""
        return {
            where
            for where, group, resource, verb in self.rights(account)
            if group in ("", "*") and resource in ("pods", "*") and verb in ("create", "*")
        }

    # -- network --------------------------------------------------------------------------
    def admits(
        self, target_namespace: str, target_labels: Mapping[str, str], port: int, source: tuple[str, Mapping[str, str]]
    ) -> bool | None:
        """Whether the NetworkPolicies selecting a target pod admit a source pod (namespace, labels) on a port.

        None when no policy selects the target (everything is admitted)."""
        selecting = [
            obj
            for ns, obj in self.of_kind("NetworkPolicy")
            if ns == target_namespace
            and "Ingress" in obj["spec"].get("policyTypes", ["Ingress"])
            and selects(obj["spec"].get("podSelector") or {}, target_labels)
        ]
        if not selecting:
            return None
        source_namespace, source_labels = source
        for policy in selecting:
            for rule in policy["spec"].get("ingress") or []:
                ports = rule.get("ports")
                if ports and not any(int(p.get("port", port)) == port for p in ports):
                    continue
                peers = rule.get("from")
                if not peers:
                    return True
                for peer in peers:
                    if "ipBlock" in peer:
                        continue
                    if "namespaceSelector" in peer:
                        in_namespace = selects(peer["namespaceSelector"], self.namespace_labels(source_namespace))
                    else:
                        in_namespace = source_namespace == target_namespace
                    if in_namespace and selects(peer.get("podSelector") or {}, source_labels):
                        return True
        return False


def secret_values(data: Mapping[str, str]) -> set[str]:
    """The values of a Secret worth hiding: passwords inside URIs, and any value of 20 characters or more
    (passwords, keys, certificates); short values (user names, ports, database names) are left out."""
    values = set()
    for value in data.values():
        if "://" in value:
            password = urlparse(value).password
            if password:
                values.add(password)
        elif len(value) >= 20:
            values.add(value)
    return values


def pod_secret_refs(spec: Mapping[str, Any]) -> set[str]:
    """Every Secret a pod spec names: env and envFrom of every container, volumes (projected too)."""
    names = set()
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    for container in containers:
        if not isinstance(container, Mapping):
            continue
        for env in container.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                names.add(ref["name"])
        for source in container.get("envFrom") or []:
            if "secretRef" in source:
                names.add(source["secretRef"]["name"])
    for volume in spec.get("volumes") or []:
        if "secret" in volume:
            names.add(volume["secret"]["secretName"])
        for source in (volume.get("projected") or {}).get("sources") or []:
            if "secret" in source:
                names.add(source["secret"]["name"])
    return names
