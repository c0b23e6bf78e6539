"""What a stack's pods really get, read from the program's offline run and the rendered chart.

Commands, env (secretKeyRef and configMapKeyRef resolved from the run's Secrets and the chart's
objects), airflow.cfg, webserver_config.py, the task pod template, PgBouncer's files and the bootstrap
Job's environment. Nothing here is hand-written per stack: a new key in the values shows up here.
"""

from __future__ import annotations

import base64
import configparser
from dataclasses import dataclass
from functools import cache
from typing import Any

from airflow_chart.render import RenderedChart, render_chart
from offline import Inventory
from offline.engine import unwrap

RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"
SECRET_TYPE = "kubernetes:core/v1:Secret"
JOB_TYPE = "kubernetes:batch/v1:Job"
CONFIG_MAP_TYPE = "kubernetes:core/v1:ConfigMap"
COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")


@dataclass(frozen=True)
class StackPods:
    """One stack's rendered release plus the Secrets and ConfigMaps the program creates beside it."""

    stack: str
    chart: RenderedChart
    secrets: dict[str, dict[str, str]]
    config_maps: dict[str, dict[str, str]]
    bootstrap_job: dict[str, Any]
    values_config: dict[str, dict[str, Any]]
    """The `config` section of the Helm values: the airflow.cfg keys this project sets."""

    @property
    def release(self) -> str:
        return self.chart.release

    @property
    def namespace(self) -> str:
        return self.chart.namespace

    def cfg(self) -> configparser.ConfigParser:
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(self.chart.airflow_cfg())
        return parser

    def deployment(self, component: str) -> dict[str, Any] | None:
        return self.chart.find("Deployment", f"{self.release}-{component}")

    def container(self, component: str) -> dict[str, Any]:
        """The main container of a component's Deployment (named after the component)."""
        deployment = self.deployment(component)
        if deployment is None:
            raise KeyError(f"{self.stack}: the chart renders no {self.release}-{component} Deployment")
        containers = deployment["spec"]["template"]["spec"]["containers"]
        return next(c for c in containers if c["name"] == component)

    def job_container(self, job: str) -> dict[str, Any]:
        spec = self.chart.get("Job", f"{self.release}-{job}")["spec"]["template"]["spec"]
        return spec["containers"][0]

    def task_container(self) -> dict[str, Any]:
        template = self.chart.pod_template()
        if template is None:
            raise KeyError(f"{self.stack}: no pod_template_file.yaml in {self.release}-config")
        return template["spec"]["containers"][0]

    def secret_value(self, name: str, key: str) -> str:
        if name not in self.secrets:
            raise KeyError(f"{self.stack}: no Secret {name!r} (program or chart); Secrets: {sorted(self.secrets)}")
        data = self.secrets[name]
        if key not in data:
            raise KeyError(f"{self.stack}: Secret {name!r} has no key {key!r}; keys: {sorted(data)}")
        return data[key]

    def env(self, container: dict[str, Any]) -> dict[str, str]:
        """The container's env as the kubelet would set it (later duplicates win, as in Kubernetes)."""
        env: dict[str, str] = {}
        for source in container.get("envFrom") or []:
            if "secretRef" in source:
                env.update(self.secrets[source["secretRef"]["name"]])
            elif "configMapRef" in source:
                env.update(self.config_maps[source["configMapRef"]["name"]])
        for item in container.get("env") or []:
            if "value" in item:
                env[item["name"]] = str(item["value"])
                continue
            ref = item.get("valueFrom") or {}
            if "secretKeyRef" in ref:
                env[item["name"]] = self.secret_value(ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"])
            elif "configMapKeyRef" in ref:
                env[item["name"]] = self.config_maps[ref["configMapKeyRef"]["name"]][ref["configMapKeyRef"]["key"]]
            else:
                raise ValueError(f"{self.stack}: env {item['name']} comes from {ref}, which the boot cannot resolve")
        return env

    def config_file(self, config_map: str, key: str) -> str:
        return self.config_maps[config_map][key]

    def has_pgbouncer(self) -> bool:
        return self.deployment("pgbouncer") is not None

    def pgbouncer_files(self) -> dict[str, str]:
        """pgbouncer.ini, users.txt and the TLS pair, from the Secrets the chart's PgBouncer mounts."""
        spec = self.deployment("pgbouncer")["spec"]["template"]["spec"]  # type: ignore[index]
        files: dict[str, str] = {}
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        container = next(c for c in spec["containers"] if c["name"] == "pgbouncer")
        for mount in container.get("volumeMounts", []):
            volume = volumes[mount["name"]]
            secret = (volume.get("secret") or {}).get("secretName")
            if not secret:
                continue
            data = self.secrets[secret]
            if "subPath" in mount:
                files[mount["mountPath"]] = data[mount["subPath"]]
            else:
                for key, value in data.items():
                    files[f"{mount['mountPath'].rstrip('/')}/{key}"] = value
        return files

    def pgbouncer_command(self) -> list[str]:
        container = next(
            c
            for c in self.deployment("pgbouncer")["spec"]["template"]["spec"]["containers"]  # type: ignore[index]
            if c["name"] == "pgbouncer"
        )
        return [*container.get("command", []), *container.get("args", [])]

    def bootstrap_env(self) -> dict[str, str]:
        container = self.bootstrap_job["spec"]["template"]["spec"]["containers"][0]
        return self.env(container)

    def bootstrap_sql(self) -> str:
        """The SQL file the Job mounts (from the ConfigMap the program creates)."""
        spec = self.bootstrap_job["spec"]["template"]["spec"]
        container = spec["containers"][0]
        volumes = {v["name"]: v for v in spec["volumes"]}
        path = container["command"][-1]
        for mount in container["volumeMounts"]:
            if path.startswith(mount["mountPath"] + "/"):
                name = volumes[mount["name"]]["configMap"]["name"]
                return self.config_maps[name][path[len(mount["mountPath"]) + 1 :]]
        raise KeyError(f"{self.stack}: {path} is not mounted in the bootstrap Job")

    def bootstrap_command(self) -> list[str]:
        container = self.bootstrap_job["spec"]["template"]["spec"]["containers"][0]
        return [*container["command"], *container.get("args", [])]


def _chart_data(obj: dict[str, Any]) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}
    data.update(obj.get("stringData") or {})
    return data


def stack_pods(stack: str, inventory: Inventory) -> StackPods:
    """Render the chart as the run's Release asks and collect every Secret/ConfigMap a pod can reference."""
    release = unwrap(inventory.one(RELEASE_TYPE, "airflow-release").inputs)
    chart = render_chart(release["version"], release["values"], release["name"], release["namespace"])
    secrets: dict[str, dict[str, str]] = {}
    config_maps: dict[str, dict[str, str]] = {}
    for obj in chart.of_kind("Secret"):
        secrets[obj["metadata"]["name"]] = _chart_data(obj)
    for obj in chart.of_kind("ConfigMap"):
        config_maps[obj["metadata"]["name"]] = dict(obj.get("data") or {})
    for resource in inventory.of_type(SECRET_TYPE):
        inputs = unwrap(resource.inputs)
        secrets[inputs["metadata"]["name"]] = _chart_data(inputs)
    for resource in inventory.of_type(CONFIG_MAP_TYPE):
        inputs = unwrap(resource.inputs)
        config_maps[inputs["metadata"]["name"]] = dict(inputs.get("data") or {})
    jobs = [unwrap(r.inputs) for r in inventory.of_type(JOB_TYPE)]
    bootstrap = next(j for j in jobs if j["spec"]["template"]["metadata"]["labels"].get("component") == "db-bootstrap")
    return StackPods(stack, chart, secrets, config_maps, bootstrap, dict(release["values"].get("config") or {}))


@cache
def stack_file_pods(stack: str) -> StackPods:
    """A real stack file, run offline and rendered."""
    from tests.support import stack_inventory

    return stack_pods(stack, stack_inventory(stack))
