"""Render the vendored official chart offline (helm-python-sdk) and look up the objects it makes.

Used by the tests and tools that need what the cluster would really receive: the chart's templates
applied to the values a stack builds. No cluster is contacted (`lookup` returns nothing).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CHARTS_DIR = Path(__file__).resolve().parent.parent / "charts" / "airflow"
POD_TEMPLATE_KEY = "pod_template_file.yaml"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Kinds without a namespace; every other rendered object lands in the release's namespace.
_CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "PriorityClass", "Namespace", "StorageClass"}


def chart_dir(version: str) -> Path:
    """The vendored copy of one chart version."""
    return CHARTS_DIR / version


@cache
def _chart_at(folder: Path) -> Any:
    import helm_python  # imported late: the Pulumi program itself never renders

    return helm_python.Chart.load(str(folder))


def _chart(version: str) -> Any:
    return _chart_at(chart_dir(version))


def plain_numbers(value: Any) -> Any:
    """Whole floats back to ints: Pulumi carries numbers as doubles, and Go templates print 5e+04 for them."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {key: plain_numbers(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain_numbers(item) for item in value]
    return value


@dataclass(frozen=True)
class RenderedChart:
    """The Kubernetes objects one release renders to (NOTES.txt and empty documents dropped)."""

    release: str
    namespace: str
    objects: tuple[dict[str, Any], ...]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        """The one object of this kind and name; KeyError naming what exists otherwise."""
        for obj in self.of_kind(kind):
            if obj["metadata"]["name"] == name:
                return obj
        known = sorted(obj["metadata"]["name"] for obj in self.of_kind(kind))
        raise KeyError(f"no {kind} {name!r} rendered; {kind}s: {known}")

    def find(self, kind: str, name: str) -> dict[str, Any] | None:
        try:
            return self.get(kind, name)
        except KeyError:
            return None

    def pod_specs(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(`Kind/name`, pod spec) of every workload, plus the KubernetesExecutor pod template."""
        for obj in self.objects:
            spec = _pod_spec(obj)
            if spec is not None:
                yield f"{obj['kind']}/{obj['metadata']['name']}", spec
        template = self.pod_template()
        if template is not None:
            yield "pod-template-file", template["spec"]

    def pod_template(self) -> dict[str, Any] | None:
        """The task pod template the scheduler hands KubernetesExecutor (from the config ConfigMap)."""
        config = self.find("ConfigMap", f"{self.release}-config")
        text = (config or {}).get("data", {}).get(POD_TEMPLATE_KEY)
        return yaml.load(text, Loader=_LOADER) if text else None

    def airflow_cfg(self) -> str:
        """The rendered airflow.cfg."""
        return self.get("ConfigMap", f"{self.release}-config")["data"]["airflow.cfg"]


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    spec = obj.get("spec") or {}
    if obj["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
        return spec["template"]["spec"]
    if obj["kind"] == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]["spec"]
    if obj["kind"] == "Pod":
        return spec
    return None


def render_chart(version: str, values: Mapping[str, Any], release: str, namespace: str) -> RenderedChart:
    """Render chart `version` as `helm install` would (client side), values first made Go-template safe."""
    return render_chart_at(chart_dir(version), values, release, namespace)


def render_chart_at(folder: Path, values: Mapping[str, Any], release: str, namespace: str) -> RenderedChart:
    """Render the vendored chart in ``folder`` (another chart the program installs, e.g. the log shipper's)."""
    manifests = _chart_at(folder).render(plain_numbers(values), name=release, namespace=namespace, is_install=True)
    objects: list[dict[str, Any]] = []
    for path in sorted(manifests):
        if not path.endswith((".yaml", ".yml")):
            continue
        for doc in yaml.load_all(manifests[path], Loader=_LOADER):
            if doc and doc["kind"] not in _CLUSTER_SCOPED:
                doc["metadata"].setdefault("namespace", namespace)  # what `helm install -n` does
            if doc:
                objects.append(doc)
    return RenderedChart(release=release, namespace=namespace, objects=tuple(objects))
