"""The pinned chart rendered with each stack's own values: what the cluster would really receive.

The values tests prove what we ask for; these prove what chart 1.19.0's templates make of it. Every stack file
is rendered, plus an Airflow 2 variant (prod on Airflow 2 with password login); prod itself is the SSO stack.
"""

from __future__ import annotations

import configparser
import json
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlparse

import pytest

from airflow_chart.render import RenderedChart
from offline import Inventory
from offline.engine import unwrap
from tests.k8s_access import Pod, ingress_allowed, rbac_allows, selects
from tests.render_support import namespace_objects, program_objects, rendered
from tests.support import STACKS, stack_inventory, stack_settings
from tests.test_runtime_facts import IMAGE_USERS
from tests.variants import airflow_2_stack

VARIANTS: dict[str, Callable[[], Inventory]] = {stack: partial(stack_inventory, stack) for stack in STACKS}
VARIANTS["airflow-2"] = partial(airflow_2_stack, "prod")
SSO_VARIANTS = [name for name in STACKS if stack_settings(name).airflow.auth.type == "oidc"]
BINDING = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"


def build(variant: str) -> tuple[Inventory, RenderedChart]:
    inventory = VARIANTS[variant]()
    return inventory, rendered(inventory)


def airflow_cfg(chart: RenderedChart) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(chart.airflow_cfg())
    return parser


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def all_pod_specs(inventory: Inventory) -> list[tuple[str, dict[str, Any]]]:
    """Every pod the namespace runs: the chart's workloads, the task pod template, the program's Jobs."""
    chart = rendered(inventory)
    ours = [
        (f"{o['kind']}/{o['metadata']['name']} (program)", o["spec"]["template"]["spec"])
        for o in program_objects(inventory)
        if o["kind"] in {"Job", "Deployment", "StatefulSet", "DaemonSet"}
        and o["metadata"].get("namespace") == chart.namespace
    ]
    return [*chart.pod_specs(), *ours]


# --- names the program wires to ------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_secret_and_config_map_a_pod_mounts_or_reads_exists_in_the_namespace(variant: str) -> None:
    inventory = VARIANTS[variant]()
    existing = {(o["kind"], o["metadata"]["name"]) for o in namespace_objects(inventory)}
    for where, spec in all_pod_specs(inventory):
        wanted: set[tuple[str, str, bool]] = set()
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                wanted.add(("Secret", volume["secret"]["secretName"], volume["secret"].get("optional", False)))
            if "configMap" in volume:
                wanted.add(("ConfigMap", volume["configMap"]["name"], volume["configMap"].get("optional", False)))
            for source in volume.get("projected", {}).get("sources", []):
                for kind, key in (("Secret", "secret"), ("ConfigMap", "configMap")):
                    if key in source:
                        wanted.add((kind, source[key]["name"], source[key].get("optional", False)))
        for container in containers(spec):
            for env in container.get("env", []):
                ref = env.get("valueFrom", {})
                for kind, key in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
                    if key in ref:
                        wanted.add((kind, ref[key]["name"], ref[key].get("optional", False)))
            for source in container.get("envFrom", []):
                for kind, key in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
                    if key in source:
                        wanted.add((kind, source[key]["name"], source[key].get("optional", False)))
        assert wanted, f"{where} reads no Secret or ConfigMap at all?"
        missing = sorted(
            f"{kind}/{name}" for kind, name, optional in wanted if not optional and (kind, name) not in existing
        )
        assert not missing, f"{where} refers to objects nothing creates: {missing}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_target_group_binding_reaches_the_api_containers_port_and_their_probes_use_the_health_path(
    variant: str,
) -> None:
    inventory, chart = build(variant)
    binding = unwrap(inventory.one(BINDING).inputs)["spec"]["serviceRef"]
    service = chart.get("Service", binding["name"])
    [port] = [p for p in service["spec"]["ports"] if p["port"] == binding["port"]]
    target = port.get("targetPort", port["port"])  # Kubernetes' default: the same number
    pods = [
        (where, spec)
        for where, spec in chart.pod_specs()
        if where.startswith("Deployment/")
        and selects(
            {"matchLabels": service["spec"]["selector"]},
            chart.get(*where.split("/"))["spec"]["template"]["metadata"]["labels"],
        )
    ]
    assert [where for where, _ in pods] == [f"Deployment/{binding['name']}"], "the Service selects the API pods only"
    [(_, spec)] = pods
    [api] = [
        c for c in spec["containers"] if any(target in (p["containerPort"], p.get("name")) for p in c.get("ports", []))
    ]
    health_path = unwrap(inventory.one(TARGET_GROUP).inputs)["healthCheck"]["path"]
    probes = [probe for probe in ("livenessProbe", "readinessProbe", "startupProbe") if probe in api]
    assert "readinessProbe" in probes, "the API container has a readiness probe"
    for probe in probes:
        if probe in api:
            http = api[probe]["httpGet"]
            assert http["path"] == health_path, f"{probe} checks {http['path']}, the load balancer {health_path}"
            assert http["port"] in {target, *(p.get("name") for p in api["ports"])}


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_irsa_role_trusts_the_service_account_the_chart_renders_with_its_arn(variant: str) -> None:
    inventory, chart = build(variant)
    accounts = {sa["metadata"]["name"]: sa for sa in chart.of_kind("ServiceAccount")}
    trusted = {}
    for role in inventory.of_type("aws:iam/role:Role"):
        policy = json.loads(unwrap(role.inputs)["assumeRolePolicy"])
        for statement in policy["Statement"]:
            for key, subject in statement.get("Condition", {}).get("StringEquals", {}).items():
                if key.endswith(":sub") and subject.startswith("system:serviceaccount:"):
                    _, _, namespace, name = subject.split(":")
                    trusted[name] = (namespace, f"arn:aws:iam::111122223333:role/{unwrap(role.inputs)['name']}")
    airflow_accounts = {name: value for name, value in trusted.items() if value[0] == chart.namespace}
    assert set(inventory.outputs["roleArns"].values()) == {arn for _, arn in airflow_accounts.values()}
    for name, (_, arn) in airflow_accounts.items():
        assert name in accounts, f"role {arn} trusts service account {name}, which the chart does not render"
        assert accounts[name]["metadata"].get("annotations", {}).get(IRSA_ROLE_ANNOTATION) == arn
    used = {spec.get("serviceAccountName") for _, spec in chart.pod_specs()}
    assert set(airflow_accounts) <= used, "every IRSA service account runs some pod"


# --- security contexts and users --------------------------------------------------------------------------------


def image_key(image: str) -> str:
    repository, _, tag = image.rpartition(":")
    if repository.endswith("apache/airflow") and tag.startswith("airflow-pgbouncer-exporter"):
        return "pgbouncer-exporter"
    if repository.endswith("apache/airflow") and tag.startswith("airflow-pgbouncer"):
        return "pgbouncer"
    return {"apache/airflow": "airflow", "statsd-exporter": "statsd-exporter", "git-sync": "git-sync"}.get(
        repository.split("/", 1)[-1] if repository.startswith("apache/") else repository.rsplit("/", 1)[-1],
        repository.rsplit("/", 1)[-1],
    )


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_pod_meets_the_restricted_pod_security_standard(variant: str) -> None:
    inventory, _ = build(variant)
    for where, spec in all_pod_specs(inventory):
        pod = spec.get("securityContext", {})
        assert not (spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC")), where
        assert not [v["name"] for v in spec.get("volumes", []) if "hostPath" in v], where
        for container in containers(spec):
            context = container.get("securityContext", {})
            name = f"{where} {container['name']}"
            assert context.get("allowPrivilegeEscalation") is False, name
            assert context.get("capabilities", {}).get("drop") == ["ALL"], name
            assert not context.get("privileged"), name
            assert context.get("runAsNonRoot", pod.get("runAsNonRoot")) is True, name
            assert context.get("runAsUser", pod.get("runAsUser")) != 0, name
            seccomp = context.get("seccompProfile", pod.get("seccompProfile", {}))
            assert seccomp.get("type") in {"RuntimeDefault", "Localhost"}, name


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_chart_container_runs_as_its_images_user(variant: str) -> None:
    _, chart = build(variant)
    for where, spec in chart.pod_specs():
        pod = spec.get("securityContext", {})
        for container in containers(spec):
            key = image_key(container["image"])
            assert key in IMAGE_USERS, f"{where} {container['name']}: no known user for image {container['image']}"
            context = container.get("securityContext", {})
            ids = (context.get("runAsUser", pod.get("runAsUser")), context.get("runAsGroup", pod.get("runAsGroup")))
            assert ids == IMAGE_USERS[key], f"{where} {container['name']} runs as {ids}"


# --- network policies: the chart's and the program's together ---------------------------------------------------


def pods_of(chart: RenderedChart, namespace_labels: dict[str, str]) -> dict[str, Pod]:
    """Each rendered workload (and a task pod) as a NetworkPolicy peer, by component label."""
    found = {}
    for obj in chart.objects:
        if obj["kind"] in {"Deployment", "StatefulSet", "Job"}:
            template = obj["spec"]["template"]
            ports = {
                p["name"]: p["containerPort"]
                for c in template["spec"]["containers"]
                for p in c.get("ports", [])
                if "name" in p
            }
            labels = template["metadata"]["labels"]
            found[labels.get("component", obj["metadata"]["name"])] = Pod(
                chart.namespace, labels, namespace_labels, ports
            )
    task = chart.pod_template()
    if task is not None:
        found["task"] = Pod(chart.namespace, task["metadata"]["labels"], namespace_labels)
    return found


def policy_view(inventory: Inventory) -> tuple[list[dict[str, Any]], dict[str, Pod]]:
    chart = rendered(inventory)
    [namespace] = [
        o for o in program_objects(inventory) if o["kind"] == "Namespace" and o["metadata"]["name"] == chart.namespace
    ]
    labels = {**namespace["metadata"].get("labels", {}), "kubernetes.io/metadata.name": chart.namespace}
    policies = [o for o in namespace_objects(inventory) if o["kind"] == "NetworkPolicy"]
    return policies, pods_of(chart, labels)


POLICED = [v for v in VARIANTS if v == "airflow-2" or stack_settings(v).airflow.network_policies]


@pytest.mark.parametrize("variant", POLICED)
def test_network_policies_are_on_and_admit_what_airflow_needs(variant: str) -> None:
    inventory, chart = build(variant)
    policies, pods = policy_view(inventory)
    assert policies, "network policies are enabled for this stack"
    cfg = airflow_cfg(chart)
    api = pods.get("api-server") or pods["webserver"]
    api_port = inventory.outputs["apiServicePort"]
    # The scheduler and the UI reach the metadata database through PgBouncer.
    if "pgbouncer" in pods:
        for component in ("scheduler", "triggerer", "dag-processor", "run-airflow-migration"):
            if component in pods:
                assert ingress_allowed(policies, pods["pgbouncer"], pods[component], 6543), component
    # Task pods report to the Execution API (Airflow 3), at the URL the chart sets.
    if cfg.has_option("core", "execution_api_server_url"):
        url = urlparse(cfg["core"]["execution_api_server_url"])
        service = chart.get("Service", url.hostname)
        assert url.port in {p["port"] for p in service["spec"]["ports"]}
        assert ingress_allowed(policies, api, pods["task"], api_port), "task pods reach the Execution API"
    # The UI reads live logs from the triggerer (its log server port).
    if "triggerer" in pods and cfg.has_option("core", "execution_api_server_url"):
        assert ingress_allowed(policies, pods["triggerer"], api, 8794)
    # Everything sends metrics to statsd.
    if "statsd" in pods:
        assert ingress_allowed(policies, pods["statsd"], pods["scheduler"], 9125, "UDP")


@pytest.mark.parametrize("variant", POLICED)
def test_the_api_server_is_isolated_and_admits_the_load_balancer_on_its_port_only(variant: str) -> None:
    inventory, _ = build(variant)
    policies, pods = policy_view(inventory)
    api = pods.get("api-server") or pods["webserver"]
    api_port = inventory.outputs["apiServicePort"]
    selecting = [p for p in policies if selects(p["spec"]["podSelector"], api.labels)]
    assert selecting, "the API pods are isolated by a policy"
    blocks = [
        peer["ipBlock"]["cidr"]
        for p in selecting
        for rule in p["spec"]["ingress"]
        for peer in rule["from"]
        if "ipBlock" in peer
    ]
    assert blocks, "the load balancer's subnets are admitted"
    for cidr in blocks:
        lb_node = Pod("", {}, ip=cidr.split("/")[0])
        assert ingress_allowed(policies, api, lb_node, api_port)
        assert not ingress_allowed(policies, api, lb_node, api_port + 1)
    stranger = Pod("other-team", {"app": "x"}, {"kubernetes.io/metadata.name": "other-team"}, ip="192.0.2.10")
    assert not ingress_allowed(policies, api, stranger, api_port)


# --- the KubernetesExecutor pod template and airflow.cfg --------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_task_pod_template_runs_airflow_as_the_worker_service_account(variant: str) -> None:
    inventory, chart = build(variant)
    template = chart.pod_template()
    assert template is not None, "KubernetesExecutor renders its pod template"
    spec = template["spec"]
    worker = chart.get("ServiceAccount", spec["serviceAccountName"])
    assert worker["metadata"]["annotations"][IRSA_ROLE_ANNOTATION] == inventory.outputs["roleArns"]["worker"]
    [base] = [c for c in spec["containers"] if c["name"] == "base"]  # the name KubernetesExecutor looks for
    values = unwrap(inventory.one("kubernetes:helm.sh/v3:Release", "airflow-release").inputs)["values"]
    assert base["image"] == f"{values['images']['airflow']['repository']}:{values['images']['airflow']['tag']}"
    cfg = airflow_cfg(chart)
    mounts = {
        m["mountPath"]
        for c in chart.get("Deployment", f"{chart.release}-scheduler")["spec"]["template"]["spec"]["containers"]
        for m in c.get("volumeMounts", [])
    }
    assert cfg["kubernetes_executor"]["pod_template_file"] in mounts, (
        "the scheduler finds the template where the config says"
    )
    assert cfg["kubernetes_executor"]["namespace"] == chart.namespace
    dags_mount = {m["mountPath"] for m in base.get("volumeMounts", [])}
    assert cfg["core"]["dags_folder"] in dags_mount or any(
        cfg["core"]["dags_folder"].startswith(m + "/") for m in dags_mount
    )


@pytest.mark.parametrize("variant", VARIANTS)
def test_task_logs_go_to_the_stacks_log_bucket_through_the_connection_the_values_define(variant: str) -> None:
    inventory, chart = build(variant)
    logging = airflow_cfg(chart)["logging"]
    assert logging["remote_logging"] == "True"
    assert urlparse(logging["remote_base_log_folder"]).netloc == inventory.outputs["logBucketName"]
    conn_id = logging["remote_log_conn_id"]
    env_names = {e["name"] for _, spec in chart.pod_specs() for c in containers(spec) for e in c.get("env", [])}
    assert f"AIRFLOW_CONN_{conn_id.upper()}" in env_names, "the log connection is defined in the pods' env"


@pytest.mark.parametrize("variant", SSO_VARIANTS)
def test_sso_stacks_render_the_proxy_fix_behind_their_tls_load_balancer(variant: str) -> None:
    _, chart = build(variant)
    cfg = airflow_cfg(chart)
    assert cfg["fab"]["enable_proxy_fix"] == "True"  # FAB builds the https callback from X-Forwarded-Proto
    assert cfg["api"]["base_url"].startswith("https://")


# --- RBAC: the chart's and the program's together ---------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_scheduler_may_run_task_pods_and_the_ui_may_read_their_logs_where_the_executor_puts_them(
    variant: str,
) -> None:
    inventory, chart = build(variant)
    objects = [*chart.objects, *program_objects(inventory)]
    tasks_namespace = airflow_cfg(chart)["kubernetes_executor"]["namespace"]
    scheduler = (
        chart.namespace,
        chart.get("Deployment", f"{chart.release}-scheduler")["spec"]["template"]["spec"]["serviceAccountName"],
    )
    for verb in ("create", "get", "list", "watch", "patch", "delete"):
        assert rbac_allows(objects, scheduler, verb, "pods", tasks_namespace), f"scheduler cannot {verb} task pods"
    assert rbac_allows(objects, scheduler, "get", "pods/log", tasks_namespace)
    ui_deployment = chart.find("Deployment", f"{chart.release}-api-server") or chart.get(
        "Deployment", f"{chart.release}-webserver"
    )
    ui = (chart.namespace, ui_deployment["spec"]["template"]["spec"]["serviceAccountName"])
    assert rbac_allows(objects, ui, "get", "pods/log", tasks_namespace), "the UI shows a running task's log"
    assert not rbac_allows(objects, ui, "create", "pods", tasks_namespace)
