"""Config rules of the Airflow release: prod HA, access, DAG delivery, secrets and the connection budget."""

from __future__ import annotations

import pytest

from capacity.connections import connection_budget, effective_max_connections
from config import ConfigError
from config.rules import airflow_pods
from tests.support import PROD_LOGIN, make_settings, stack_settings
from tests.values_support import GIT_HTTPS, GIT_SSH, P, airflow_override


def problems(stack: str, overrides: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        stack_settings(stack, overrides)
    return str(caught.value)


@pytest.mark.parametrize(
    ("fields", "key", "given"),
    [
        ({"scheduler": {"replicas": 1}}, "airflow.scheduler.replicas", "given 1"),
        ({"apiServer": {"replicas": 1, "hpa": {"enabled": False}}}, "airflow.apiServer.replicas", "given 1"),
        ({"apiServer": {"hpa": {"enabled": True, "minReplicas": 1}}}, "airflow.apiServer.hpa.minReplicas", "given 1"),
        ({"podDisruptionBudgets": False}, "airflow.podDisruptionBudgets", "given false"),
        ({"adminUser": {"create": True}}, "airflow.adminUser.create", "given true"),
        ({"exposeConfig": "True"}, "airflow.exposeConfig", 'given "True"'),
        ({"networkPolicies": False}, "airflow.networkPolicies", "given false"),
    ],
)
def test_prod_invariants_of_the_release_are_rules(fields, key, given):
    message = problems("prod", airflow_override("prod", **fields))
    line = next(line for line in message.splitlines() if f"{P}{key}:" in line)
    assert given in line and "prod requires" in line


def test_the_same_settings_are_fine_outside_prod():
    settings = stack_settings("uat", airflow_override("uat", exposeConfig="True", adminUser={"create": True}))
    assert settings.airflow.scheduler.replicas == 1


def test_api_server_replicas_must_lie_within_the_hpa_bounds():
    message = problems("prod", airflow_override("prod", apiServer={"replicas": 7}))
    assert (
        f"{P}airflow.apiServer.replicas: given 7; must lie within apiServer.hpa minReplicas..maxReplicas (2..5)"
        in message
    )


def test_a_database_that_cannot_hold_the_parallelism_is_rejected_with_the_numbers():
    overrides = {P + "airflow": {"parallelism": 1000}}
    message = problems("dev", overrides)
    line = next(line for line in message.splitlines() if f"{P}airflow.parallelism:" in line)
    assert "given 1000" in line
    assert "1000 running tasks (parallelism 1000 x 1 scheduler(s)) + 4 Airflow pods x 15 = 1060 connections" in line
    assert "db.t4g.medium allows 364 (90% of max_connections 405)" in line


def test_prods_default_sizing_holds_500_concurrent_tasks_within_the_connection_budget():
    """The prod profile alone (no stack-file sizing): 2 schedulers x parallelism 256, db.r6g.large, PgBouncer."""
    settings = make_settings("prod")  # raises ConfigError if the budget rules refuse the defaults
    airflow = settings.airflow
    assert settings.database.instance_class == "db.r6g.large"
    assert airflow.max_running_tasks == airflow.parallelism * airflow.scheduler.replicas >= 500
    budget = connection_budget(
        airflow.max_running_tasks, airflow_pods(settings), effective_max_connections(settings.database.instance_class)
    )
    pgbouncer = airflow.pgbouncer
    assert budget.client_connections <= pgbouncer.max_client_conn * pgbouncer.replicas
    assert budget.server_connections_needed <= pgbouncer.metadata_pool_size * pgbouncer.replicas
    assert pgbouncer.metadata_pool_size * pgbouncer.replicas <= budget.usable_connections


def test_a_larger_instance_class_holds_the_same_parallelism():
    settings = stack_settings(
        "dev", {P + "airflow": {"parallelism": 1000}, P + "database": {"instanceClass": "db.r6g.xlarge"}}
    )
    budget = connection_budget(
        settings.airflow.max_running_tasks, airflow_pods(settings), effective_max_connections("db.r6g.xlarge")
    )
    assert budget.client_connections <= budget.usable_connections


def test_pgbouncer_must_accept_every_client_connection():
    message = problems("prod", airflow_override("prod", pgbouncer={"enabled": True, "maxClientConn": 100}))
    line = next(line for line in message.splitlines() if f"{P}airflow.pgbouncer.maxClientConn:" in line)
    assert "given 100" in line and "2 PgBouncer pod(s) x 100 cannot accept" in line
    assert "512 running tasks (parallelism 256 x 2 scheduler(s)) + 11 Airflow pods x 15 = 677 connections" in line


def test_pgbouncer_pools_must_fit_in_the_databases_max_connections():
    message = problems(
        "uat", airflow_override("uat", pgbouncer={"enabled": True, "replicas": 2, "metadataPoolSize": 500})
    )
    line = next(line for line in message.splitlines() if f"{P}airflow.pgbouncer.metadataPoolSize:" in line)
    assert "2 PgBouncer pod(s) x 500 = 1000 server connections" in line and "allows 729" in line


def test_git_sync_over_ssh_requires_known_hosts_and_the_key_secret():
    dags = {"source": "gitSync", "gitSync": {"repo": "git@github.com:acme/dags.git", "auth": "ssh"}}
    message = problems("dev", {P + "dags": dags})
    assert f"{P}dags.gitSync.knownHosts: required with auth ssh" in message
    assert f"{P}gitSshPrivateKey: required for dags.gitSync auth ssh" in message


def test_git_sync_secrets_must_be_pulumi_secrets():
    message = problems("dev", {**GIT_SSH, P + "gitSshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----"})
    assert f"{P}gitSshPrivateKey: must be set as a secret" in message
    assert "BEGIN OPENSSH" not in message  # the plaintext is never echoed


def test_git_sync_https_needs_an_https_url_and_a_username():
    dags = {"source": "gitSync", "gitSync": {"repo": "git@github.com:acme/dags.git", "auth": "https"}}
    message = problems("dev", {P + "dags": dags, P + "gitHttpsToken": {"secure": "v1:x"}})
    assert f'{P}dags.gitSync.repo: given "git@github.com:acme/dags.git"; auth https needs an https:// URL' in message
    assert f"{P}dags.gitSync.username: required with auth https" in message


TOKEN = "ghp_" + "Q" * 36  # shaped like a GitHub token


@pytest.mark.parametrize(
    ("repo", "shown"),
    [
        (f"https://x-access-token:{TOKEN}@github.com/acme/dags.git", "https://***@github.com/acme/dags.git"),
        (f"https://{TOKEN}@github.com/acme/dags.git", "https://***@github.com/acme/dags.git"),
        (f"https://deploy:{TOKEN}@git.example.com:8443/acme/dags", "https://***@git.example.com:8443/acme/dags"),
        (f"ssh://git:{TOKEN}@github.com/acme/dags.git", "ssh://***@github.com/acme/dags.git"),
    ],
)
def test_credentials_inside_the_git_sync_url_are_refused_and_never_echoed(repo: str, shown: str):
    dags = {"source": "gitSync", "gitSync": {"repo": repo, "auth": "https", "username": "x-access-token"}}
    message = problems("dev", {P + "dags": dags, P + "gitHttpsToken": {"secure": "v1:x"}})
    assert f'{P}dags.gitSync.repo: given "{shown}"; must not carry credentials' in message
    assert "pulumi config set --secret gitHttpsToken" in message
    assert TOKEN not in message and "x-access-token:" not in message


@pytest.mark.parametrize("repo", ["git@github.com:acme/dags.git", "ssh://git@github.com/acme/dags.git"])
def test_an_ssh_user_in_the_url_is_not_a_credential(repo: str):
    known = "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    dags = {"source": "gitSync", "gitSync": {"repo": repo, "auth": "ssh", "knownHosts": known}}
    assert stack_settings("dev", {P + "dags": dags, P + "gitSshPrivateKey": {"secure": "v1:x"}}).dags.git_sync


def test_valid_git_sync_configs_load():
    assert stack_settings("prod", GIT_SSH).dags.git_sync.auth == "ssh"
    assert stack_settings("dev", GIT_HTTPS).dags.git_sync.auth == "https"


@pytest.mark.parametrize(
    ("fields", "key", "fragment"),
    [
        ({"chartVersion": "1.15.0"}, "airflow.chartVersion", "1.19.0"),
        ({"version": "2.5.3"}, "airflow.version", "Airflow 2.10+"),
        ({"version": "3.2"}, "airflow.version", "major.minor.patch"),
        ({"parallelism": 0}, "airflow.parallelism", "expected at least 1"),
        (
            {"scheduler": {"resources": {"requests": {"cpu": "lots", "memory": "1Gi"}}}},
            "airflow.scheduler.resources.requests.cpu",
            "CPU quantity",
        ),
        ({"exposeConfig": "yes"}, "airflow.exposeConfig", "non-sensitive-only"),
        (
            {"apiServer": {"hpa": {"enabled": True, "minReplicas": 6, "maxReplicas": 3}}},
            "airflow.apiServer.hpa.minReplicas",
            "must not exceed maxReplicas (3)",
        ),
        ({"image": {"tagSuffix": "python3.12"}}, "airflow.image.tagSuffix", "-python3.12"),
        ({"releaseName": "Airflow_Prod"}, "airflow.releaseName", "Helm release name"),
    ],
)
def test_bad_release_values_name_their_key(fields, key, fragment):
    message = problems("dev", {P + "airflow": fields})
    line = next((line for line in message.splitlines() if f"{P}{key}:" in line), None)
    assert line is not None, message
    assert fragment in line


def test_pgbouncer_server_pool_must_serve_every_schedulers_parallelism():
    message = problems("prod", airflow_override("prod", pgbouncer={"enabled": True, "metadataPoolSize": 10}))
    line = next(line for line in message.splitlines() if f"{P}airflow.pgbouncer.metadataPoolSize:" in line)
    assert "given 10" in line
    assert "2 PgBouncer pod(s) x 10 = 20 server connections cannot serve 11 Airflow pods x 5" in line
    assert "+ 512 running tasks / 4 = 183" in line  # [core] parallelism 256 holds per scheduler, 2 of them


def test_network_policies_need_the_prometheus_namespace_only_when_metrics_are_scraped():
    message = problems("uat", airflow_override("uat", metrics={"serviceMonitor": True}))
    assert f"{P}airflow.metrics.prometheusNamespace: required with metrics.serviceMonitor true" in message
    unscraped = make_settings("prod", airflow={"auth": PROD_LOGIN})  # network policies on, no Prometheus
    assert unscraped.airflow.network_policies and unscraped.airflow.metrics.prometheus_namespace is None
