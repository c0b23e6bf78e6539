"""The KubernetesExecutor task pod template (the chart's `podTemplate` value), built for a namespace of its own.

The chart's default template (`files/pod-template-file.kubernetes-helm-yaml`) gives every task pod the
chart's `standard_airflow_environment` (metadata DB URL, Fernet key, API and JWT secrets) and mounts the
`<release>-config` ConfigMap, which exists only in Airflow's namespace. Ours:

- runs under the task namespace's own service account, with no Kubernetes API token;
- carries no secret on Airflow 3 (a task reaches the API server's Execution API with the short-lived token
  of its workload; the API server decrypts Variables and Connections). On Airflow 2 its processes talk to the
  metadata DB by design: the DB URL and Fernet key come from copies of those two Secrets in the task namespace;
- gets airflow.cfg as environment variables: the template's own Go loop over the chart's `config` renders
  the same `[section] key = value` pairs, through the same `tpl`, as the chart's ConfigMap does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

# The chart's own loop over `config` (templates/configmaps/configmap.yaml), emitting env entries instead of
# airflow.cfg lines; `$` is the chart's root context, as in the ConfigMap.
CONFIG_ENV_LOOP = (
    "{{- range $section, $settings := .Values.config }}{{- range $key, $val := $settings }}\n"
    '- name: {{ printf "AIRFLOW__%s__%s" $section $key | upper | quote }}\n'
    "  value: {{ tpl ($val | toString) $ | quote }}\n"
    "{{- end }}{{- end }}"
)
# Parts the chart renders itself (its helpers), each standing for list items at the marker's place.
CHART_PARTS = {
    "__AIRFLOW_CFG_AS_ENV__": None,
    "__GIT_SYNC_INIT__": '{{- include "git_sync_container" (dict "Values" .Values "is_init" "true" "Template" .Template)'
    " | nindent %d }}",
    "__GIT_SYNC_KEY_VOLUME__": '{{- include "git_sync_ssh_key_volume" . | nindent %d }}',
    "__GIT_DAGS_MOUNT__": '{{- include "airflow_dags_mount" . | nindent %d }}',
}


@dataclass(frozen=True)
class SecretEnv:
    """An environment variable a task pod reads from a Secret of its own namespace."""

    name: str
    secret: str
    key: str


@dataclass(frozen=True)
class TaskPodSpec:
    """Everything the task pod template states, in Kubernetes terms."""

    release: str
    """Helm release name (the `release` label the executor's watcher and the network policies select)."""
    image: str
    """Airflow image, repository:tag (the executor may override it from `[kubernetes_executor]`)."""
    pull_policy: str
    service_account: str
    """The task namespace's account of the task pods."""
    logs_folder: str
    """Where task logs are written before the S3 upload (an emptyDir)."""
    resources: Mapping[str, Any]
    """Requests and limits of the `base` container."""
    pod_security: Mapping[str, Any]
    container_security: Mapping[str, Any]
    env: Sequence[Mapping[str, str]]
    """Plain environment (AIRFLOW_HOME, the log connection without keys); the config follows as env."""
    secret_env: Sequence[SecretEnv] = ()
    """Environment from Secrets of the task namespace (Airflow 2 only: DB URL and Fernet key)."""
    init_containers: Sequence[Mapping[str, Any]] = ()
    """DAG sync init containers (S3 sync)."""
    volumes: Sequence[Mapping[str, Any]] = ()
    """Extra volumes (the S3 DAG folder)."""
    volume_mounts: Sequence[Mapping[str, Any]] = ()
    """Extra mounts of the `base` container."""
    git_sync: bool = False
    """Add the chart's git-sync init container and DAG volume (rendered by the chart)."""
    git_ssh: bool = False
    """git-sync clones over SSH: add the chart's SSH key volume."""
    git_known_hosts_config_map: str | None = None
    """ConfigMap of the task namespace holding `known_hosts` (git-sync over SSH), mounted as `config`."""
    termination_grace_seconds: int = 600
    """The chart's default for task pods (`workers.terminationGracePeriodSeconds`)."""


def _secret_env(item: SecretEnv) -> dict[str, Any]:
    return {"name": item.name, "valueFrom": {"secretKeyRef": {"name": item.secret, "key": item.key}}}


def task_pod(spec: TaskPodSpec) -> dict[str, Any]:
    """The pod as a document (Go-template placeholders for the chart-rendered parts)."""
    env = [*spec.env, *(_secret_env(item) for item in spec.secret_env), "__AIRFLOW_CFG_AS_ENV__"]
    mounts: list[Any] = [{"name": "logs", "mountPath": spec.logs_folder}, *spec.volume_mounts]
    volumes: list[Any] = [{"name": "logs", "emptyDir": {}}, *spec.volumes]
    init: list[Any] = list(spec.init_containers)
    if spec.git_sync:
        mounts.append("__GIT_DAGS_MOUNT__")
        volumes.append({"name": "dags", "emptyDir": {}})
        if spec.git_ssh:
            volumes.append("__GIT_SYNC_KEY_VOLUME__")
        init.insert(0, "__GIT_SYNC_INIT__")
        if spec.git_known_hosts_config_map:
            volumes.append({"name": "config", "configMap": {"name": spec.git_known_hosts_config_map}})
    container = {
        "name": "base",
        "image": spec.image,
        "imagePullPolicy": spec.pull_policy,
        "env": env,
        "resources": dict(spec.resources),
        "securityContext": dict(spec.container_security),
        "volumeMounts": mounts,
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "placeholder-name",
            "labels": {"tier": "airflow", "component": "worker", "release": spec.release},
            "annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"},
        },
        "spec": {
            "initContainers": init,
            "containers": [container],
            "restartPolicy": "Never",
            "securityContext": dict(spec.pod_security),
            "serviceAccountName": spec.service_account,
            # IRSA's web-identity token is projected by the EKS webhook; the task needs no Kubernetes API token.
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": spec.termination_grace_seconds,
            "volumes": volumes,
        },
    }


class _NoAliases(yaml.SafeDumper):
    """Write repeated mappings out in full (a Go template is read by people; anchors help nobody)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _chart_part(marker: str, indent: int) -> str:
    if marker == "__AIRFLOW_CFG_AS_ENV__":
        return "\n".join(" " * indent + line for line in CONFIG_ENV_LOOP.split("\n"))
    return " " * indent + (CHART_PARTS[marker] % indent)


def pod_template_text(spec: TaskPodSpec) -> str:
    """The `podTemplate` value: YAML with the chart-rendered parts as Go templates (the chart runs `tpl`)."""
    text = yaml.dump(task_pod(spec), Dumper=_NoAliases, sort_keys=False, default_flow_style=False, width=10_000)
    lines = []
    for line in text.split("\n"):
        item = line.lstrip()
        marker = item[2:] if item.startswith("- ") else None
        if marker in CHART_PARTS:
            lines.append(_chart_part(marker, len(line) - len(item)))
        else:
            lines.append(line)
    return "\n".join(lines)
