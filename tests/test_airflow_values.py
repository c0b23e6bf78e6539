"""Helm values: schema-valid for every stack and variant, and wired the way the chart needs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_chart.shape import Workload
from airflow_chart.values import (
    CONTAINER_SECURITY,
    DAGS_FOLDER,
    IRSA_ANNOTATION,
    LOGS_CONNECTION_ID,
    airflow_values,
)
from tests.support import STACKS
from tests.values_support import (
    AIRFLOW_2,
    GIT_HTTPS,
    GIT_SSH,
    airflow_override,
    chart_schema,
    fake_wiring,
    schema_errors,
    values_for,
)

VARIANTS = {
    "s3": {},
    "git-ssh": GIT_SSH,
    "git-https": GIT_HTTPS,
}


@pytest.mark.parametrize("stack", STACKS)
def test_values_of_every_stack_file_are_schema_valid(stack):
    settings, values = values_for(stack)
    assert schema_errors(values, settings.airflow.chart_version) == []


@pytest.mark.parametrize("major", ["3", "2"])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("stack", STACKS)
def test_values_are_schema_valid_for_each_dag_mode_and_airflow_major(stack, variant, major):
    overrides = dict(VARIANTS[variant])
    if major == "2":
        overrides.update(airflow_override(stack, **AIRFLOW_2))
    settings, values = values_for(stack, overrides)
    assert settings.airflow.major == int(major)
    assert schema_errors(values, "1.19.0") == []


def test_schema_validation_catches_keys_the_chart_rejects():
    _, values = values_for("dev")
    values["scheduler"]["hpa"] = {"enabled": True}
    values["dags"]["gitSync"]["period"] = 60
    errors = schema_errors(values, "1.19.0")
    assert any(e.startswith("scheduler") for e in errors)
    assert any(e.startswith("dags.gitSync.period") for e in errors)


def test_airflow_version_and_image_tag_always_agree():
    settings, values = values_for("prod", airflow_override("prod", image={"tagSuffix": "-python3.12"}))
    assert values["airflowVersion"] == settings.airflow.version == "3.1.7"
    assert values["defaultAirflowTag"] == values["images"]["airflow"]["tag"] == "3.1.7-python3.12"
    assert values["images"]["pod_template"]["tag"] == "3.1.7-python3.12"


@pytest.mark.parametrize("stack", STACKS)
def test_kubernetes_executor_with_external_database_and_no_bundled_services(stack):
    settings, values = values_for(stack)
    assert values["executor"] == "KubernetesExecutor"
    assert values["postgresql"] == {"enabled": False}
    assert values["redis"] == {"enabled": False}
    assert values["data"] == {"metadataSecretName": settings.shape.secret_names.metadata}
    assert "core" not in values["config"] or "executor" not in values["config"]["core"]


@pytest.mark.parametrize("stack", STACKS)
def test_database_jobs_do_not_use_helm_hooks(stack):
    _, values = values_for(stack)
    for job in ("migrateDatabaseJob", "createUserJob"):
        assert values[job]["useHelmHooks"] is False
        assert values[job]["applyCustomEnv"] is False


def test_prod_is_highly_available_with_pdbs_and_zone_spread():
    _, values = values_for("prod")
    assert values["scheduler"]["replicas"] == 2
    assert values["apiServer"]["replicas"] == 2
    hpa = values["apiServer"]["hpa"]
    assert (hpa["enabled"], hpa["minReplicaCount"], hpa["maxReplicaCount"]) == (True, 2, 5)
    assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    for section in ("scheduler", "apiServer", "triggerer", "dagProcessor"):
        assert values[section]["podDisruptionBudget"] == {"enabled": True, "config": {"maxUnavailable": 1}}
        assert values[section]["resources"] == {
            "requests": {"cpu": "500m", "memory": "1Gi"},
            "limits": {"cpu": "2", "memory": "2Gi"},
        }
        (spread,) = values[section]["topologySpreadConstraints"]
        assert spread["topologyKey"] == "topology.kubernetes.io/zone"


@pytest.mark.parametrize("stack", ["dev", "uat"])
def test_non_prod_runs_one_small_replica_of_each_component(stack):
    _, values = values_for(stack)
    for section in ("scheduler", "apiServer", "triggerer", "dagProcessor"):
        assert values[section]["replicas"] == 1
        assert values[section]["resources"] == {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"cpu": "500m", "memory": "512Mi"},
        }
        assert values[section]["podDisruptionBudget"]["enabled"] is False
    assert values["apiServer"]["hpa"]["enabled"] is False


def test_per_component_overrides_from_config_reach_the_values():
    override = airflow_override(
        "prod",
        scheduler={
            "replicas": 3,
            "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}},
        },
        apiServer={"hpa": {"enabled": True, "maxReplicas": 8, "targetCpuPercent": 60}},
        # A third scheduler runs another 256 tasks: the DB side of PgBouncer grows with it.
        pgbouncer={"enabled": True, "metadataPoolSize": 140},
    )
    _, values = values_for("prod", override)
    assert values["scheduler"]["replicas"] == 3
    assert values["scheduler"]["resources"]["limits"]["memory"] == "4Gi"
    assert values["apiServer"]["hpa"]["maxReplicaCount"] == 8
    assert values["apiServer"]["replicas"] == 2  # untouched keys keep the profile's values


def test_airflow_3_references_static_api_and_jwt_secrets_by_name():
    settings, values = values_for("prod")
    names = settings.shape.secret_names
    assert values["fernetKeySecretName"] == names.fernet_key
    assert values["apiSecretKeySecretName"] == names.api_secret_key
    assert values["jwtSecretName"] == names.jwt_secret
    for inline in ("fernetKey", "apiSecretKey", "jwtSecret", "webserverSecretKey", "webserverSecretKeySecretName"):
        assert inline not in values


def test_airflow_2_gets_the_webserver_shape():
    settings, values = values_for("uat", airflow_override("uat", **AIRFLOW_2))
    names = settings.shape.secret_names
    assert values["airflowVersion"] == "2.10.5"
    assert values["webserverSecretKeySecretName"] == names.webserver_secret_key
    assert "apiServer" not in values and "jwtSecretName" not in values
    assert values["dagProcessor"] == {"enabled": False}
    assert values["webserver"]["serviceAccount"]["name"] == settings.shape.service_account(Workload.WEBSERVER).name
    assert values["webserver"]["networkPolicy"]["ingress"]["from"]
    assert values["config"]["webserver"]["expose_config"] == "non-sensitive-only"
    assert "extraContainers" in values["scheduler"]  # the scheduler parses DAGs on Airflow 2


@pytest.mark.parametrize("variant", [{}, airflow_override("uat", **AIRFLOW_2)], ids=["airflow3", "airflow2"])
def test_every_service_account_is_named_by_the_naming_function_and_annotated_with_its_role(variant):
    settings, values = values_for("uat", variant)
    wiring = fake_wiring(settings)
    for workload in settings.shape.workloads:
        account = values[workload.values_key]["serviceAccount"]
        assert account["name"] == settings.shape.service_account(workload).name
        if workload is Workload.WORKER:
            # Created (and annotated) by the release component in the task namespace, not by the chart.
            assert account == {"create": False, "name": account["name"]}
            continue
        assert account["annotations"] == {IRSA_ANNOTATION: wiring.role_arns[workload]}
        assert account["create"] is True


def test_s3_sync_runs_where_dags_are_read_with_a_pinned_image():
    settings, values = values_for("uat")
    readers = set(settings.shape.dag_readers)
    assert readers == {Workload.DAG_PROCESSOR, Workload.TRIGGERER, Workload.WORKER}
    for workload in readers:
        section = values[workload.values_key]
        (init,) = section["extraInitContainers"]
        # The bucket comes from the wiring (the AirflowBuckets output), not from config.
        assert (
            "aws s3 sync s3://wired-etl-airflow-dags-uat-111122223333-eu-west-1/dags /opt/airflow/dags --delete"
            in init["command"][2]
        )
        assert init["image"].rsplit(":", 1)[1] not in ("", "latest")
        assert section["extraVolumeMounts"][0]["mountPath"] == DAGS_FOLDER
        sidecars = section.get("extraContainers", [])
        if workload is Workload.WORKER:
            assert sidecars == []  # task pods sync once, before the task starts
        else:
            assert "sleep 30" in sidecars[0]["command"][2]
    assert "extraContainers" not in values["scheduler"] and "extraContainers" not in values["apiServer"]
    assert values["dags"]["mountPath"] == values["config"]["core"]["dags_folder"] == DAGS_FOLDER
    assert values["dags"]["gitSync"] == {"enabled": False}


def test_git_sync_over_ssh_keeps_host_key_checking_and_reads_the_key_secret():
    settings, values = values_for("prod", GIT_SSH)
    git = values["dags"]["gitSync"]
    assert git["enabled"] is True
    assert git["repo"] == "git@github.com:acme/airflow-dags.git"
    assert (git["ref"], git["branch"], git["subPath"], git["period"]) == ("release", "release", "dags", "60s")
    assert git["sshKeySecret"] == settings.shape.secret_names.git_ssh_key
    assert git["knownHosts"].startswith("github.com ssh-ed25519")
    assert "credentialsSecret" not in git
    assert "dags_folder" not in values["config"]["core"]  # the chart derives it from gitSync.subPath
    for section in ("dagProcessor", "triggerer", "workers"):
        assert "extraInitContainers" not in values[section]


def test_git_sync_over_https_reads_the_credentials_secret():
    settings, values = values_for("dev", GIT_HTTPS)
    git = values["dags"]["gitSync"]
    assert git["credentialsSecret"] == settings.shape.secret_names.git_credentials
    assert "sshKeySecret" not in git and "knownHosts" not in git


@pytest.mark.parametrize("stack", STACKS)
def test_task_logs_go_to_the_log_bucket_through_a_keyless_aws_connection(stack):
    settings, values = values_for(stack)
    logging = values["config"]["logging"]
    assert logging["remote_logging"] == "True"
    assert logging["remote_base_log_folder"] == f"s3://{fake_wiring(settings).log_bucket}/task-logs"
    assert logging["remote_log_conn_id"] == LOGS_CONNECTION_ID
    (env,) = [e for e in values["env"] if e["name"] == f"AIRFLOW_CONN_{LOGS_CONNECTION_ID.upper()}"]
    connection = json.loads(env["value"])
    assert connection["conn_type"] == "aws"
    assert not {"login", "password"} & connection.keys()
    assert not any("key" in k for k in connection["extra"])  # IRSA supplies credentials


def _security_context_paths(node: dict[str, Any], definitions: dict[str, Any], path: tuple[str, ...] = ()):
    """(path, kinds) of every `securityContexts` block in the chart schema."""
    if (
        "$ref" in node
        and node["$ref"].startswith("#/definitions/")
        and not node["$ref"].startswith("#/definitions/io.k8s")
    ):
        node = definitions[node["$ref"].split("/")[-1]]
    for key, child in node.get("properties", {}).items():
        if key == "securityContexts":
            yield (*path, key), set(child.get("properties", {}))
        else:
            yield from _security_context_paths(child, definitions, (*path, key))


# Blocks for containers this platform never renders: Celery-only workers, Redis, Flower, Kerberos.
NOT_RENDERED = (
    "workers.celery",
    "workers.persistence",
    "workers.kerberos",
    "workers.kubernetes.kerberos",
    "redis",
    "flower",
)
# Components of the other Airflow major.
NOT_RENDERED_ON = {3: ("webserver",), 2: ("apiServer", "dagProcessor")}


@pytest.mark.parametrize("major", [3, 2])
@pytest.mark.parametrize("stack", STACKS)
def test_every_container_the_chart_renders_is_non_root_without_privilege_escalation(stack, major):
    overrides = {**GIT_SSH, **(airflow_override(stack, **AIRFLOW_2) if major == 2 else {})}
    _, values = values_for(stack, overrides)
    schema = chart_schema("1.19.0")
    skipped = NOT_RENDERED + NOT_RENDERED_ON[major]
    checked = 0
    for path, kinds in _security_context_paths(schema, schema["definitions"]):
        dotted = ".".join(path)
        if dotted.startswith(skipped) or (path[0] == "pgbouncer" and not values["pgbouncer"]["enabled"]):
            continue
        block: Any = values
        for part in path:
            assert part in block, f"{dotted} is not set"
            block = block[part]
        container = block.get("container") or block.get("containers")
        assert container["allowPrivilegeEscalation"] is False, dotted
        assert container["capabilities"] == {"drop": ["ALL"]}, dotted
        assert container["runAsNonRoot"] is True, dotted
        if "pod" in kinds:
            assert block["pod"]["runAsNonRoot"] is True, dotted
            assert block["pod"]["seccompProfile"] == {"type": "RuntimeDefault"}, dotted
        checked += 1
    assert checked >= 15
    for section in ("dagProcessor", "triggerer", "workers"):
        for container in values_for(stack)[1][section].get("extraInitContainers", []):
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["capabilities"] == CONTAINER_SECURITY["capabilities"]


@pytest.mark.parametrize(("stack", "enabled"), [("dev", False), ("uat", True), ("prod", True)])
def test_network_policies_admit_the_load_balancer_and_airflows_own_pods(stack, enabled):
    settings, values = values_for(stack)
    assert values["networkPolicies"] == {"enabled": enabled}
    peers = values["apiServer"]["networkPolicy"]["ingress"]["from"]
    assert peers, "an empty `from` denies all ingress, the workers' Execution API calls included"
    cidrs = [p["ipBlock"]["cidr"] for p in peers if "ipBlock" in p]
    assert cidrs == list(fake_wiring(settings).api_peer_cidrs)  # the front door's sources, as wired
    assert {"podSelector": {"matchLabels": {"tier": "airflow", "release": "airflow"}}} in peers


@pytest.mark.parametrize(
    ("stack", "expected"), [("dev", "non-sensitive-only"), ("uat", "non-sensitive-only"), ("prod", "False")]
)
def test_expose_config_never_shows_secrets(stack, expected):
    """`True` would list the env-sourced DB connection, Fernet key and signing keys on the config page."""
    _, values = values_for(stack)
    assert values["config"]["api"]["expose_config"] == expected


def test_prod_has_no_create_user_job():
    _, values = values_for("prod")
    assert values["createUserJob"]["enabled"] is False
    assert "args" not in values["createUserJob"]


@pytest.mark.parametrize("stack", ["dev", "uat"])
def test_non_prod_admin_password_comes_from_a_secret_file_never_from_values(stack):
    settings, values = values_for(stack)
    job = values["createUserJob"]
    assert job["enabled"] is True
    assert job["defaultUser"]["username"] != "admin"
    assert job["defaultUser"]["password"] == ""
    assert job["args"][2].startswith('password="$(</opt/airflow/secrets/admin/password)"; ')
    assert "--password" not in job["args"][2]  # asked for on standard input instead
    assert job["extraVolumes"] == [
        {"name": "admin-password", "secret": {"secretName": settings.shape.secret_names.admin_password}}
    ]
    assert "admin:admin" not in json.dumps(values) and '"password": "admin"' not in json.dumps(values)


@pytest.mark.parametrize("stack", STACKS)
def test_statsd_exporter_is_on_and_prometheus_may_scrape_through_network_policies(stack):
    settings, values = values_for(stack)
    assert values["statsd"]["enabled"] is True
    assert "service" not in values["statsd"]  # the chart already annotates the Service for scraping
    _, scraped = values_for(stack, airflow_override(stack, metrics={"prometheusNamespace": "prometheus"}))
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "prometheus"}}}
    tasks = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": f"{settings.namespace}-tasks"}},
        "podSelector": {"matchLabels": {"tier": "airflow", "component": "worker", "release": "airflow"}},
    }
    assert scraped["statsd"]["extraNetworkPolicies"] == [peer, tasks]  # task pods send metrics too
    if scraped["pgbouncer"]["enabled"]:
        assert scraped["pgbouncer"]["extraNetworkPolicies"] == [peer]  # Airflow 3 tasks never reach the DB


def test_pgbouncer_in_prod_requires_tls_to_rds_and_reads_our_config_secret():
    settings, values = values_for("prod")
    pgbouncer = values["pgbouncer"]
    names = settings.shape.secret_names
    assert pgbouncer["enabled"] is True and pgbouncer["replicas"] == 2
    assert pgbouncer["sslmode"] == "require"
    assert pgbouncer["configSecretName"] == names.pgbouncer_config
    assert pgbouncer["metricsExporterSidecar"]["statsSecretName"] == names.pgbouncer_stats
    assert values_for("dev")[1]["pgbouncer"] == {"enabled": False}


def test_values_are_a_pure_deterministic_function_of_config_and_wiring():
    settings, first = values_for("prod")
    second = airflow_values(settings, fake_wiring(settings))
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_ports_the_wiring_relies_on_are_stated_in_the_values():
    from airflow_chart.chart import PGBOUNCER_PORT

    _, values = values_for("prod")
    assert values["ports"] == {"apiServer": 8080, "airflowUI": 8080, "pgbouncer": PGBOUNCER_PORT, "triggererLogs": 8794}
    assert values["apiServer"]["networkPolicy"]["ingress"]["ports"] == [{"port": values["ports"]["apiServer"]}]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_default_pool_and_the_executor_are_sized_for_every_scheduler(stack: str) -> None:
    settings, values = values_for(stack)
    airflow = settings.airflow
    core = values["config"]["core"]
    assert core["parallelism"] == airflow.parallelism  # Airflow applies it per scheduler
    # Without this the default pool's 128 slots would cap prod's 512 running tasks.
    assert core["default_pool_task_slot_count"] == airflow.parallelism * airflow.scheduler.replicas
    # A task pod the namespace quota refuses waits in the queue instead of failing its task.
    assert values["config"]["kubernetes_executor"]["task_publish_max_retries"] == -1
