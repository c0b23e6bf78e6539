"""IRSA roles: one per Airflow workload, trust pinned to its service account, least-privilege policies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi.runtime import MockCallArgs, MockResourceArgs

from airflow_chart.shape import Workload
from components.irsa import irsa_trust_policy
from offline import REPO, read_stack_config
from offline.cloud import OfflineCloud
from offline.engine import Registration
from tests.support import REGION, STACKS, bucket_of, environment_of, name_stem, stack_inventory, stack_settings

ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/rolePolicy:RolePolicy"
IRSA = "airflow-platform:iam:IrsaRole"
WORKLOAD_SUFFIXES = {"scheduler", "api-server", "dag-processor", "worker", "triggerer"}
# Per environment; {stem} is <namePrefix>-<environment>, {cluster} the created cluster's name.
OTHER_ROLES = {
    "dev": {"{cluster}-nodes"},
    "uat": {"{stem}-metadata-rds-monitoring"},
    "prod": {
        "{stem}-metadata-rds-monitoring",
        "{stem}-publish-analytics",
        "{stem}-s3-replication",  # S3 replication to the DR region
    },
}


def parent_type(stack: str, resource: Registration) -> str | None:
    parent = stack_inventory(stack).by_urn(resource.parent)
    return parent.type if parent else None


def irsa_roles(stack: str) -> dict[str, Registration]:
    """Airflow's IRSA roles by name (under a top-level IrsaRole; the controller's role is its own component's)."""
    inventory = stack_inventory(stack)
    roles = inventory.of_type(ROLE)
    return {
        r.inputs["name"]: r
        for r in roles
        if parent_type(stack, r) == IRSA and inventory.by_urn(inventory.by_urn(r.parent).parent) is None
    }


def component(stack: str, workload: Workload) -> Registration:
    return stack_inventory(stack).one(IRSA, f"irsa-{workload.value}")


def policies_of(stack: str, workload: Workload) -> dict[str, dict[str, Any]]:
    """Inline policies of one workload's role, by policy name."""
    urn = component(stack, workload).urn
    found = [p for p in stack_inventory(stack).of_type(POLICY) if p.parent == urn]
    return {p.inputs["name"]: json.loads(p.inputs["policy"]) for p in found}


def listify(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def expected_oidc_provider_arn(stack: str) -> str:
    """The OIDC provider ARN the offline cloud hands the program for this stack's cluster."""
    config = read_stack_config(REPO, stack)
    cloud = OfflineCloud(REGION, config.fake_clusters())
    name = stack_settings(stack).cluster.name
    if stack_settings(stack).cluster.mode == "create":
        _, state = cloud.new_resource(MockResourceArgs("eks:index:Cluster", "cluster-eks", {"name": name}))
        return state["oidcProviderArn"]
    issuer = cloud.call(MockCallArgs("aws:eks/getCluster:getCluster", {"name": name}, ""))["identities"][0]["oidcs"]
    lookup = MockCallArgs("aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider", {"url": issuer[0]["issuer"]}, "")
    return cloud.call(lookup)["arn"]


# -- roles -------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_one_role_per_airflow3_workload(stack: str) -> None:
    names = set(irsa_roles(stack))
    assert names == {f"{name_stem(stack)}-{suffix}" for suffix in WORKLOAD_SUFFIXES}


@pytest.mark.parametrize("stack", STACKS)
def test_only_expected_roles_outside_irsa(stack: str) -> None:
    others = {r.inputs["name"] for r in stack_inventory(stack).of_type(ROLE) if parent_type(stack, r) != IRSA}
    cluster = stack_settings(stack).cluster.name
    assert others == {n.format(stem=name_stem(stack), cluster=cluster) for n in OTHER_ROLES[environment_of(stack)]}


@pytest.mark.parametrize("stack", STACKS)
def test_role_arn_outputs_match_the_roles(stack: str) -> None:
    arns = stack_inventory(stack).outputs["roleArns"]
    assert set(arns) == WORKLOAD_SUFFIXES
    for suffix, arn in arns.items():
        assert arn == f"arn:aws:iam::111122223333:role/{name_stem(stack)}-{suffix}"


# -- trust -------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_trust_policy_is_pinned_to_one_service_account(stack: str) -> None:
    settings = stack_settings(stack)
    provider_arn = expected_oidc_provider_arn(stack)
    issuer = provider_arn.split(":oidc-provider/", 1)[1]
    assert not issuer.startswith("https://")
    roles = irsa_roles(stack)
    for workload in settings.shape.workloads:
        role = roles[f"{name_stem(stack)}-{workload.value}"]
        trust = json.loads(role.inputs["assumeRolePolicy"])
        [statement] = trust["Statement"]
        assert statement["Effect"] == "Allow"
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Principal"] == {"Federated": provider_arn}
        assert statement["Condition"] == {
            "StringEquals": {
                f"{issuer}:sub": settings.shape.service_account(workload).subject,
                f"{issuer}:aud": "sts.amazonaws.com",
            }
        }


@pytest.mark.parametrize("stack", STACKS)
def test_trust_policy_subjects_are_distinct(stack: str) -> None:
    subjects = set()
    airflow_namespace = stack_settings(stack).namespace  # the stack file's, else airflow-<environment>
    for role in irsa_roles(stack).values():
        condition = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
        [subject] = [v for k, v in condition.items() if k.endswith(":sub")]
        namespace = f"{airflow_namespace}-tasks" if subject.endswith(":airflow-worker") else airflow_namespace
        assert subject.startswith(f"system:serviceaccount:{namespace}:")
        subjects.add(subject)
    assert len(subjects) == 5


def test_irsa_trust_policy_strips_https_and_uses_string_equals() -> None:
    policy = irsa_trust_policy(
        "arn:aws:iam::111122223333:oidc-provider/oidc.example.com/id/ABC",
        "https://oidc.example.com/id/ABC",
        "system:serviceaccount:ns:sa",
    )
    assert policy["Version"] == "2012-10-17"
    [statement] = policy["Statement"]
    assert statement["Principal"] == {"Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.example.com/id/ABC"}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            "oidc.example.com/id/ABC:sub": "system:serviceaccount:ns:sa",
            "oidc.example.com/id/ABC:aud": "sts.amazonaws.com",
        }
    }


def test_irsa_trust_policy_accepts_issuer_without_scheme() -> None:
    with_scheme = irsa_trust_policy("arn", "https://oidc.example.com/id/ABC", "sub")
    without = irsa_trust_policy("arn", "oidc.example.com/id/ABC", "sub")
    assert with_scheme == without
    assert "StringLike" not in json.dumps(without)


# -- permissions -------------------------------------------------------------------------


def all_statements(stack: str) -> list[dict[str, Any]]:
    return [s for p in stack_inventory(stack).of_type(POLICY) for s in json.loads(p.inputs["policy"])["Statement"]]


@pytest.mark.parametrize("stack", STACKS)
def test_no_wildcard_actions_in_role_policies(stack: str) -> None:
    statements = all_statements(stack)
    assert statements
    for statement in statements:
        for action in listify(statement["Action"]):
            assert action != "*" and not action.endswith(":*"), action


@pytest.mark.parametrize("stack", STACKS)
def test_s3_and_secrets_statements_name_their_resources(stack: str) -> None:
    for statement in all_statements(stack):
        services = {action.split(":")[0] for action in listify(statement["Action"])}
        if services & {"s3", "secretsmanager"}:
            resources = listify(statement["Resource"])
            assert "*" not in resources
            assert all(r.startswith("arn:aws:") for r in resources)
            assert not [r for r in resources if r.endswith(":::*")]


@pytest.mark.parametrize("stack", STACKS)
def test_role_policies_only_allow(stack: str) -> None:
    assert {s["Effect"] for s in all_statements(stack)} == {"Allow"}


@pytest.mark.parametrize("stack", STACKS)
def test_api_server_can_only_read_logs(stack: str) -> None:
    policies = policies_of(stack, Workload.API_SERVER)
    assert set(policies) == {"logs-bucket-read", "secrets-backend-read"}
    granted = {a for s in policies["logs-bucket-read"]["Statement"] for a in listify(s["Action"])}
    assert "s3:PutObject" not in granted
    assert not [a for a in granted if "Delete" in a]
    assert {"s3:GetObject", "s3:ListBucket"} <= granted


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("workload", [Workload.SCHEDULER, Workload.DAG_PROCESSOR, Workload.WORKER, Workload.TRIGGERER])
def test_backend_workloads_write_logs(stack: str, workload: Workload) -> None:
    policy = policies_of(stack, workload)["logs-bucket-read-write"]
    log_arn = f"arn:aws:s3:::{bucket_of(stack, 'logs')}"
    writes = [s for s in policy["Statement"] if "s3:PutObject" in listify(s["Action"])]
    assert writes == [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": [f"{log_arn}/*"],
        }
    ]


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("workload", [Workload.DAG_PROCESSOR, Workload.WORKER, Workload.TRIGGERER])
def test_dag_readers_get_prefix_scoped_dag_read(stack: str, workload: Workload) -> None:
    settings = stack_settings(stack)
    assert settings.dags.source == "s3"
    dag_arn = f"arn:aws:s3:::{bucket_of(stack, 'dags')}"
    statements = policies_of(stack, workload)["dags-bucket-read"]["Statement"]
    listing = next(s for s in statements if s["Action"] == ["s3:ListBucket"])
    reading = next(s for s in statements if "s3:GetObject" in s["Action"])
    assert listing["Resource"] == [dag_arn]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["dags/*", "dags"]}}
    assert reading["Resource"] == [f"{dag_arn}/dags/*"]
    assert "s3:PutObject" not in reading["Action"]


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("workload", [Workload.SCHEDULER, Workload.API_SERVER])
def test_airflow3_scheduler_and_api_server_cannot_read_dags(stack: str, workload: Workload) -> None:
    assert "dags-bucket-read" not in policies_of(stack, workload)


@pytest.mark.parametrize("stack", ["uat", "prod"])
def test_kms_key_is_granted_for_encrypted_buckets(stack: str) -> None:
    key = stack_settings(stack).encryption.kms_key_arn
    statements = policies_of(stack, Workload.WORKER)["logs-bucket-read-write"]["Statement"]
    assert {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": [key]} in statements


def test_prod_worker_has_the_extra_statements_from_the_stack_file() -> None:
    extra = policies_of("prod", Workload.WORKER)["extra"]["Statement"]
    assert extra == [
        {
            "Sid": "ReadArtifacts",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::etl-artifacts-prod", "arn:aws:s3:::etl-artifacts-prod/*"],
        },
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_only_the_prod_worker_has_extra_statements(stack: str) -> None:
    with_extra = {w for w in stack_settings(stack).shape.workloads if "extra" in policies_of(stack, w)}
    assert with_extra == ({Workload.WORKER} if stack == "prod" else set())


def test_prod_roles_carry_the_permissions_boundary() -> None:
    boundary = "arn:aws:iam::111122223333:policy/data-platform-boundary"
    assert stack_settings("prod").irsa.permissions_boundary_arn == boundary
    for role in irsa_roles("prod").values():
        assert role.inputs["permissionsBoundary"] == boundary


@pytest.mark.parametrize("stack", ["dev", "uat"])
def test_non_prod_roles_have_no_boundary(stack: str) -> None:
    for role in irsa_roles(stack).values():
        assert role.inputs.get("permissionsBoundary") is None


@pytest.mark.parametrize("stack", STACKS)
def test_roles_are_tagged_with_their_service_account(stack: str) -> None:
    settings = stack_settings(stack)
    roles = irsa_roles(stack)
    for workload in settings.shape.workloads:
        tags = roles[f"{name_stem(stack)}-{workload.value}"].inputs["tags"]
        account = settings.shape.service_account(workload)
        assert tags["kubernetes-service-account"] == f"{account.namespace}:{account.name}"
        assert tags["environment"] == environment_of(stack)
        assert tags["managed-by"] == "pulumi"


@pytest.mark.parametrize("stack", STACKS)
def test_every_connection_resolver_reads_exactly_its_environments_secret_prefixes(stack: str) -> None:
    """GetSecretValue on the two prefixes only, on the roles of the workloads that resolve connections."""
    settings = stack_settings(stack)
    secret = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:"
    connections, variables = settings.airflow.secrets_backend.prefixes(settings.environment)
    for workload in settings.shape.workloads:
        policies = policies_of(stack, workload)
        assert ("secrets-backend-read" in policies) is (workload in settings.shape.connection_resolvers)
        assert policies.get("secrets-backend-read", {"Statement": []})["Statement"] == [
            {
                "Sid": "ReadAirflowSecrets",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": [f"{secret}{connections}/*", f"{secret}{variables}/*"],
            }
        ]
    grants = [a for p in stack_inventory(stack).of_type(POLICY) for a in json.loads(p.inputs["policy"])["Statement"]]
    assert not [g for g in grants if "secretsmanager" in str(g["Action"]) and g.get("Sid") != "ReadAirflowSecrets"]
