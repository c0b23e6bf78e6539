"""AirflowRelease under the offline engine: the Release inputs, the Secrets, and the wires between them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import unquote, urlparse

import pytest
import yaml

from airflow_chart.shape import Workload
from airflow_chart.values import IRSA_ANNOTATION
from components.common import keyed_checksum
from offline import run_stack
from offline.engine import Inventory, is_secret_value, unwrap
from tests.support import STACKS, name_stem, namespace_of, stack_inventory, stack_settings
from tests.values_support import AIRFLOW_2, GIT_HTTPS, GIT_SSH, airflow_override
from tests.variants import airflow_2_stack, git_ssh_prod, prod_renamed_and_scraped

RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET = "kubernetes:core/v1:Secret"


def release_inputs(inventory: Inventory) -> dict:
    return unwrap(inventory.one(RELEASE, "airflow-release").inputs)


def secrets_by_name(inventory: Inventory) -> dict[str, dict]:
    return {r.inputs["metadata"]["name"]: r.inputs for r in inventory.of_type(SECRET)}


def secret_value(inventory: Inventory, name: str, key: str) -> str:
    data = secrets_by_name(inventory)[name]["stringData"]
    return unwrap(data)[key]


@pytest.mark.parametrize("stack", STACKS)
def test_release_installs_the_pinned_official_chart_atomically(stack):
    inputs = release_inputs(stack_inventory(stack))
    assert inputs["chart"] == "airflow"
    assert inputs["version"] == "1.19.0"
    assert inputs["repositoryOpts"] == {"repo": "https://airflow.apache.org"}
    assert inputs["name"] == "airflow"
    assert inputs["namespace"] == namespace_of(stack)
    assert inputs["atomic"] is True and inputs["cleanupOnFail"] is True
    assert inputs["timeout"] == 900 and inputs["maxHistory"] == 10
    assert inputs.get("createNamespace") in (None, False)


@pytest.mark.parametrize("stack", STACKS)
def test_release_and_secrets_go_through_the_clusters_kubernetes_provider(stack):
    inventory = stack_inventory(stack)
    for resource in [
        inventory.one(RELEASE, "airflow-release"),
        *inventory.of_type(SECRET),
        inventory.one("kubernetes:core/v1:Namespace", "airflow-namespace"),
    ]:
        assert "pulumi:providers:kubernetes::cluster-k8s::" in resource.provider


@pytest.mark.parametrize("stack", STACKS)
def test_every_secret_value_is_a_pulumi_secret(stack):
    inventory = stack_inventory(stack)
    assert inventory.of_type(SECRET)
    for resource in inventory.of_type(SECRET):
        data = resource.inputs["stringData"]
        assert is_secret_value(data) or all(is_secret_value(v) for v in data.values()), resource.name


@pytest.mark.parametrize("stack", STACKS)
def test_every_secret_the_values_reference_is_created(stack):
    inventory = stack_inventory(stack)
    values = release_inputs(inventory)["values"]
    created = set(secrets_by_name(inventory))
    referenced = {values["fernetKeySecretName"], values["data"]["metadataSecretName"]}
    referenced |= {values["apiSecretKeySecretName"], values["jwtSecretName"]}
    if values["pgbouncer"]["enabled"]:
        referenced |= {
            values["pgbouncer"]["configSecretName"],
            values["pgbouncer"]["metricsExporterSidecar"]["statsSecretName"],
        }
    if values["createUserJob"]["enabled"]:
        referenced.add(values["createUserJob"]["extraVolumes"][0]["secret"]["secretName"])
    assert referenced <= created


def test_fernet_key_is_a_valid_fernet_key():
    inventory = stack_inventory("dev")
    key = secret_value(inventory, stack_settings("dev").shape.secret_names.fernet_key, "fernet-key")
    assert len(key) == 44 and key.endswith("=")
    assert len(base64.urlsafe_b64decode(key)) == 32
    assert not set(key) & set("+/")


def test_generated_secrets_come_from_pulumi_random_without_keepers():
    inventory = stack_inventory("prod")
    fernet = inventory.one("random:index/randomBytes:RandomBytes", "airflow-fernet-bytes")
    assert fernet.inputs["length"] == 32 and "keepers" not in fernet.inputs
    passwords = {r.name for r in inventory.of_type("random:index/randomPassword:RandomPassword")}
    assert {"airflow-api-secret-key", "airflow-jwt-secret"} <= passwords
    assert "airflow-admin-password" not in passwords  # no admin user in prod


def app_password(inventory: Inventory, settings) -> str:
    """The application role's password, as the bootstrap Job sets it."""
    return secret_value(inventory, settings.shape.secret_names.db_bootstrap, "APP_PASSWORD")


def test_without_pgbouncer_airflow_connects_to_rds_over_tls_as_the_application_role():
    inventory = stack_inventory("dev")
    settings = stack_settings("dev")
    uri = urlparse(secret_value(inventory, settings.shape.secret_names.metadata, "connection"))
    rds = unwrap(inventory.one("aws:rds/instance:Instance").inputs)
    assert uri.scheme == "postgresql"
    assert uri.hostname == inventory.outputs["dbEndpoint"]
    assert uri.port == 5432 and uri.path == "/airflow"
    assert uri.query == "sslmode=require"
    assert unquote(uri.username) == "airflow_app" != rds["username"]
    assert unquote(uri.password) == app_password(inventory, settings) != rds["password"]


def test_with_pgbouncer_airflow_connects_to_pgbouncer_which_requires_tls_to_rds():
    inventory = stack_inventory("prod")
    names = stack_settings("prod").shape.secret_names
    uri = urlparse(secret_value(inventory, names.metadata, "connection"))
    assert (uri.hostname, uri.port, uri.path) == ("airflow-pgbouncer.airflow-prod", 6543, "/airflow-metadata")
    ini = secret_value(inventory, names.pgbouncer_config, "pgbouncer.ini")
    assert f"airflow-metadata = host={inventory.outputs['dbEndpoint']} dbname=airflow port=5432 pool_size=100" in ini
    assert "server_tls_sslmode = require" in ini
    assert "max_client_conn = 1000" in ini and "listen_port = 6543" in ini
    assert "stats_users = airflow_app" in ini and "max_prepared_statements = 200" in ini
    users = secret_value(inventory, names.pgbouncer_config, "users.txt")
    assert users == f'"airflow_app" "{app_password(inventory, stack_settings("prod"))}"\n'
    stats = urlparse(secret_value(inventory, names.pgbouncer_stats, "connection"))
    assert (stats.hostname, stats.port, stats.path) == ("127.0.0.1", 6543, "/pgbouncer")


@pytest.mark.parametrize("stack", STACKS)
def test_service_accounts_carry_the_arn_of_the_role_whose_trust_names_them(stack):
    """The IRSA wire end to end: values SA name -> role trust `sub`, role ARN -> SA annotation."""
    inventory = stack_inventory(stack)
    settings = stack_settings(stack)
    values = release_inputs(inventory)["values"]
    roles = {r.inputs["name"]: r.inputs for r in inventory.of_type("aws:iam/role:Role")}
    arns = inventory.outputs["roleArns"]
    accounts = {
        workload: (settings.namespace, values[workload.values_key]["serviceAccount"])
        for workload in (Workload.SCHEDULER, Workload.API_SERVER, Workload.TRIGGERER, Workload.DAG_PROCESSOR)
    }
    # The task pods' account is ours, in the task namespace (the chart creates none).
    assert values["workers"]["serviceAccount"]["create"] is False
    [worker] = inventory.of_type("kubernetes:core/v1:ServiceAccount")
    metadata = unwrap(worker.inputs["metadata"])
    accounts[Workload.WORKER] = (metadata["namespace"], metadata)
    assert metadata["namespace"] == settings.shape.task_namespace
    assert values["workers"]["serviceAccount"]["name"] == metadata["name"]
    for workload, (namespace, account) in accounts.items():
        assert account["annotations"][IRSA_ANNOTATION] == arns[workload.value]
        role = roles[f"{name_stem(stack)}-{workload.value}"]
        (statement,) = json.loads(role["assumeRolePolicy"])["Statement"]
        subjects = [v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub")]
        assert subjects == [f"system:serviceaccount:{namespace}:{account['name']}"]
        assert account["name"] == settings.shape.service_account(workload).name


def test_git_sync_ssh_key_goes_into_a_secret_with_the_key_the_chart_expects():
    inventory = git_ssh_prod()
    names = stack_settings("prod", GIT_SSH).shape.secret_names
    key = secret_value(inventory, names.git_ssh_key, "gitSshKey")
    assert key.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert release_inputs(inventory)["values"]["dags"]["gitSync"]["sshKeySecret"] == names.git_ssh_key
    assert "gitSshKey" not in json.dumps(release_inputs(inventory)["values"])


def test_git_sync_https_token_secret_has_all_four_keys_the_chart_reads():
    inventory = run_stack("dev", GIT_HTTPS)
    names = stack_settings("dev", GIT_HTTPS).shape.secret_names
    data = unwrap(secrets_by_name(inventory)[names.git_credentials]["stringData"])
    assert set(data) == {"GIT_SYNC_USERNAME", "GITSYNC_USERNAME", "GIT_SYNC_PASSWORD", "GITSYNC_PASSWORD"}
    assert data["GITSYNC_USERNAME"] == "dag-bot" and data["GITSYNC_PASSWORD"] == "offline-fake-token"


def test_release_outputs_name_the_api_service_for_the_load_balancer():
    inventory = stack_inventory("prod")
    outputs = inventory.outputs
    assert outputs["namespace"] == "airflow-prod"
    assert outputs["releaseName"] == "airflow"
    assert outputs["apiServiceName"] == "airflow-api-server"
    assert outputs["apiServicePort"] == 8080


@pytest.mark.parametrize(("stack", "has_admin"), [("dev", True), ("uat", True), ("prod", False)])
def test_admin_password_is_exported_only_as_a_secret(stack, has_admin):
    inventory = stack_inventory(stack)
    assert ("adminPassword" in inventory.outputs) is has_admin
    if has_admin:
        assert "adminPassword" in inventory.secret_outputs


def test_namespace_enforces_restricted_pod_security():
    namespace = stack_inventory("uat").one("kubernetes:core/v1:Namespace", "airflow-namespace").inputs["metadata"]
    assert namespace["name"] == "airflow-uat"
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_service_monitor_is_created_only_when_asked_for():
    assert not stack_inventory("prod").of_type("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")
    inventory = prod_renamed_and_scraped()
    (monitor,) = inventory.of_type("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")
    assert monitor.inputs["spec"]["endpoints"][0]["port"] == "statsd-scrape"
    assert "pulumi:providers:kubernetes::cluster-k8s::" in monitor.provider


def test_airflow_reaches_pgbouncer_over_tls_with_a_generated_certificate():
    inventory = stack_inventory("prod")
    names = stack_settings("prod").shape.secret_names
    assert urlparse(secret_value(inventory, names.metadata, "connection")).query == "sslmode=require"
    assert urlparse(secret_value(inventory, names.pgbouncer_stats, "connection")).query == "sslmode=require"
    ini = secret_value(inventory, names.pgbouncer_config, "pgbouncer.ini")
    assert "client_tls_sslmode = require" in ini
    assert "client_tls_cert_file = /etc/pgbouncer/client-tls/tls.crt" in ini
    tls_secret = secrets_by_name(inventory)[names.pgbouncer_tls]
    assert tls_secret["type"] == "kubernetes.io/tls"
    assert set(unwrap(tls_secret["stringData"])) == {"tls.crt", "tls.key"}
    (certificate,) = inventory.of_type("tls:index/selfSignedCert:SelfSignedCert")
    assert "airflow-pgbouncer.airflow-prod.svc" in certificate.inputs["dnsNames"]
    assert "server_auth" in certificate.inputs["allowedUses"]
    values = release_inputs(inventory)["values"]["pgbouncer"]
    assert values["extraVolumes"][0]["secret"]["secretName"] == names.pgbouncer_tls
    assert values["extraVolumeMounts"][0]["mountPath"] == "/etc/pgbouncer/client-tls"


def test_release_waits_for_the_iam_policies_its_pods_need():
    inventory = stack_inventory("uat")
    component = inventory.one("airflow-platform:airflow:AirflowRelease")
    policies = {r.urn for r in inventory.of_type("aws:iam/rolePolicy:RolePolicy")}
    grants = {urn for urn in policies if "bucket-read" in urn}
    assert len(grants) == 8  # logs for 5 roles, DAGs for dag-processor, triggerer, worker
    assert grants <= set(component.dependencies)


def test_generated_airflow_keys_are_protected_in_prod_only():
    for stack, protected in (("prod", True), ("dev", False)):
        inventory = stack_inventory(stack)
        keys = [
            r
            for r in inventory.resources
            if r.type in ("random:index/randomBytes:RandomBytes", "random:index/randomPassword:RandomPassword")
            and r.name.startswith("airflow-")
        ]
        assert keys
        assert all(r.protect is protected for r in keys), stack


def test_the_master_password_reaches_only_the_bootstrap_secret(run_components):
    """Airflow and PgBouncer never see the master credentials; the Helm values stay readable (not secret)."""
    from components.airflow_release import AirflowRelease
    from components.common import DatabaseEndpoint
    from tests.support import make_settings

    settings = make_settings("uat")
    master = "master-p@ss word-0123456789"
    # A plain (non-secret) password: the component itself must keep it where it belongs.
    database = DatabaseEndpoint("db.example.internal", 5432, "airflow", "airflow_admin", master)

    def program():
        import wiring

        AirflowRelease(
            "airflow",
            wiring.release_args(
                settings,
                role_arns={w: f"arn:aws:iam::111122223333:role/{w.value}" for w in settings.shape.workloads},
                dag_bucket="dags",
                log_bucket="logs",
                database=database,
                git_ssh_private_key=None,
                git_https_token=None,
            ),
        )

    inventory = run_components(program, stack="uat")
    names = settings.shape.secret_names
    holders = [r.name for r in inventory.resources if master in json.dumps(unwrap(r.inputs))]
    assert holders == ["airflow-db-bootstrap"]  # the Secret the Job reads, under PGPASSWORD
    # ... in a namespace of its own, next to its Job: no Airflow account has rights there.
    [secret] = [r for r in inventory.of_type(SECRET) if r.name == "airflow-db-bootstrap"]
    job = inventory.one("kubernetes:batch/v1:Job")
    namespace = settings.shape.bootstrap_namespace
    assert secret.inputs["metadata"]["namespace"] == job.inputs["metadata"]["namespace"] == namespace
    assert namespace not in (settings.namespace, settings.shape.task_namespace)
    bootstrap = secrets_by_name(inventory)[names.db_bootstrap]["stringData"]
    assert is_secret_value(bootstrap) or is_secret_value(bootstrap["PGPASSWORD"])
    assert unwrap(bootstrap)["PGUSER"] == "airflow_admin"
    assert not is_secret_value(inventory.one(RELEASE, "airflow-release").inputs["values"])


def test_airflow_2_stack_wires_the_webserver_role_end_to_end():
    overrides = airflow_override("uat", **AIRFLOW_2)
    inventory = airflow_2_stack("uat")
    settings = stack_settings("uat", overrides)
    arns = inventory.outputs["roleArns"]
    assert set(arns) == {"scheduler", "webserver", "worker", "triggerer"}
    values = release_inputs(inventory)["values"]
    account = values["webserver"]["serviceAccount"]
    assert account["annotations"][IRSA_ANNOTATION] == arns["webserver"]
    role = next(r for r in inventory.of_type("aws:iam/role:Role") if r.inputs["name"] == "etl-airflow-uat-webserver")
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    subjects = [v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    assert subjects == [f"system:serviceaccount:{settings.namespace}:{account['name']}"]
    names = settings.shape.secret_names
    assert values["webserverSecretKeySecretName"] == names.webserver_secret_key
    assert names.webserver_secret_key in secrets_by_name(inventory)
    assert inventory.outputs["apiServiceName"] == "airflow-webserver"


PGBOUNCER_ROLL = "checksum/pgbouncer-secrets"


def pgbouncer_annotation(inventory: Inventory) -> str:
    return release_inputs(inventory)["values"]["pgbouncer"]["podAnnotations"][PGBOUNCER_ROLL]


def test_pgbouncer_rolls_on_any_change_to_the_secrets_it_mounts():
    """The hash covers config, users (the password), stats connection and TLS pair: all that PgBouncer reads."""
    inventory = stack_inventory("prod")
    names = stack_settings("prod").shape.secret_names
    config = unwrap(secrets_by_name(inventory)[names.pgbouncer_config]["stringData"])
    stats = secret_value(inventory, names.pgbouncer_stats, "connection")
    tls = unwrap(secrets_by_name(inventory)[names.pgbouncer_tls]["stringData"])
    parts = [config["pgbouncer.ini"], config["users.txt"], stats, tls["tls.crt"], tls["tls.key"]]
    annotation = pgbouncer_annotation(inventory)
    assert len(annotation) == 64 and int(annotation, 16) >= 0
    # Keyed: whoever reads the annotation cannot test a guessed password against a plain hash of the parts.
    assert annotation != hashlib.sha256("\0".join(parts).encode()).hexdigest()
    # ... and the values carrying it are not marked secret (the keyed hash reveals nothing).
    assert not is_secret_value(inventory.one(RELEASE, "airflow-release").inputs["values"])


def test_pgbouncer_rolls_when_the_pool_size_changes():
    changed = run_stack("prod", airflow_override("prod", pgbouncer={"enabled": True, "metadataPoolSize": 120}))
    assert pgbouncer_annotation(changed) != pgbouncer_annotation(stack_inventory("prod"))


def test_bootstrap_job_creates_the_application_role_before_the_release():
    inventory = stack_inventory("prod")
    settings = stack_settings("prod")
    names = settings.shape.secret_names
    job = inventory.one("kubernetes:batch/v1:Job")
    assert job.inputs["metadata"]["name"] == names.db_bootstrap
    pod = job.inputs["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"] == "public.ecr.aws/docker/library/postgres:17.6-alpine"
    assert container["envFrom"] == [{"secretRef": {"name": names.db_bootstrap}}]
    assert {"name": "PGSSLMODE", "value": "require"} in container["env"]
    assert "PASSWORD" not in json.dumps(container["command"])
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (70, 70)
    data = unwrap(secrets_by_name(inventory)[names.db_bootstrap]["stringData"])
    assert data["PGUSER"] == "airflow_admin" and data["APP_USER"] == "airflow_app"
    assert data["PGHOST"] == inventory.outputs["dbEndpoint"] and data["PGDATABASE"] == "airflow"
    assert job.urn in inventory.one(RELEASE, "airflow-release").dependencies
    assert job.inputs["spec"]["template"]["metadata"]["annotations"]["checksum/db-bootstrap"]


def test_airflow_3_gets_an_asyncpg_url_with_ssl_not_sslmode():
    inventory = stack_inventory("prod")
    names = stack_settings("prod").shape.secret_names
    sync = urlparse(secret_value(inventory, names.metadata, "connection"))
    async_ = urlparse(secret_value(inventory, names.metadata, "async-connection"))
    assert async_.scheme == "postgresql+asyncpg" and async_.query == "ssl=require"
    assert (async_.hostname, async_.port, async_.path, async_.password) == (
        sync.hostname,
        sync.port,
        sync.path,
        sync.password,
    )
    values = release_inputs(inventory)["values"]
    assert "secret" not in values  # the chart's template would hand it to task pods too
    assert yaml.safe_load(values["extraEnv"]) == [
        {
            "name": "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC",
            "valueFrom": {"secretKeyRef": {"name": names.metadata, "key": "async-connection"}},
        }
    ]


def test_airflow_2_has_no_async_url():
    overrides = airflow_override("uat", **AIRFLOW_2)
    inventory = airflow_2_stack("uat")
    names = stack_settings("uat", overrides).shape.secret_names
    assert set(unwrap(secrets_by_name(inventory)[names.metadata]["stringData"])) == {"connection"}
    assert "secret" not in release_inputs(inventory)["values"]
    assert "extraEnv" not in release_inputs(inventory)["values"]
    # The chart admits the webserver to the triggerer's logs; ours only close the task pods to ingress (and,
    # as everywhere, keep them off the instance metadata service).
    policies = inventory.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    assert sorted(p.name for p in policies) == ["airflow-tasks-deny-ingress", "airflow-tasks-no-instance-metadata"]


def test_api_server_may_read_live_triggerer_logs_through_network_policies():
    inventory = stack_inventory("prod")
    policy = inventory.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "airflow-triggerer-logs-policy")
    spec = policy.inputs["spec"]
    assert spec["podSelector"]["matchLabels"] == {"tier": "airflow", "component": "triggerer", "release": "airflow"}
    [rule] = spec["ingress"]
    assert rule["from"] == [
        {"podSelector": {"matchLabels": {"tier": "airflow", "component": "api-server", "release": "airflow"}}}
    ]
    log_port = release_inputs(inventory)["values"]["ports"]["triggererLogs"]
    assert rule["ports"] == [{"protocol": "TCP", "port": log_port}]
    # Dev has network policies off: only the task namespace's instance-metadata block, which is always there.
    dev_policies = stack_inventory("dev").of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    assert [p.name for p in dev_policies] == ["airflow-tasks-no-instance-metadata"]


def test_checksums_are_keyed_hashes_that_change_with_any_part_or_the_key():
    key, other_key = base64.b64encode(b"k" * 32).decode(), base64.b64encode(b"x" * 32).decode()
    parts = ["ini", "users", "secret"]
    value = keyed_checksum(key, parts)
    assert value == hmac.new(b"k" * 32, json.dumps(parts).encode(), hashlib.sha256).hexdigest()
    assert value == keyed_checksum(key, list(parts))  # deterministic: the same inputs never roll pods
    assert value != keyed_checksum(other_key, parts)
    assert value != keyed_checksum(key, ["ini", "users", "rotated"])
    assert value != keyed_checksum(key, ["ini", "users\0secret"])  # parts stay apart
