"""DAG code holds no platform secret and cannot get one; the RDS master password is out of Airflow's reach;
no config page shows a secret.

Analysed on what the cluster would receive, for every stack file and its Airflow 2 variant: the vendored
chart rendered with the values the program gives its Helm Release, plus the program's own Kubernetes
objects (tests/cluster_access.py evaluates RBAC, Secrets and NetworkPolicies the way Kubernetes does).
A task pod's spec is partly DAG code's choice (`executor_config={"pod_override": ...}`, merged by the
scheduler into the pod it creates, namespace included), so what the scheduler may create matters as much
as what the task's own account may do.
"""

from __future__ import annotations

import configparser
from functools import cache

import pytest

from airflow_chart.render import RenderedChart
from offline import REPO, Inventory
from offline.engine import unwrap
from tests.cluster_access import Account, Cluster, pod_secret_refs, secret_values
from tests.k8s_access import Pod, egress_allowed
from tests.render_support import rendered
from tests.support import stack_inventory
from tests.variants import break_glass_airflow_2, git_ssh_prod

STACK_FILES = sorted(path.name.split(".")[1] for path in REPO.glob("Pulumi.*.yaml"))
# Every stack file, plus the Airflow 2 variant (tests/variants.py: prod on 2.10 with password login, the
# one with PgBouncer and network policies, shared with other tests' cached run).
AIRFLOW_2_VARIANT = "prod"
CASES = [(stack, 3) for stack in STACK_FILES] + [(AIRFLOW_2_VARIANT, 2)]
IDS = [f"{stack}-airflow{major}" for stack, major in CASES]

# Config options Airflow shows masked ("< hidden >") with expose_config = non-sensitive-only: `sensitive: true`
# in config.yml (3.1.7: /work/shared/notes real-airflow-facts + identity-secrets-facts; 2.10: config.yml).
# Airflow 3.1.7 does NOT mask the deprecated `[core] sql_alchemy_conn` (measured on the real server).
MASKED = {
    3: {
        ("core", "fernet_key"),
        ("database", "sql_alchemy_conn"),
        ("database", "sql_alchemy_conn_async"),
        ("api", "secret_key"),
        ("api_auth", "jwt_secret"),
    },
    2: {("core", "fernet_key"), ("database", "sql_alchemy_conn"), ("webserver", "secret_key")},
}


@cache
def _inventory(stack: str, major: int) -> Inventory:
    return stack_inventory(stack) if major == 3 else break_glass_airflow_2()


def _cluster(stack: str, major: int) -> Cluster:
    inventory = _inventory(stack, major)
    return Cluster(rendered(inventory), inventory)


def _cfg(chart: RenderedChart) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(chart.airflow_cfg())
    return parser


def _task_accounts(cluster: Cluster) -> tuple[str, list[Account]]:
    """The namespace the executor starts task pods in (rendered `[kubernetes_executor] namespace`) and the
    accounts a task pod can run as there (the template's, and the namespace's `default`, which a
    pod_override may name)."""
    namespace = _cfg(cluster.chart).get("kubernetes_executor", "namespace")
    template = cluster.chart.pod_template()
    assert template is not None
    name = template["spec"]["serviceAccountName"]
    return namespace, [Account(namespace, name), Account(namespace, "default")]


def _scheduler(cluster: Cluster) -> Account:
    """The account the KubernetesExecutor runs as: the scheduler Deployment's."""
    deployment = cluster.chart.get("Deployment", f"{cluster.chart.release}-scheduler")
    return Account(cluster.release_namespace, deployment["spec"]["template"]["spec"]["serviceAccountName"])


@pytest.mark.parametrize(("stack", "major"), CASES, ids=IDS)
def test_task_pods_hold_no_platform_secret_and_cannot_get_one(stack: str, major: int) -> None:
    inventory = _inventory(stack, major)
    cluster = _cluster(stack, major)
    release = unwrap(inventory.one("kubernetes:helm.sh/v3:Release", "airflow-release").inputs)["values"]
    by_design = set() if major == 3 else {release["data"]["metadataSecretName"], release["fernetKeySecretName"]}
    namespace, accounts = _task_accounts(cluster)
    assert namespace != cluster.release_namespace  # tasks never share Airflow's namespace

    # What the template gives every task pod: no Kubernetes API token, no Secret but the by-design ones.
    template = cluster.chart.pod_template()
    assert template["spec"]["automountServiceAccountToken"] is False
    assert pod_secret_refs(template["spec"]) == by_design
    assert cluster.secrets_in(namespace) == by_design  # nothing else a pod there could mount
    hidden = set().union(
        *(
            secret_values(data)
            for (ns, name), data in cluster.secrets.items()
            if name not in by_design or ns != namespace
        )
    )
    text = str(template)
    assert not [value for value in hidden if value in text]

    # The task's own accounts reach no Secret anywhere (they have no rights at all).
    for account in accounts:
        for holder in cluster.secret_namespaces():
            assert cluster.reaching_rights(account, holder) == set(), (account, holder)
        assert cluster.rights(account) == set(), account

    # DAG code shapes the pods the scheduler creates: it may create them only where no other Secret lives.
    launcher = _scheduler(cluster)
    assert cluster.pod_creators(launcher) == {namespace}
    assert "*" not in cluster.pod_creators(launcher)
    for holder in cluster.secret_namespaces() - {namespace}:
        assert cluster.reaching_rights(launcher, holder) == set(), holder

    # No account in Airflow's namespace may start pods there (the chart's pod-launcher Role is off).
    accounts_in_release = {
        Account(cluster.release_namespace, spec["serviceAccountName"])
        for where, spec in cluster.chart.pod_specs()
        if where != "pod-template-file" and spec.get("serviceAccountName")
    }
    for account in accounts_in_release:
        assert cluster.reaching_rights(account, cluster.release_namespace) == set(), account


@pytest.mark.parametrize(("stack", "major"), CASES, ids=IDS)
def test_network_policies_admit_tasks_to_the_api_and_statsd_and_on_airflow_3_not_to_pgbouncer(
    stack: str, major: int
) -> None:
    cluster = _cluster(stack, major)
    if not [p for _, p in cluster.of_kind("NetworkPolicy") if "Ingress" in p["spec"].get("policyTypes", ["Ingress"])]:
        pytest.skip(f"{stack} renders no ingress network policies")
    namespace, _ = _task_accounts(cluster)
    template = cluster.chart.pod_template()
    task = (namespace, template["metadata"]["labels"])
    release, ns = cluster.chart.release, cluster.release_namespace
    component = {"tier": "airflow", "release": release}
    statsd = cluster.admits(ns, {**component, "component": "statsd"}, 9125, task)
    assert statsd is True
    pgbouncer_deployed = cluster.chart.find("Deployment", f"{release}-pgbouncer") is not None
    if pgbouncer_deployed:
        assert cluster.admits(ns, {**component, "component": "pgbouncer"}, 6543, task) is (major == 2)
    if major == 3:
        assert cluster.admits(ns, {**component, "component": "api-server"}, 8080, task) is True  # Execution API
    # Nothing needs to call a task pod.
    assert cluster.admits(namespace, template["metadata"]["labels"], 8080, (ns, component)) is False


@pytest.mark.parametrize(("stack", "major"), CASES, ids=IDS)
def test_the_master_password_is_in_no_secret_airflow_can_read(stack: str, major: int) -> None:
    inventory = _inventory(stack, major)
    cluster = _cluster(stack, major)
    master = unwrap(inventory.one("aws:rds/instance:Instance").inputs)["password"]
    holders = {key for key, data in cluster.secrets.items() if any(master in value for value in data.values())}
    assert holders  # the bootstrap Job's
    task_namespace, task_accounts = _task_accounts(cluster)
    airflow_accounts = {
        Account(
            task_namespace if where == "pod-template-file" else cluster.release_namespace, spec["serviceAccountName"]
        )
        for where, spec in cluster.chart.pod_specs()
        if spec.get("serviceAccountName")
    } | set(task_accounts)
    for namespace, name in holders:
        assert namespace not in (cluster.release_namespace, task_namespace)
        for account in airflow_accounts:
            assert cluster.reaching_rights(account, namespace) == set(), (account, namespace)
        # No Airflow pod names it either (and a pod can only mount Secrets of its own namespace).
        for _, spec in cluster.chart.pod_specs():
            assert name not in pod_secret_refs(spec) or namespace == cluster.release_namespace


@pytest.mark.parametrize(("stack", "major"), CASES, ids=IDS)
def test_no_config_page_shows_a_secret(stack: str, major: int) -> None:
    """What `GET /api/v2/config` (webserver: /configuration) would show, whatever expose_config says."""
    cluster = _cluster(stack, major)
    ui = "api-server" if major == 3 else "webserver"
    deployment = cluster.chart.get("Deployment", f"{cluster.chart.release}-{ui}")
    [container] = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == ui]
    hidden = set().union(*(secret_values(data) for data in cluster.secrets.values()))
    assert not [value for value in hidden if value in cluster.chart.airflow_cfg()]
    for env in container["env"]:
        name = env["name"]
        assert name != "AIRFLOW__CORE__SQL_ALCHEMY_CONN"  # 3.1.7 shows it in clear
        if not name.startswith("AIRFLOW__") or name.endswith(("_CMD", "_SECRET")):
            continue
        section, _, key = name[len("AIRFLOW__") :].lower().partition("__")
        if "valueFrom" in env:
            assert (section, key) in MASKED[major], name  # a Secret's value in an option Airflow shows
        else:
            assert not [value for value in hidden if value in env.get("value", "")], name


@cache
def _git_ssh_cluster() -> Cluster:
    inventory = git_ssh_prod()
    return Cluster(rendered(inventory), inventory)


@pytest.mark.parametrize(("stack", "major"), [*CASES, ("prod", "git-ssh")], ids=[*IDS, "prod-git-ssh"])
def test_the_task_pod_template_names_only_what_its_namespace_holds(stack: str, major: int | str) -> None:
    """A task pod really starts: its account, Secrets and ConfigMaps exist in the task namespace."""
    cluster = _git_ssh_cluster() if major == "git-ssh" else _cluster(stack, major)
    namespace, [account, _] = _task_accounts(cluster)
    spec = cluster.chart.pod_template()["spec"]
    accounts = {(ns, obj["metadata"]["name"]): obj for ns, obj in cluster.of_kind("ServiceAccount")}
    worker = accounts[(namespace, account.name)]
    assert worker["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith("-worker")
    assert pod_secret_refs(spec) <= cluster.secrets_in(namespace)
    config_maps = {obj["metadata"]["name"] for ns, obj in cluster.of_kind("ConfigMap") if ns == namespace}
    assert {v["configMap"]["name"] for v in spec["volumes"] if "configMap" in v} <= config_maps
    if major == "git-ssh":  # git-sync's key and known_hosts, nothing else
        [key] = [v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v]
        assert cluster.secrets_in(namespace) == {key} and len(config_maps) == 1


@pytest.mark.parametrize(("stack", "major"), CASES, ids=IDS)
def test_task_pods_get_the_same_airflow_config_as_every_other_component(stack: str, major: int) -> None:
    """The template renders airflow.cfg as environment variables (the ConfigMap lives in Airflow's namespace):
    option for option what the other components read from the file."""
    cluster = _cluster(stack, major)
    config = _cfg(cluster.chart)
    expected = {
        f"AIRFLOW__{section}__{key}".upper(): value
        for section in config.sections()
        for key, value in config.items(section)
    }
    [base] = [c for c in cluster.chart.pod_template()["spec"]["containers"] if c["name"] == "base"]
    env = {e["name"]: e.get("value") for e in base["env"] if e["name"] in expected}
    assert env == expected
    executor = config.get("core", "execution_api_server_url", fallback=None)
    if major == 3:  # reachable from the task namespace: the API Service's cluster-qualified name
        assert (
            executor
            == f"http://{cluster.chart.release}-api-server.{cluster.release_namespace}.svc.cluster.local:8080/execution/"
        )
    assert config.get("metrics", "statsd_host").endswith(f".{cluster.release_namespace}.svc.cluster.local")


def _secret_fed_connections(spec: dict) -> set[tuple[str, str]]:
    """(container, variable) of every AIRFLOW_CONN_*/AIRFLOW_VAR_* a pod spec takes from a Secret, and every
    Secret loaded whole through envFrom (it may hold any such variable)."""
    found = set()
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for env in container.get("env") or []:
            if env["name"].startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_")) and "secretKeyRef" in (
                env.get("valueFrom") or {}
            ):
                found.add((container["name"], env["name"]))
        for source in container.get("envFrom") or []:
            if "secretRef" in source:
                found.add((container["name"], f"envFrom:{source['secretRef']['name']}"))
    return found


@pytest.mark.parametrize(("stack", "major"), CASES, ids=IDS)
def test_no_component_holds_a_connection_or_variable_from_a_platform_secret(stack: str, major: int) -> None:
    """On Airflow 3 the Execution API serves a task any connection the API server can resolve
    (`Connection.get_connection_from_secrets`: secrets backend, then AIRFLOW_CONN_* env vars, then the DB),
    and any variable likewise; the chart's AIRFLOW_CONN_AIRFLOW_DB is the metadata URL with its password."""
    cluster = _cluster(stack, major)
    specs = dict(cluster.chart.pod_specs())
    if major == 3:
        assert f"Deployment/{cluster.chart.release}-api-server" in specs, sorted(specs)
    fed = {where: _secret_fed_connections(spec) for where, spec in specs.items()}
    assert {where: found for where, found in fed.items() if found} == {}


INSTANCE_METADATA = ("169.254.169.254", "fd00:ec2::254")


@pytest.mark.parametrize(("stack", "major"), CASES, ids=IDS)
def test_task_pods_reach_everything_but_the_instance_metadata_service(stack: str, major: int) -> None:
    """The node's IMDS hands out the node role's credentials (and through them the kubelet's rights, which
    include the Secrets of every pod on the node); task pods reach anything else, network policies on or off."""
    inventory = _inventory(stack, major)
    cluster = _cluster(stack, major)
    namespace, _ = _task_accounts(cluster)
    policies = [
        {**obj, "metadata": {**obj["metadata"], "namespace": ns}} for ns, obj in cluster.of_kind("NetworkPolicy")
    ]
    template = cluster.chart.pod_template()
    labels = cluster.namespace_labels(namespace)
    # The template's labels, and whatever labels DAG code gives its pod through a pod_override.
    tasks = [Pod(namespace, template["metadata"]["labels"], labels), Pod(namespace, {"dag": "any"}, labels)]
    api = cluster.chart.get("Deployment", f"{cluster.chart.release}-{'api-server' if major == 3 else 'webserver'}")
    api_pod = Pod(
        cluster.release_namespace,
        api["spec"]["template"]["metadata"]["labels"],
        cluster.namespace_labels(cluster.release_namespace),
        ip="10.0.12.34",
    )
    dns = Pod("kube-system", {"k8s-app": "kube-dns"}, {"kubernetes.io/metadata.name": "kube-system"}, ip="10.0.1.2")
    for task in tasks:
        for address in INSTANCE_METADATA:
            assert not egress_allowed(policies, task, Pod("", {}, ip=address), 80), address
        assert egress_allowed(policies, task, api_pod, int(inventory.outputs["apiServicePort"]))
        assert egress_allowed(policies, task, dns, 53, "UDP")
        assert egress_allowed(policies, task, Pod("", {}, ip="52.95.110.1"), 443)  # AWS APIs, git, PyPI...
        assert egress_allowed(policies, task, Pod("", {}, ip="2600:1f18::1"), 443)
        assert egress_allowed(policies, task, Pod("", {}, ip="10.0.3.4"), 5432)  # RDS, other VPC hosts

    # DAG code may name the namespace's `default` account: it gets no API token either.
    patches = [
        unwrap(r.inputs)
        for r in inventory.resources
        if r.type == "kubernetes:core/v1:ServiceAccountPatch"
        and unwrap(r.inputs)["metadata"] == {**unwrap(r.inputs)["metadata"], "name": "default", "namespace": namespace}
    ]
    assert [p["automountServiceAccountToken"] for p in patches] == [False]
