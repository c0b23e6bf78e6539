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
from tests.cluster_access import Account, Cluster
from tests.k8s_access import Pod, ingress_allowed, selects
from tests.render_support import program_objects, rendered
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


def all_pod_specs(inventory: Inventory) -> list[tuple[str, str, dict[str, Any]]]:
    """(where, namespace, pod spec) of every pod: the chart's workloads, the task pod template, the program's Jobs."""
    chart = rendered(inventory)
    tasks_namespace = airflow_cfg(chart)["kubernetes_executor"]["namespace"]
    found = [
        (where, tasks_namespace if where == "pod-template-file" else chart.namespace, spec)
        for where, spec in chart.pod_specs()
    ]
    found += [
        (f"{o['kind']}/{o['metadata']['name']} (program)", o["metadata"]["namespace"], o["spec"]["template"]["spec"])
        for o in program_objects(inventory)
        if o["kind"] in {"Job", "Deployment", "StatefulSet", "DaemonSet"}
    ]
    return found


# --- names the program wires to ------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_secret_and_config_map_a_pod_mounts_or_reads_exists_in_the_namespace(variant: str) -> None:
    inventory, chart = build(variant)
    existing = {
        (o["metadata"].get("namespace"), o["kind"], o["metadata"]["name"])
        for o in [*chart.objects, *program_objects(inventory)]
    }
    references = 0
    for where, namespace, spec in all_pod_specs(inventory):
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
        references += len(wanted)
        missing = sorted(
            f"{kind}/{name}"
            for kind, name, optional in wanted
            if not optional and (namespace, kind, name) not in existing
        )
        assert not missing, f"{where} refers to objects nothing creates in {namespace}: {missing}"
    assert references > 10, "the pods read their config, keys and connections from Secrets and ConfigMaps"


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
def test_each_irsa_role_trusts_a_service_account_that_carries_its_arn_and_runs_pods(variant: str) -> None:
    inventory, chart = build(variant)
    accounts = {
        (o["metadata"]["namespace"], o["metadata"]["name"]): o
        for o in [*chart.objects, *program_objects(inventory)]
        if o["kind"] == "ServiceAccount"
    }
    trusted = {}
    for role in inventory.of_type("aws:iam/role:Role"):
        inputs = unwrap(role.inputs)
        for statement in json.loads(inputs["assumeRolePolicy"])["Statement"]:
            for key, subject in statement.get("Condition", {}).get("StringEquals", {}).items():
                if key.endswith(":sub") and subject.startswith("system:serviceaccount:"):
                    _, _, namespace, name = subject.split(":")
                    trusted[(namespace, name)] = f"arn:aws:iam::111122223333:role/{inputs['name']}"
    airflow_roles = set(inventory.outputs["roleArns"].values())
    assert airflow_roles <= set(trusted.values()), "every Airflow role trusts a service account"
    runs_as = {(namespace, spec.get("serviceAccountName")) for _, namespace, spec in all_pod_specs(inventory)}
    for account, arn in trusted.items():
        if arn not in airflow_roles:
            continue  # the LB controller's and the log shipper's roles: their charts are tested elsewhere
        assert account in accounts, f"role {arn} trusts {account}, which nothing creates"
        assert accounts[account]["metadata"].get("annotations", {}).get(IRSA_ROLE_ANNOTATION) == arn
        assert account in runs_as, f"no pod runs as {account}"


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
    for where, _, spec in all_pod_specs(inventory):
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


def policy_view(inventory: Inventory) -> tuple[list[dict[str, Any]], dict[str, Pod]]:
    """Every NetworkPolicy (chart's and program's), and each Airflow workload plus a task pod as a peer."""
    chart = rendered(inventory)
    namespace_labels = {
        o["metadata"]["name"]: {**o["metadata"].get("labels", {}), "kubernetes.io/metadata.name": o["metadata"]["name"]}
        for o in program_objects(inventory)
        if o["kind"] == "Namespace"
    }
    pods = {}
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
            component = labels.get("component", obj["metadata"]["name"])
            pods[component] = Pod(chart.namespace, labels, namespace_labels[chart.namespace], ports)
    task = chart.pod_template()
    if task is not None:
        tasks_namespace = airflow_cfg(chart)["kubernetes_executor"]["namespace"]
        pods["task"] = Pod(tasks_namespace, task["metadata"]["labels"], namespace_labels[tasks_namespace])
    policies = [*(o for o in chart.objects if o["kind"] == "NetworkPolicy")]
    policies += [o for o in program_objects(inventory) if o["kind"] == "NetworkPolicy"]
    return policies, pods


POLICED = [v for v in VARIANTS if v == "airflow-2" or stack_settings(v).airflow.network_policies]


@pytest.mark.parametrize("variant", POLICED)
def test_network_policies_are_on_and_admit_what_airflow_needs(variant: str) -> None:
    inventory, chart = build(variant)
    policies, pods = policy_view(inventory)
    assert policies, "network policies are enabled for this stack"
    cfg = airflow_cfg(chart)
    api = pods.get("api-server") or pods["webserver"]
    api_port = inventory.outputs["apiServicePort"]
    # Every component that uses the metadata database reaches it through PgBouncer.
    if "pgbouncer" in pods:
        ui = "api-server" if "api-server" in pods else "webserver"
        users = [
            "scheduler",
            "triggerer",
            "run-airflow-migrations",
            ui,
            *(["dag-processor"] if ui == "api-server" else []),
        ]
        for component in users:
            assert ingress_allowed(policies, pods["pgbouncer"], pods[component], 6543), component
    # Task pods report to the Execution API (Airflow 3), at the URL the chart sets.
    if cfg.has_option("core", "execution_api_server_url"):
        url = urlparse(cfg["core"]["execution_api_server_url"])
        service_name, _, domain = url.hostname.partition(".")
        assert domain in {"", f"{chart.namespace}.svc", f"{chart.namespace}.svc.cluster.local"}
        service = chart.get("Service", service_name)
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
    selecting = [
        p
        for p in policies
        if p["metadata"].get("namespace", api.namespace) == api.namespace
        and "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
        and selects(p["spec"]["podSelector"], api.labels)
    ]
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
    neighbour = Pod(api.namespace, {"app": "not-airflow"}, api.namespace_labels)  # same namespace, not Airflow's
    assert not ingress_allowed(policies, api, neighbour, api_port)


# --- the KubernetesExecutor pod template and airflow.cfg --------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_task_pod_template_runs_airflow_as_the_worker_service_account(variant: str) -> None:
    inventory, chart = build(variant)
    template = chart.pod_template()
    assert template is not None, "KubernetesExecutor renders its pod template"
    spec = template["spec"]
    tasks_namespace = airflow_cfg(chart)["kubernetes_executor"]["namespace"]
    [worker] = [
        o
        for o in [*chart.objects, *program_objects(inventory)]
        if o["kind"] == "ServiceAccount"
        and o["metadata"]["namespace"] == tasks_namespace
        and o["metadata"]["name"] == spec["serviceAccountName"]
    ]
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
    assert cfg["kubernetes"]["namespace"] == tasks_namespace
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
    cluster = Cluster(chart, inventory)
    tasks = airflow_cfg(chart)["kubernetes_executor"]["namespace"]

    def rights(deployment: str) -> set[tuple[str, str, str]]:
        account = chart.get("Deployment", deployment)["spec"]["template"]["spec"]["serviceAccountName"]
        granted = cluster.rights(Account(chart.namespace, account))
        return {(resource, verb) for where, group, resource, verb in granted if where == tasks and group == ""}

    scheduler = rights(f"{chart.release}-scheduler")
    for verb in ("create", "get", "list", "watch", "patch", "delete"):
        assert ("pods", verb) in scheduler, f"the scheduler cannot {verb} task pods in {tasks}"
    ui = rights(
        f"{chart.release}-api-server"
        if chart.find("Deployment", f"{chart.release}-api-server")
        else f"{chart.release}-webserver"
    )
    assert ("pods/log", "get") in ui, "the UI shows a running task's log"
    assert ("pods", "create") not in ui
