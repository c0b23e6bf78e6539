"""Issue 10 wired into the program: SSO or a break-glass admin, DAG publisher roles, the namespace quota."""

from __future__ import annotations

import json

import pytest

from airflow_chart.footprint import namespace_quota, task_namespace_quota, task_pod
from airflow_chart.values import OIDC_SECRET_CHECKSUM_ANNOTATION
from components.airflow_auth import CLIENT_SECRET_DIR, CLIENT_SECRET_VOLUME
from components.namespace_guardrails import NOTHING
from config import ConfigError
from offline.engine import is_secret_value, unwrap
from offline.report import render_json, render_text
from offline.stack_file import FAKE_SECRETS
from tests.support import PROJECT_PREFIX as P
from tests.support import stack_inventory, stack_object, stack_settings
from tests.values_support import AIRFLOW_2, airflow_override, schema_errors, values_for
from tests.variants import break_glass_airflow_2, password_prod

CLIENT_SECRET = FAKE_SECRETS["airflowOidcClientSecret"]


@pytest.mark.parametrize("major", [3, 2])
def test_oidc_login_reads_its_client_secret_from_a_secret_and_rolls_on_rotation(major: int) -> None:
    settings, values = values_for("prod", airflow_override("prod", **(AIRFLOW_2 if major == 2 else {})))
    section = values["apiServer" if major == 3 else "webserver"]
    config = section["apiServerConfig" if major == 3 else "webserverConfig"]
    assert '"client_id": "airflow-prod"' in config
    assert "AUTH_OAUTH" in config and '"airflow-admins": ["Admin"]' in config
    secret = settings.shape.secret_names.oidc_client_secret
    assert "env" not in section  # the chart would also copy it into [kubernetes_environment_variables]
    [volume] = [v for v in section["extraVolumes"] if v["name"] == CLIENT_SECRET_VOLUME]
    assert volume["secret"]["secretName"] == secret
    assert {"name": CLIENT_SECRET_VOLUME, "mountPath": CLIENT_SECRET_DIR, "readOnly": True} in section[
        "extraVolumeMounts"
    ]
    assert section["podAnnotations"][OIDC_SECRET_CHECKSUM_ANNOTATION] == "0c" * 32
    assert values["createUserJob"]["enabled"] is False
    assert CLIENT_SECRET not in json.dumps(values)
    assert schema_errors(values, settings.airflow.chart_version) == []


@pytest.mark.parametrize("major", [3, 2])
def test_break_glass_admin_is_created_by_the_job_from_a_mounted_secret(major: int) -> None:
    settings, values = values_for("prod", password_prod(**(AIRFLOW_2 if major == 2 else {})))
    job = values["createUserJob"]
    assert job["enabled"] is True and job["defaultUser"]["username"] == "break-glass-admin"
    assert job["extraVolumes"] == [
        {"name": "break-glass-password", "secret": {"secretName": settings.shape.secret_names.break_glass_admin}}
    ]
    assert job["securityContexts"]["container"]["allowPrivilegeEscalation"] is False
    section = values["apiServer" if major == 3 else "webserver"]
    assert "AUTH_DB" in section["apiServerConfig" if major == 3 else "webserverConfig"]
    assert "env" not in section
    assert schema_errors(values, settings.airflow.chart_version) == []


def test_prod_oidc_plan_has_the_secret_but_never_its_value() -> None:
    inventory = stack_inventory("prod")
    [secret] = [r for r in inventory.of_type("kubernetes:core/v1:Secret") if r.name == "airflow-oidc-client-secret"]
    assert secret.inputs["metadata"]["name"] == "airflow-oidc-client-secret"
    assert is_secret_value(secret.inputs["stringData"])  # a Pulumi secret, delivered to the pods by Kubernetes
    assert unwrap(secret.inputs["stringData"]) == {"client-secret": CLIENT_SECRET}
    text = render_text("prod", inventory, values=True)
    assert "checksum/oidc-client-secret" in text and CLIENT_SECRET_DIR in text
    assert CLIENT_SECRET not in text
    assert CLIENT_SECRET not in render_json("prod", inventory)
    assert "breakGlassAdminPassword" not in inventory.outputs
    assert inventory.outputs["oidcRedirectUri"] == "https://airflow.data.example.com/auth/oauth-authorized/oidc"


def test_break_glass_prod_exports_the_generated_password_as_a_secret() -> None:
    inventory = break_glass_airflow_2()
    assert "breakGlassAdminPassword" in inventory.secret_outputs
    assert "oidcRedirectUri" not in inventory.outputs
    names = {r.name for r in inventory.of_type("kubernetes:core/v1:Secret")}
    assert "airflow-break-glass-admin" in names and "airflow-oidc-client-secret" not in names
    password = inventory.one("random:index/randomPassword:RandomPassword", "airflow-break-glass-admin-password")
    assert password.protect and password.inputs["length"] == 32


def test_prod_needs_sso_or_a_break_glass_admin() -> None:
    with pytest.raises(ConfigError) as caught:
        stack_settings("prod", {**airflow_override("prod", auth={"type": "password"})})
    assert "airflow-platform:airflow.auth.breakGlassAdmin: prod with type password requires" in str(caught.value)


# -- DAG publishers ------------------------------------------------------------------------


def test_each_publisher_role_trusts_one_repository_environment_and_writes_only_its_folder() -> None:
    inventory = stack_inventory("prod")
    role = inventory.one("aws:iam/role:Role", "dag-publishers-analytics")
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {
        "Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
    }
    assert trust["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": "repo:acme/analytics-dags:environment:prod",
        }
    }
    policy = inventory.one("aws:iam/rolePolicy:RolePolicy", "dag-publishers-analytics-publish-dags")
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    bucket = "arn:aws:s3:::etl-airflow-dags-prod-111122223333-eu-west-1"
    assert statements["WriteOwnFolder"]["Resource"] == [f"{bucket}/dags/analytics/*"]
    assert statements["ListOwnFolder"]["Condition"] == {
        "StringLike": {"s3:prefix": ["dags/analytics/", "dags/analytics/*"]}
    }
    assert statements["UseBucketKey"]["Resource"] == [stack_settings("prod").encryption.kms_key_arn]
    assert inventory.outputs["publisherRoleArns"] == {
        "analytics": "arn:aws:iam::111122223333:role/etl-airflow-prod-publish-analytics"
    }
    assert "publisherRoleArns" not in stack_inventory("uat").outputs


# -- namespace guardrails ------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["uat", "prod"])
def test_task_namespace_quota_admits_every_schedulers_parallelism(stack: str) -> None:
    settings = stack_settings(stack)
    quota = task_namespace_quota(settings)
    airflow = settings.airflow
    running = airflow.parallelism * airflow.scheduler.replicas  # [core] parallelism holds per scheduler
    assert quota.tasks == task_pod(settings).times(running)
    assert quota.total == quota.tasks and quota.pods == running  # task pods only
    bigger = stack_settings(stack, airflow_override(stack, parallelism=airflow.parallelism + 10))
    grown = task_namespace_quota(bigger)
    assert grown.pods == quota.pods + 10 * airflow.scheduler.replicas
    assert grown.total == quota.total + task_pod(settings).times(10 * airflow.scheduler.replicas)
    # Airflow's own namespace is sized for its components and jobs, whatever the parallelism.
    platform = namespace_quota(settings)
    assert platform.tasks == NOTHING and platform.total == platform.long_running + platform.one_off
    assert namespace_quota(bigger) == platform


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_plan_creates_the_sized_quotas_and_limit_ranges_in_restricted_namespaces(stack: str) -> None:
    inventory, settings = stack_inventory(stack), stack_settings(stack)
    release = inventory.one("kubernetes:helm.sh/v3:Release", "airflow-release")
    expected = {
        settings.namespace: namespace_quota(settings).hard,
        settings.shape.task_namespace: task_namespace_quota(settings).hard,
    }
    quotas = inventory.of_type("kubernetes:core/v1:ResourceQuota")
    assert {q.inputs["metadata"]["namespace"]: q.inputs["spec"]["hard"] for q in quotas} == expected
    for limit_range in inventory.of_type("kubernetes:core/v1:LimitRange"):
        [limits] = limit_range.inputs["spec"]["limits"]
        assert limits["default"] == {"cpu": "500m", "memory": "512Mi"}
    airflow_namespaces = {settings.namespace, settings.shape.task_namespace, settings.shape.bootstrap_namespace}
    namespaces = [
        n
        for n in inventory.of_type("kubernetes:core/v1:Namespace")
        if n.inputs["metadata"]["name"] in airflow_namespaces
    ]
    assert len(namespaces) == len(airflow_namespaces)
    for namespace in namespaces:
        assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    guardrails = [*quotas, *inventory.of_type("kubernetes:core/v1:LimitRange")]
    assert {r.urn for r in guardrails} <= set(release.dependencies)  # admitted before the chart's first pod


def test_a_uat_stack_with_sso_but_no_certificate_is_refused_by_name() -> None:
    oidc = stack_object("prod", "airflow")["auth"]
    with pytest.raises(ConfigError) as caught:
        stack_settings("uat", {**airflow_override("uat", auth=oidc), P + "airflowOidcClientSecret": {"secure": "v1:x"}})
    assert [str(p) for p in caught.value.problems if p.key == "frontDoor.certificateArn"] == [
        P + "frontDoor.certificateArn: required with airflow.auth.type oidc: identity providers send the login "
        "code to an https redirect URI, and the session cookie must not travel in clear"
    ]
