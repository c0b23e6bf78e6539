"""Policy pack: the real stacks pass every rule; a crafted bad resource fails each rule with its message."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from pulumi_policy import EnforcementLevel, StackValidationArgs
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from offline import REPO
from offline.engine import Registration, unwrap
from pipeline.stacks import policy_config
from tests.policy_support import POLICIES, added, changed, evaluate, policy_resources, without
from tests.support import STACKS, stack_inventory

INSTANCE = "aws:rds/instance:Instance"
PARAMS = "aws:rds/parameterGroup:ParameterGroup"
BUCKET = "aws:s3/bucket:Bucket"
BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG = "aws:ec2/securityGroup:SecurityGroup"
LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"


@pytest.fixture(autouse=True)
def engine_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No stack config or stack name unless a test sets them (the engine always does)."""
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    monkeypatch.delenv("PULUMI_STACK", raising=False)


def records(stack: str) -> list[Registration]:
    return list(stack_inventory(stack).resources)


def messages(violations, policy: str) -> list[str]:
    return [v.message for v in violations if v.policy == policy]


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_of_each_stack_passes_every_policy(stack: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_STACK", stack)
    assert evaluate(records(stack)) == []


def test_every_policy_is_mandatory_and_has_a_failing_case() -> None:
    assert all(p.enforcement_level is EnforcementLevel.MANDATORY for p in POLICIES.values())
    assert set().union(*(_names(case) for case in CASES)) == set(POLICIES)


def _trust_with(condition: dict) -> str:
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/X"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": condition,
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _allow(action: str, resource: str) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}
    )


ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/X"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_PARAMS = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
RELEASE = "kubernetes:helm.sh/v3:Release"
EKS = "eks:index:Cluster"


def _trust_everyone() -> str:
    statement = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _with_cluster(r: list[Registration], **overrides) -> list[Registration]:
    """An Aurora PostgreSQL cluster that passes every rule (prod included) unless ``overrides`` break it."""
    group = added(r, CLUSTER_PARAMS, "aurora-params", parameters=[{"name": "rds.force_ssl", "value": "1"}])
    inputs = {
        "engine": "aurora-postgresql",
        "storageEncrypted": True,
        "deletionProtection": True,
        "skipFinalSnapshot": False,
        "finalSnapshotIdentifier": "aurora-final",
        "backupRetentionPeriod": 7,
        "availabilityZones": ["eu-west-1a", "eu-west-1b"],
        "dbClusterParameterGroupName": "aurora-params",
        **overrides,
    }
    cluster = dataclasses.replace(added(r, RDS_CLUSTER, "aurora", **inputs), protect=True)
    if "dbClusterParameterGroupName" not in overrides:
        cluster.property_dependencies["dbClusterParameterGroupName"] = [group.urn]
    return [*r, group, cluster]


def _helm_values(r: list[Registration], path: str, value) -> list[Registration]:
    """The Airflow release with one more Helm value (dotted path)."""
    release = next(x for x in r if x.type == RELEASE and x.name == "airflow-release")
    values = json.loads(json.dumps(unwrap(release.inputs)["values"]))
    node = values
    *parents, leaf = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return changed(r, RELEASE, "airflow-release", values=values)


def _split_open_ingress(r: list[Registration]) -> list[Registration]:
    """The DB ingress rule admits 0.0.0.0/1, a copy of it on the same group admits 128.0.0.0/1."""
    base = changed(r, INGRESS, DB_INGRESS, cidrIpv4="0.0.0.0/1", referencedSecurityGroupId=None)
    rule = next(x for x in base if x.type == INGRESS and x.name == DB_INGRESS)
    twin = dataclasses.replace(
        rule,
        urn=rule.urn + "-upper-half",
        name=rule.name + "-upper-half",
        inputs={**rule.inputs, "cidrIpv4": "128.0.0.0/1"},
        property_dependencies=dict(rule.property_dependencies),
    )
    return [*base, twin]


OPEN_DB = {"cidrIpv4": "0.0.0.0/0", "referencedSecurityGroupId": None}
# Registration order follows when inputs resolve, so crafted changes name the rule they change.
DB_INGRESS = "metadata-db-from-workloads"

# (policy, stack, crafted records, expected message fragment)
CASES = [
    (
        "rds-storage-encrypted",
        "dev",
        lambda r: changed(r, INSTANCE, storageEncrypted=False),
        "set storage_encrypted=True",
    ),
    (
        "rds-not-publicly-accessible",
        "uat",
        lambda r: changed(r, INSTANCE, publiclyAccessible=True),
        "publicly_accessible=False",
    ),
    (
        "rds-force-ssl",
        "dev",
        lambda r: changed(r, PARAMS, parameters=[{"name": "rds.force_ssl", "value": "0", "applyMethod": "immediate"}]),
        "add the parameter rds.force_ssl = 1 (given 0)",
    ),
    ("rds-force-ssl", "prod", lambda r: without(r, PARAMS), "set parameter_group_name to an aws.rds.ParameterGroup"),
    ("rds-prod-safeguards", "prod", lambda r: changed(r, INSTANCE, multiAz=False), "set multi_az=True"),
    (
        "rds-prod-safeguards",
        "prod",
        lambda r: changed(r, INSTANCE, backupRetentionPeriod=3),
        "at least 7 days (given 3)",
    ),
    (
        "rds-prod-safeguards",
        "prod",
        lambda r: changed(r, INSTANCE, deletionProtection=False),
        "deletion_protection=True",
    ),
    (
        "rds-prod-safeguards",
        "prod",
        lambda r: changed(r, INSTANCE, skipFinalSnapshot=True, finalSnapshotIdentifier=None),
        "skip_final_snapshot=False and a final_snapshot_identifier",
    ),
    (
        "s3-public-access-block",
        "prod",
        lambda r: changed(r, BLOCK, "buckets-logs-public-access", restrictPublicBuckets=False),
        "set restrictPublicBuckets to True",
    ),
    ("s3-public-access-block", "uat", lambda r: without(r, BLOCK), "add an aws.s3.BucketPublicAccessBlock"),
    (
        "s3-default-encryption",
        "dev",
        lambda r: without(r, SSE),
        "add an aws.s3.BucketServerSideEncryptionConfiguration",
    ),
    (
        "s3-tls-only-policy",
        "prod",
        lambda r: changed(r, BUCKET_POLICY, policy=_allow("s3:GetObject", "arn:aws:s3:::etl-airflow-dags-prod/*")),
        "denies s3:* to Principal '*'",
    ),
    ("s3-no-force-destroy-in-prod", "prod", lambda r: changed(r, BUCKET, forceDestroy=True), "set force_destroy=False"),
    (
        "iam-web-identity-trust-pinned",
        "dev",
        lambda r: changed(
            r, ROLE, "irsa-worker-role", assumeRolePolicy=_trust_with({"StringLike": {f"{ISSUER}:sub": "system:*"}})
        ),
        "StringEquals condition on <issuer>:sub",
    ),
    (
        "iam-web-identity-trust-pinned",
        "dev",
        lambda r: changed(
            r,
            ROLE,
            "irsa-worker-role",
            assumeRolePolicy=_trust_with({"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:a:b"}}),
        ),
        "StringEquals condition on <issuer>:aud",
    ),
    (
        "iam-no-wildcard-actions",
        "prod",
        lambda r: changed(r, ROLE_POLICY, policy=_allow("s3:Get*", "arn:aws:s3:::etl-artifacts-prod/*")),
        "replace the wildcard actions ['s3:Get*']",
    ),
    (
        "iam-data-actions-scoped",
        "prod",
        lambda r: changed(r, ROLE_POLICY, policy=_allow("secretsmanager:GetSecretValue", "*")),
        "['secretsmanager:GetSecretValue'] must name exact",
    ),
    (
        "ec2-no-open-ingress",
        "prod",
        lambda r: changed(r, INGRESS, DB_INGRESS, **OPEN_DB),
        "(prod): remove the ingress from 0.0.0.0/0",
    ),
    (
        "ec2-no-open-ingress",
        "dev",
        lambda r: changed(r, INGRESS, DB_INGRESS, **OPEN_DB),
        "listener ports (none: the group is on no",
    ),
    ("lb-internal", "uat", lambda r: [*r, added(r, LB, "api", internal=False)], "Load balancer api: set internal=True"),
    (
        "lb-prod-tls-listeners",
        "prod",
        lambda r: [*r, added(r, LISTENER, "https", protocol="HTTPS", sslPolicy="ELBSecurityPolicy-2016-08")],
        "set ssl_policy to a TLS 1.3 policy",
    ),
    (
        "lb-prod-tls-listeners",
        "prod",
        lambda r: [*r, added(r, LISTENER, "api", protocol="HTTP", defaultActions=[{"type": "forward"}])],
        "plain HTTP only for a redirect to HTTPS",
    ),
    # The mutations of issue 16 point 7, each caught by the rule named.
    (
        "iam-no-admin-managed-policies",
        "prod",
        lambda r: changed(r, ATTACHMENT, policyArn=ADMIN),
        "do not attach arn:aws:iam::aws:policy/AdministratorAccess",
    ),
    (
        "iam-no-admin-managed-policies",
        "prod",
        lambda r: changed(r, ROLE, "irsa-worker-role", managedPolicyArns=[ADMIN]),
        "do not attach arn:aws:iam::aws:policy/AdministratorAccess",
    ),
    (
        "iam-trust-no-wildcard-principal",
        "prod",
        lambda r: changed(r, ROLE, "irsa-worker-role", assumeRolePolicy=_trust_everyone()),
        "the trust policy lets ['*'] assume it",
    ),
    (
        "iam-no-privilege-escalation",
        "prod",
        lambda r: changed(r, ROLE_POLICY, policy=_allow("iam:PassRole", "*")),
        "['iam:PassRole'] on every resource",
    ),
    (
        ("iam-no-privilege-escalation", "iam-no-wildcard-actions"),
        "prod",
        lambda r: changed(r, ROLE_POLICY, policy=_allow("*:*", "*")),
        "['*:*'] on every resource",
    ),
    (
        "rds-storage-encrypted",
        "prod",
        lambda r: _with_cluster(r, storageEncrypted=False),
        "RDS cluster aurora: set storage_encrypted=True",
    ),
    (
        "rds-prod-safeguards",
        "prod",
        lambda r: _with_cluster(r, deletionProtection=False, backupRetentionPeriod=1),
        "RDS cluster aurora (prod): set deletion_protection=True",
    ),
    (
        "rds-force-ssl",
        "prod",
        lambda r: _with_cluster(r, dbClusterParameterGroupName="default.aurora-postgresql16"),
        "set db_cluster_parameter_group_name to an aws.rds.ClusterParameterGroup",
    ),
    (
        "helm-no-plaintext-secrets",
        "prod",
        lambda r: _helm_values(r, "fernetKey", "ZmVybmV0LWtleS1pbi1jbGVhci10ZXh0LTMyLWJ5dGVz"),
        "values fernetKey hold a secret in plain text",
    ),
    (
        "helm-no-plaintext-secrets",
        "prod",
        lambda r: _helm_values(r, "data.metadataConnection", {"user": "airflow", "pass": "hunter2", "host": "db"}),
        "values data.metadataConnection.pass hold a secret",
    ),
    (
        "k8s-load-balancers-internal",
        "prod",
        lambda r: [
            *r,
            added(r, "kubernetes:core/v1:Service", "api-public", metadata={}, spec={"type": "LoadBalancer"}),
        ],
        "Service api-public: type LoadBalancer builds an internet-facing load balancer",
    ),
    (
        "k8s-load-balancers-internal",
        "prod",
        lambda r: [
            *r,
            added(
                r,
                "kubernetes:networking.k8s.io/v1:Ingress",
                "api",
                metadata={"annotations": {"alb.ingress.kubernetes.io/scheme": "internet-facing"}},
                spec={"ingressClassName": "alb"},
            ),
        ],
        "Ingress api: alb.ingress.kubernetes.io/scheme: internet-facing",
    ),
    (
        "k8s-load-balancers-internal",
        "prod",
        lambda r: _helm_values(r, "apiServer.service", {"type": "LoadBalancer"}),
        "values apiServer.service.type LoadBalancer",
    ),
    (
        "ec2-no-open-ingress",
        "prod",
        _split_open_ingress,
        "(prod): remove the ingress from 0.0.0.0/1 + 128.0.0.0/1 (together 0.0.0.0/0)",
    ),
    (
        "eks-endpoint-not-world-open",
        "dev",
        lambda r: changed(r, EKS, publicAccessCidrs=["0.0.0.0/1", "128.0.0.0/1"]),
        "the public API endpoint admits 0.0.0.0/0",
    ),
    (
        "eks-endpoint-not-world-open",
        "prod",
        lambda r: [*r, added(r, "aws:eks/cluster:Cluster", "eks", vpcConfig={"endpointPublicAccess": True})],
        "admits 0.0.0.0/0 (the default when no range is listed)",
    ),
    (
        "lb-prod-tls-listeners",
        "prod",
        lambda r: changed(r, LISTENER, protocol="HTTPS", sslPolicy="ELBSecurityPolicy-TLS13-1-0-2021-06"),
        "(given ELBSecurityPolicy-TLS13-1-0-2021-06)",
    ),
]


def _names(case) -> set[str]:
    return {case[0]} if isinstance(case[0], str) else set(case[0])


@pytest.mark.parametrize(
    ("policy", "stack", "craft", "expected"), CASES, ids=[f"{sorted(_names(c))[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_crafted_bad_resource_fails_with_its_message(policy, stack, craft, expected, monkeypatch) -> None:
    monkeypatch.setenv("PULUMI_STACK", stack)
    violations = evaluate(craft(records(stack)))
    names = _names((policy,))
    assert {v.policy for v in violations} == names
    found = [v.message for v in violations]
    assert any(expected in m for m in found), found


def _relabelled(registrations: list[Registration], environment: str) -> list[Registration]:
    """The records with every `environment` tag set to ``environment`` (what `environment: uat` would tag)."""
    result = []
    for r in registrations:
        tags = r.inputs.get("tags")
        if isinstance(tags, dict) and "environment" in tags:
            r = dataclasses.replace(r, inputs={**r.inputs, "tags": {**tags, "environment": environment}})
        result.append(r)
    return result


PROD_CASES = [c for c in CASES if c[1] == "prod"]


@pytest.mark.parametrize(
    ("policy", "craft", "expected"),
    [(c[0], c[2], c[3]) for c in PROD_CASES],
    ids=[f"{sorted(_names(c))[0]}-{i}" for i, c in enumerate(PROD_CASES)],
)
def test_environment_uat_on_the_prod_stack_changes_nothing(policy, craft, expected, monkeypatch) -> None:
    monkeypatch.setenv("PULUMI_STACK", "prod")
    crafted = craft(records("prod"))
    honest = evaluate(crafted)
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"airflow-platform:environment": "uat"}))
    assert evaluate(_relabelled(crafted, "uat"), stack_tags={"environment": "uat"}) == honest
    assert {v.policy for v in honest} == _names((policy,))


def test_prod_rules_apply_when_any_of_stack_name_config_or_tag_says_prod(monkeypatch) -> None:
    single_az = changed(records("dev"), INSTANCE, multiAz=False)  # dev-tagged
    safeguards = ["rds-prod-safeguards"]
    monkeypatch.setenv("PULUMI_STACK", "dev")
    assert evaluate(single_az, safeguards) == []
    for stack in ("prod", "Prod", "acme/airflow-platform/PROD", "prod-eu", "eu_prod"):
        monkeypatch.setenv("PULUMI_STACK", stack)
        assert messages(evaluate(single_az, safeguards), "rds-prod-safeguards"), stack
    monkeypatch.setenv("PULUMI_STACK", "product-sandbox")
    assert evaluate(single_az, safeguards) == []
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"airflow-platform:environment": " Prod"}))
    assert messages(evaluate(single_az, safeguards), "rds-prod-safeguards")
    monkeypatch.delenv("PULUMI_CONFIG")
    assert messages(evaluate(single_az, safeguards, stack_tags={"Environment": "PRODUCTION"}), "rds-prod-safeguards")
    prod_tagged = _relabelled(single_az, "Prod")
    assert messages(evaluate(prod_tagged, safeguards), "rds-prod-safeguards")
    monkeypatch.setenv("PULUMI_STACK", "dev")
    assert messages(evaluate(changed(records("prod"), BUCKET, forceDestroy=True)), "s3-no-force-destroy-in-prod")


def test_the_pack_and_the_loader_read_a_prod_stack_name_alike() -> None:
    from config.profiles import stack_name_says_prod as program
    from policy.rules.common import stack_name_says_prod as pack

    names = ["prod", "Prod", "PROD", "prod-eu", "eu_prod", "production", "dev", "uat", "product", "staging", "preprod"]
    assert [program(n) for n in names] == [pack(n) for n in names]
    assert [n for n in names if pack(n)] == ["prod", "Prod", "PROD", "prod-eu", "eu_prod", "production"]


def test_untagged_resources_take_the_environment_from_stack_config(monkeypatch) -> None:
    listener = added(records("dev"), LISTENER, "https", protocol="HTTPS", sslPolicy="ELBSecurityPolicy-2016-08")
    monkeypatch.setenv("PULUMI_STACK", "sandbox")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"airflow-platform:environment": "prod"}))
    assert messages(evaluate([listener], ["lb-prod-tls-listeners"]), "lb-prod-tls-listeners")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"airflow-platform:environment": "dev"}))
    assert evaluate([listener], ["lb-prod-tls-listeners"]) == []
    monkeypatch.delenv("PULUMI_CONFIG")
    monkeypatch.delenv("PULUMI_STACK")  # nothing tells the environment: prod rules apply
    assert messages(evaluate([listener], ["lb-prod-tls-listeners"]), "lb-prod-tls-listeners")


def test_prod_listeners_pass_with_tls13_or_a_redirect_to_https(monkeypatch) -> None:
    monkeypatch.setenv("PULUMI_STACK", "prod")
    base = records("prod")
    redirect = [{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]
    good = [
        added(base, LISTENER, "https", protocol="HTTPS", sslPolicy="ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"),
        added(base, LISTENER, "http", protocol="HTTP", defaultActions=redirect),
    ]
    assert evaluate([*base, *good], ["lb-prod-tls-listeners"]) == []


def test_internet_facing_load_balancer_passes_when_the_stack_config_allows_it() -> None:
    crafted = [added(records("uat"), LB, "api", internal=False)]
    assert evaluate(crafted, ["lb-internal"], {"lb-internal": {"allowInternetFacing": True}}) == []
    assert evaluate([added(records("uat"), LB, "api", internal=True)], ["lb-internal"]) == []


def _dev_with_public_load_balancer(ingress_port: int) -> list[Registration]:
    """dev plus an internet-facing LB on the DB security group (as if it were the LB's group) with a 443 listener."""
    base = changed(
        records("dev"), INGRESS, DB_INGRESS, cidrIpv4="0.0.0.0/0", fromPort=ingress_port, toPort=ingress_port
    )
    group = next(r for r in base if r.type == SG and r.name == "metadata-db-sg")
    balancer = added(base, LB, "api", internal=True, securityGroups=["sg-from-group"])
    balancer.property_dependencies["securityGroups"] = [group.urn]
    listener = added(base, LISTENER, "https", port=443, loadBalancerArn="lb-arn")
    listener.property_dependencies["loadBalancerArn"] = [balancer.urn]
    return [*base, balancer, listener]


def test_open_ingress_outside_prod_only_to_a_load_balancer_listener_port(monkeypatch) -> None:
    monkeypatch.setenv("PULUMI_STACK", "dev")
    assert evaluate(_dev_with_public_load_balancer(443), ["ec2-no-open-ingress"]) == []
    wrong_port = messages(
        evaluate(_dev_with_public_load_balancer(5432), ["ec2-no-open-ingress"]), "ec2-no-open-ingress"
    )
    assert wrong_port and "(5432)" in wrong_port[0] and "listener ports (443)" in wrong_port[0]


def test_stack_rules_link_companions_through_property_dependencies_when_values_are_unknown() -> None:
    # Preview of a new bucket: the public-access block's `bucket` input is unknown, its dependency is not.
    preview = changed(records("dev"), BLOCK, "buckets-dags-public-access", bucket=UNKNOWN_STRING_VALUE)
    assert evaluate(preview, ["s3-public-access-block"]) == []


def test_stack_rules_report_known_violations_before_an_unknown_value() -> None:
    crafted = changed(records("dev"), BLOCK, "buckets-logs-public-access", blockPublicAcls=False)
    crafted = changed(crafted, BLOCK, "buckets-dags-public-access", restrictPublicBuckets=UNKNOWN_STRING_VALUE)
    found: list[str] = []
    with pytest.raises(UnknownValueError):
        POLICIES["s3-public-access-block"].validate(
            StackValidationArgs(policy_resources(crafted)), lambda m, u=None: found.append(m)
        )
    assert len(found) == 1 and "set blockPublicAcls to True" in found[0]


def test_protect_is_read_from_the_resource_options(monkeypatch) -> None:
    monkeypatch.setenv("PULUMI_STACK", "prod")
    unprotected = [dataclasses.replace(r, protect=False) if r.type == INSTANCE else r for r in records("prod")]
    assert messages(evaluate(unprotected, ["rds-prod-safeguards"]), "rds-prod-safeguards") == [
        "RDS instance metadata-db-instance (prod): register it with ResourceOptions(protect=True)."
    ]


def test_policy_config_files_name_real_policies_and_schema_keys() -> None:
    for stack in STACKS:
        config = json.loads((REPO / policy_config(stack)).read_text())
        for name, values in config.items():
            schema = POLICIES[name].config_schema
            assert schema is not None and set(values) <= set(schema.properties), (stack, name)


def test_pack_runtime_pins_match_the_project() -> None:
    def pins(path: Path) -> dict[str, str]:
        lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
        return dict(line.split("==") for line in lines if "==" in line)

    pack, project = pins(REPO / "policy" / "requirements.txt"), pins(REPO / "requirements.txt")
    assert pack and all(project.get(name) == version for name, version in pack.items())


def test_pulumi_policy_still_offers_rules_no_stack_name_or_stack_config() -> None:
    """The pack reads PULUMI_STACK/PULUMI_CONFIG (policy/rules/common.py) because pulumi-policy has no API for them.

    When an upgrade adds one to the rule arguments, this fails: switch the pack to it.
    """
    import inspect

    from pulumi_policy import ResourceValidationArgs, StackValidationArgs

    for args in (ResourceValidationArgs, StackValidationArgs):
        assert set(inspect.signature(args.__init__).parameters) <= {
            "self",
            "resource_type",
            "props",
            "urn",
            "name",
            "opts",
            "provider",
            "resources",
            "config",
            "stack_tags",
        }, args
