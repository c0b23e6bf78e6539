"""Preflight against moto's in-process AWS: every check passes on a ready account and fails on what is not.

One mock account is built once for the module (moto's backends load slowly); tests that change it undo it.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import http.server
import json
import os
import runpy
import ssl
import threading
import urllib.error
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
import pytest
import yaml
from botocore.stub import Stubber
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from moto import mock_aws
from moto.moto_api._internal import mock_random
from moto.route53 import models as route53_models

from offline import REPO
from preflight import Context, run_checks
from preflight.account import (
    check_buckets,
    check_github_oidc,
    check_kms_keys,
    check_permissions_boundary,
    check_sns_topic,
)
from preflight.cluster import CONTROLLER_PATH, check_cluster, check_lb_controller, principal_arn
from preflight.front_door import check_certificate, check_front_door_subnets, check_hosted_zone
from preflight.kube import KubeApi, eks_token
from preflight.network import check_network
from preflight.readonly import WriteRefusedError, read_only_session
from preflight.result import Check
from preflight.stack_file import check_secrets_provider
from tests.support import PROJECT_PREFIX as P
from tests.support import override, stack_object, stack_settings

ACCOUNT = "111122223333"  # the example stack files' account
OTHER_ACCOUNT = "444455556666"
REGION = "eu-west-1"
HOSTNAME = "airflow.data.example.com"
BOUNDARY = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}'


@dataclass
class World:
    """Ids of what the module's mock account holds."""

    vpc: str
    private: list[str]
    public: str
    other_vpc_subnet: str
    key: str
    disabled_key: str
    signing_key: str
    topic: str
    boundary: str
    issued_certificate: str
    other_certificate: str
    pending_certificate: str
    zone: str
    other_zone: str
    bare_cluster: str  # a cluster without an associated OIDC provider
    their_bucket: str
    session: Any = None  # the read-only session every check uses
    writer: Any = None  # a session that may write (to set the account up), sharing the read-only one's loader


def _sessions() -> tuple[boto3.Session, boto3.Session]:
    """The read-only session and a writing one; one loader parses each service model once for both."""
    reader = read_only_session(REGION)
    core = botocore.session.Session()
    core.register_component("data_loader", reader._session.get_component("data_loader"))
    return reader, boto3.Session(botocore_session=core, region_name=REGION)


def _self_signed(*names: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), pem_key


def _import(acm: Any, *names: str) -> dict[str, Any]:
    certificate, key = _self_signed(*names)
    return acm.import_certificate(Certificate=certificate, PrivateKey=key)


def _network(client: Any) -> tuple[str, list[str], str, str]:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    private = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ab")
    ]
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.9.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    ec2.associate_route_table(RouteTableId=table, SubnetId=public)
    other = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    elsewhere = ec2.create_subnet(VpcId=other, CidrBlock="10.50.1.0/24", AvailabilityZone=f"{REGION}b")["Subnet"][
        "SubnetId"
    ]
    return vpc, private, public, elsewhere


def _build(client: Any) -> World:
    vpc, private, public, elsewhere = _network(client)
    kms, iam, eks = client("kms"), client("iam"), client("eks")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/pulumi-airflow", TargetKeyId=key)
    disabled_meta = kms.create_key()["KeyMetadata"]
    disabled = disabled_meta["Arn"]
    kms.disable_key(KeyId=disabled_meta["KeyId"])
    kms.create_alias(AliasName="alias/disabled", TargetKeyId=disabled)
    signing = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="RSA_2048")["KeyMetadata"]["Arn"]
    topic = client("sns").create_topic(Name="data-platform-alerts-uat")["TopicArn"]
    boundary = iam.create_policy(PolicyName="data-platform-boundary", PolicyDocument=BOUNDARY)
    role = iam.create_role(RoleName="eks", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    config = {"subnetIds": private}
    cluster = eks.create_cluster(name="data-nonprod", version="1.31", roleArn=role, resourcesVpcConfig=config)[
        "cluster"
    ]
    issuer = cluster["identity"]["oidc"]["issuer"]
    iam.create_open_id_connect_provider(Url=issuer, ThumbprintList=["a" * 40], ClientIDList=["sts.amazonaws.com"])
    eks.create_cluster(name="data-bare", version="1.31", roleArn=role, resourcesVpcConfig=config)
    acm = client("acm")
    issued = _import(acm, "*.data.example.com")
    other = _import(acm, "other.example.org")
    pending = acm.request_certificate(DomainName=HOSTNAME, ValidationMethod="DNS")["CertificateArn"]
    route53 = client("route53")
    zone = route53.create_hosted_zone(Name="data.example.com", CallerReference="a")["HostedZone"]["Id"]
    other_zone = route53.create_hosted_zone(Name="example.org", CallerReference="b")["HostedZone"]["Id"]
    return World(
        vpc, private, public, elsewhere, key, disabled, signing, topic, boundary["Policy"]["Arn"],
        issued["CertificateArn"], other["CertificateArn"], pending, zone.split("/")[-1], other_zone.split("/")[-1],
        "data-bare", "etl-airflow-logs-uat-111122223333-eu-west-1",
    )  # fmt: skip


def _their_bucket(writer: boto3.Session, name: str) -> None:
    """A bucket of another account, with the name the uat stack would give its log bucket."""
    os.environ["MOTO_ACCOUNT_ID"] = OTHER_ACCOUNT
    try:
        region = {"LocationConstraint": REGION}
        writer.client("s3").create_bucket(Bucket=name, CreateBucketConfiguration=region)
    finally:
        os.environ["MOTO_ACCOUNT_ID"] = ACCOUNT


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with pytest.MonkeyPatch.context() as env:
        for name in [n for n in os.environ if n.startswith("AWS_")]:
            env.delenv(name)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_EC2_METADATA_DISABLED", "true")
        env.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
        # Route 53 ids start with Z (the config refuses others); moto's do not always.
        env.setattr(
            route53_models, "create_route53_zone_id", lambda *_, **__: "Z" + mock_random.get_random_string(20).upper()
        )
        with mock_aws():
            reader, writer = _sessions()
            built = _build(writer.client)
            _their_bucket(writer, built.their_bucket)
            built.session, built.writer = reader, writer
            yield built


def _uat(world: World, **changes: Any) -> dict[str, Any]:
    """Overrides that point the uat stack file at the mock account's resources, then `changes` (dotted keys)."""
    overrides = {
        **override("uat", "network.vpcId", world.vpc),
        P + "encryption": {"kmsKeyArn": world.key},
    }
    overrides[P + "network"] = {"vpcId": world.vpc, "privateSubnetIds": world.private}
    overrides[P + "database"] = {**stack_object("uat", "database"), "alarms": {"snsTopicArn": world.topic}}
    for dotted, value in changes.items():
        top = dotted.split(".")[0]
        base = {top: overrides.get(P + top, stack_object("uat", top))}
        node = base
        parts = dotted.split(".")
        for part in parts[:-1]:
            node[part] = dict(node.get(part) or {})
            node = node[part]
        node[parts[-1]] = value
        overrides[P + top] = base[top]
    return overrides


def context(world: World, document: dict[str, Any] | None = None, **changes: Any) -> Context:
    settings = stack_settings("uat", _uat(world, **changes))
    document = {"secretsprovider": "awskms://alias/pulumi-airflow?region=eu-west-1"} if document is None else document
    return Context("uat", settings, document, world.session)


def lines(checks: list[Check]) -> list[str]:
    return [check.line for check in checks]


def oks(checks: list[Check]) -> list[bool]:
    return [check.ok for check in checks]


# -- read-only -------------------------------------------------------------------------------------------------------


def test_the_session_refuses_every_write_before_it_is_sent(world):
    s3 = world.session.client("s3")
    with pytest.raises(WriteRefusedError, match="refused s3:CreateBucket"):
        s3.create_bucket(Bucket="preflight-must-not-create", CreateBucketConfiguration={"LocationConstraint": REGION})
    assert "preflight-must-not-create" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    with pytest.raises(WriteRefusedError, match="refused kms:Decrypt"):
        world.session.client("kms").decrypt(CiphertextBlob=b"x")


def test_a_ready_account_passes_every_check(world):
    ctx = context(world, **{"buckets.logBucketName": "acme-uat-logs-free"})  # uat's default is another account's
    ctx.kube = lambda _: FakeKube({"status": {"readyReplicas": 2}})
    _ = ctx.cluster
    ctx.cluster["accessConfig"] = {"authenticationMode": "API_AND_CONFIG_MAP"}
    with Stubber(ctx.client("eks")) as eks:
        entry = principal_arn(ctx.identity["Arn"])
        eks.add_response("list_access_entries", {"accessEntries": [entry]})
        eks.add_response("list_associated_access_policies", _policies(entry, ADMIN_POLICY))
        checks = run_checks(ctx)
    assert [line for line in lines(checks) if not line.startswith("✓")] == []
    assert len(checks) >= 14


# -- each check, failing -------------------------------------------------------------------------------------------


def test_secrets_provider_missing_or_on_a_disabled_key(world):
    [missing] = check_secrets_provider(context(world, document={}))
    assert not missing.ok and "pulumi stack change-secrets-provider --stack uat" in missing.fix
    disabled = check_secrets_provider(context(world, document={"secretsprovider": "awskms://alias/disabled"}))
    assert oks(disabled) == [True, False] and "is enabled (it is Disabled)" in disabled[1].what


def test_network_missing_vpc_or_subnet(world):
    [vpc] = check_network(context(world, **{"network.vpcId": "vpc-0123456789abcdef0"}))
    assert not vpc.ok and "set network.vpcId" in vpc.fix
    checks = check_network(context(world, **{"network.privateSubnetIds": [*world.private, "subnet-0123456789abcdef0"]}))
    assert oks(checks) == [True, False] and "missing: subnet-0123456789abcdef0" in checks[1].what


def test_network_public_subnet_one_zone_or_another_vpc(world):
    public = check_network(context(world, **{"network.privateSubnetIds": [world.private[0], world.public]}))
    assert oks(public) == [True, True, False, False]
    assert world.public in public[2].what and "only eu-west-1a" in public[3].what
    outside = check_network(context(world, **{"network.privateSubnetIds": [world.private[0], world.other_vpc_subnet]}))
    assert not outside[1].ok and world.other_vpc_subnet in outside[1].what


def test_cluster_missing_in_another_vpc_or_without_oidc_and_access(world):
    [missing] = check_cluster(context(world, **{"cluster.name": "data-absent"}))
    assert not missing.ok
    other_vpc = context(world, **{"network.vpcId": "vpc-0123456789abcdef0"})
    assert "it is in " + world.vpc in check_cluster(other_vpc)[1].what
    bare_ctx = context(world, **{"cluster.name": world.bare_cluster})
    bare_ctx.cluster["identity"] = {"oidc": {"issuer": "https://oidc.eks.eu-west-1.amazonaws.com/id/BARE"}}  # moto: one
    bare = check_cluster(bare_ctx)
    assert oks(bare) == [True, True, True, False, False]
    assert "associate-iam-oidc-provider --cluster data-bare" in bare[3].fix
    assert "authenticationMode=API_AND_CONFIG_MAP" in bare[4].fix


def test_cluster_access_entry_missing_for_the_caller(world):
    ctx = context(world)
    _ = ctx.cluster
    ctx.cluster["accessConfig"] = {"authenticationMode": "API"}
    with Stubber(ctx.client("eks")) as eks:
        eks.add_response("list_access_entries", {"accessEntries": ["arn:aws:iam::111122223333:role/someone-else"]})
        access = check_cluster(ctx)[-1]
    assert not access.ok and "aws eks create-access-entry --cluster-name data-nonprod" in access.fix


ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
SSO_ROLE = "AWSReservedSSO_PlatformAdmin_0123456789abcdef"


def _policies(entry: str, *arns: str) -> dict[str, Any]:
    when = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    associated = [
        {"policyArn": arn, "accessScope": {"type": "cluster"}, "associatedAt": when, "modifiedAt": when} for arn in arns
    ]
    return {"clusterName": "data-nonprod", "principalArn": entry, "associatedAccessPolicies": associated}


def _access(world: World, caller: str, entries: list[str], *policies: str | None) -> Check:
    """The access check for a caller, given the cluster's entries and the policies of the last entry (`None`:
    no entry matches, so no policy is asked for)."""
    ctx = context(world)
    ctx.__dict__["identity"] = {"Account": ACCOUNT, "Arn": caller, "UserId": "AROAEXAMPLE:me"}
    _ = ctx.cluster
    ctx.cluster["accessConfig"] = {"authenticationMode": "API"}
    with Stubber(ctx.client("eks")) as eks:
        eks.add_response("list_access_entries", {"accessEntries": entries})
        if policies != (None,):
            eks.add_response(
                "list_associated_access_policies",
                _policies(entries[-1], *(p for p in policies if p)),
                {"clusterName": "data-nonprod", "principalArn": entries[-1]},
            )
        return check_cluster(ctx)[-1]


def test_an_sso_role_is_matched_under_its_path_and_needs_an_access_policy(world):
    caller = f"arn:aws:sts::{ACCOUNT}:assumed-role/{SSO_ROLE}/jane@example.com"
    entry = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/{SSO_ROLE}"
    granted = _access(world, caller, [f"arn:aws:iam::{ACCOUNT}:role/someone-else", entry], ADMIN_POLICY)
    assert granted.ok and entry in granted.what and "AmazonEKSClusterAdminPolicy" in granted.what
    bare = _access(world, caller, [entry])
    assert not bare.ok and "with an access policy (it has none)" in bare.what
    assert f"associate-access-policy --cluster-name data-nonprod --principal-arn {entry}" in bare.fix
    # The same role name in another account is another role.
    elsewhere = f"arn:aws:iam::{OTHER_ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/{SSO_ROLE}"
    missing = _access(world, caller, [elsewhere], None)
    assert not missing.ok and "create-access-entry" in missing.fix


def test_an_existing_cluster_older_than_the_minimum_is_refused(world):
    ctx = context(world, **{"cluster.name": world.bare_cluster})
    ctx.cluster["version"] = "1.29"
    version = check_cluster(ctx)[2]
    assert not version.ok and "≥ 1.30 (it runs 1.29)" in version.what
    ctx.cluster["version"] = "1.30"
    assert check_cluster(ctx)[2].ok


def test_a_cluster_to_create_must_not_exist_yet(world):
    create = {
        "mode": "create",
        "name": "data-nonprod",
        "create": {"adminRoleArns": [f"arn:aws:iam::{ACCOUNT}:role/deployer"]},
    }
    [taken] = check_cluster(context(world, cluster=create))
    assert not taken.ok and "it exists" in taken.what
    [free] = check_cluster(context(world, cluster={**create, "name": "data-new"}))
    assert free.ok


def test_assumed_role_sessions_are_matched_by_their_role():
    session = "arn:aws:sts::111122223333:assumed-role/deployer/gha-123"
    assert principal_arn(session) == "arn:aws:iam::111122223333:role/deployer"


class FakeKube:
    """The Kubernetes API answering one GET (a dict, None for 404, or an exception)."""

    def __init__(self, answer: Any):
        self.answer = answer

    def get(self, path: str) -> dict[str, Any] | None:
        assert path.endswith("/namespaces/kube-system/deployments/aws-load-balancer-controller")
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.parametrize(
    ("answer", "ok", "said"),
    [
        ({"status": {"readyReplicas": 1}}, True, "1 ready"),
        ({"status": {}}, False, "0 ready"),
        (None, False, "not found"),
        (OSError("timed out"), False, "cluster API unreachable"),
        (urllib.error.HTTPError("https://k8s", 401, "Unauthorized", None, None), False, "not authorized"),  # type: ignore[arg-type]
        (urllib.error.HTTPError("https://k8s", 403, "Forbidden", None, None), False, "not authorized"),  # type: ignore[arg-type]
    ],
)
def test_lb_controller_on_an_existing_cluster(world, answer, ok, said):
    ctx = context(world)
    ctx.kube = lambda _: FakeKube(answer)
    [check] = check_lb_controller(ctx)
    assert (check.ok, said in check.what) == (ok, True)


def test_lb_controller_installed_by_the_stack_needs_no_look(world):
    ctx = context(world, **{"frontDoor.controller": {"install": True}})
    ctx.kube = lambda _: pytest.fail("no cluster read when the stack installs the controller")
    assert oks(check_lb_controller(ctx)) == [True]


def _door(world: World, certificate: str, zone: str | None = None) -> dict[str, Any]:
    door = {**stack_object("uat", "frontDoor"), "certificateArn": certificate}
    if zone:
        door |= {"hostname": HOSTNAME, "hostedZoneId": zone}
    return {"frontDoor": door}


def test_certificate_pending_not_covering_or_missing(world):
    assert oks(check_certificate(context(world, **_door(world, world.issued_certificate, world.zone)))) == [True, True]
    assert oks(check_certificate(context(world, **_door(world, world.pending_certificate)))) == [False]
    assert oks(check_certificate(context(world, **_door(world, world.other_certificate, world.zone)))) == [True, False]
    gone = world.issued_certificate.rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000"
    assert oks(check_certificate(context(world, **_door(world, gone)))) == [False]


def test_hosted_zone_of_another_domain_or_missing(world):
    assert oks(check_hosted_zone(context(world, **_door(world, world.issued_certificate, world.zone)))) == [True]
    [other] = check_hosted_zone(context(world, **_door(world, world.issued_certificate, world.other_zone)))
    assert not other.ok and "(it is example.org)" in other.what
    assert oks(check_hosted_zone(context(world, **_door(world, world.issued_certificate, "Z0000000000000000000")))) == [
        False
    ]


def test_front_door_subnets_exist_in_the_vpc_span_two_zones_and_share_none_with_the_cluster(world):
    ec2 = world.writer.client("ec2")
    made = [
        ec2.create_subnet(VpcId=world.vpc, CidrBlock=f"10.40.{20 + i}.0/24", AvailabilityZone=f"{REGION}{zone}")[
            "Subnet"
        ]["SubnetId"]
        for i, zone in enumerate("aba")
    ]
    lb_a, lb_b, lb_a2 = made
    try:

        def door(*subnets: str) -> list[Check]:
            return check_front_door_subnets(context(world, **{"frontDoor.subnetIds": list(subnets)}))

        assert oks(door(lb_a, lb_b)) == [True, True]
        one_zone = door(lb_a, lb_a2)
        assert oks(one_zone) == [False, True] and "only eu-west-1a" in one_zone[0].what
        shared = door(lb_a, world.private[1])
        assert oks(shared) == [True, False] and world.private[1] in shared[1].what
        [outside] = door(lb_a, world.other_vpc_subnet)
        assert not outside.ok and world.other_vpc_subnet in outside.what
        [missing] = door(lb_a, "subnet-0123456789abcdef0")
        assert not missing.ok and "missing: subnet-0123456789abcdef0" in missing.what
        assert check_front_door_subnets(context(world)) == []  # unset: the private subnets, nothing to check
    finally:
        for subnet in made:
            ec2.delete_subnet(SubnetId=subnet)


def test_the_secrets_provider_key_is_looked_up_in_the_urls_region(world):
    kms = world.writer.client("kms", region_name="us-east-1")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/pulumi-state-use1", TargetKeyId=key)
    document = {"secretsprovider": "awskms://alias/pulumi-state-use1?region=us-east-1"}
    checks = check_secrets_provider(context(world, document=document))
    assert oks(checks) == [True, True] and "(in us-east-1)" in checks[1].what
    elsewhere = check_secrets_provider(context(world, document={"secretsprovider": "awskms://alias/pulumi-state-use1"}))
    assert oks(elsewhere) == [True, False]  # no region in the URL: the stack's, where no such alias exists


def test_the_dr_key_is_enabled_in_the_dr_region(world):
    kms = world.writer.client("kms", region_name="eu-central-1")
    enabled = kms.create_key()["KeyMetadata"]
    disabled = kms.create_key()["KeyMetadata"]
    kms.disable_key(KeyId=disabled["KeyId"])

    def dr(arn: str) -> list[Check]:
        return check_kms_keys(context(world, dr={"enabled": True, "region": "eu-central-1", "kmsKeyArn": arn}))

    checks = dr(enabled["Arn"])
    assert oks(checks) == [True, True] and "dr.kmsKeyArn (in eu-central-1)" in checks[1].what
    off = dr(disabled["Arn"])
    assert oks(off) == [True, False] and "it is Disabled" in off[1].what


def test_kms_keys_disabled_asymmetric_or_missing(world):
    assert oks(check_kms_keys(context(world))) == [True]
    for key, said in (
        (world.disabled_key, "it is Disabled"),
        (world.signing_key, "symmetric"),
        (world.key[:-4] + "0000", "exists"),
    ):
        [check] = check_kms_keys(context(world, **{"encryption.kmsKeyArn": key}))
        assert not check.ok and said in check.what


def test_sns_topic_and_permissions_boundary_missing(world):
    assert oks(check_sns_topic(context(world))) == [True]
    gone = world.topic.replace("alerts-uat", "alerts-gone")
    assert oks(check_sns_topic(context(world, **{"database.alarms": {"snsTopicArn": gone}}))) == [False]
    assert oks(check_permissions_boundary(context(world, **{"irsa.permissionsBoundaryArn": world.boundary}))) == [True]
    missing = world.boundary.replace("boundary", "nope")
    assert oks(check_permissions_boundary(context(world, **{"irsa.permissionsBoundaryArn": missing}))) == [False]


def _publishers(mode: str) -> dict[str, Any]:
    publisher = {"name": "analytics", "repository": "acme/analytics-dags", "ref": "refs/heads/main", "folder": "a"}
    return {"dags": {"source": "s3", "publishers": [publisher], "githubOidcProvider": mode}}


def test_github_oidc_provider_exists_exactly_when_config_says_existing(world):
    assert oks(check_github_oidc(context(world, **_publishers("create")))) == [True]
    assert oks(check_github_oidc(context(world, **_publishers("existing")))) == [False]
    iam = world.writer.client("iam")
    url = "https://token.actions.githubusercontent.com"
    arn = iam.create_open_id_connect_provider(Url=url, ThumbprintList=["b" * 40], ClientIDList=["sts.amazonaws.com"])
    try:
        assert oks(check_github_oidc(context(world, **_publishers("existing")))) == [True]
        [create] = check_github_oidc(context(world, **_publishers("create")))
        assert not create.ok and create.fix == "set dags.githubOidcProvider: existing"
    finally:
        iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn["OpenIDConnectProviderArn"])


def test_bucket_names_free_ours_or_another_accounts(world):
    dags, logs = check_buckets(context(world))
    assert dags.ok and "is free" in dags.what
    assert not logs.ok and "another account owns it" in logs.what
    world.writer.client("s3").create_bucket(
        Bucket="acme-uat-logs", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    # Before the first up a bucket of ours is a ✗: outside us-east-1 up fails on it, in us-east-1 S3 answers 200
    # and the stack would silently adopt it.
    [_, ours] = check_buckets(context(world, **{"buckets.logBucketName": "acme-uat-logs"}))
    assert not ours.ok and "a bucket of this account already has it" in ours.what
    assert "pulumi import" in ours.fix


def test_an_aws_error_fails_its_check_instead_of_stopping_the_list(world, monkeypatch):
    ctx = context(world)
    ctx.kube = lambda _: FakeKube({"status": {"readyReplicas": 1}})
    with Stubber(ctx.client("sns")) as sns:
        sns.add_client_error("get_topic_attributes", "AuthorizationError", "not allowed to sns:GetTopicAttributes")
        checks = run_checks(ctx)
    [denied] = [c for c in checks if c.what.startswith("sns topic")]
    assert not denied.ok and "not allowed to sns:GetTopicAttributes" in denied.what


def test_the_command_prints_the_checklist_and_fails_on_any_cross(world, tmp_path, capsys):
    entry = runpy.run_path(str(REPO / "preflight.py"), run_name="preflight_cli")
    document = yaml.safe_load((REPO / "Pulumi.uat.yaml").read_text())
    document["config"].update(_uat(world, **{"frontDoor.controller": {"install": True}}))  # no cluster API read
    document.pop("secretsprovider", None)  # no secrets provider: the first line fails
    (tmp_path / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.uat.yaml").write_text(yaml.safe_dump(document))
    assert entry["main"](["--stack", "uat"], directory=tmp_path, session_for=lambda *_: world.session) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"Preflight of stack uat: account {ACCOUNT}, region {REGION}, as arn:aws:")
    assert out[1].startswith("✗ Pulumi.uat.yaml names a secrets provider — fix: pulumi stack change-secrets-provider")
    assert all(line[:1] in "✓✗" for line in out[1:])


def test_the_kubernetes_token_is_a_presigned_sts_call_naming_the_cluster(world):
    token = eks_token(context(world), "data-nonprod")
    assert token.startswith("k8s-aws-v1.")
    url = base64.urlsafe_b64decode(token.removeprefix("k8s-aws-v1.") + "==").decode()
    assert url.startswith(f"https://sts.{REGION}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&")
    query = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))
    assert query["X-Amz-Expires"] == "60"
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"].replace("%3B", ";").split(";")


@contextlib.contextmanager
def _https_server(tmp_path, answers: dict[str, tuple[int, bytes]]) -> Iterator[tuple[str, bytes, list[str]]]:
    """An HTTPS server on loopback answering GETs from `answers`: its URL, its CA and the tokens it saw."""
    certificate, key = _self_signed("localhost")
    (tmp_path / "cert.pem").write_bytes(certificate)
    (tmp_path / "key.pem").write_bytes(key)
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers.get("Authorization", ""))
            status, body = answers.get(self.path, (404, b"{}"))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://localhost:{server.server_address[1]}", certificate, seen
    finally:
        server.shutdown()
        server.server_close()


def test_the_kubernetes_reader_gets_over_tls_with_the_bearer_token(tmp_path):
    answers = {CONTROLLER_PATH: (200, json.dumps({"status": {"readyReplicas": 2}}).encode())}
    with _https_server(tmp_path, answers) as (url, ca, seen):
        api = KubeApi(url, ca, "k8s-aws-v1.token", timeout=5)
        assert api.get(CONTROLLER_PATH) == {"status": {"readyReplicas": 2}}
        assert api.get("/apis/apps/v1/namespaces/kube-system/deployments/absent") is None
        assert seen == ["Bearer k8s-aws-v1.token"] * 2
        with pytest.raises(OSError):
            KubeApi(url, _self_signed("localhost")[0], "t", timeout=5).get(CONTROLLER_PATH)  # another CA: refused
        with pytest.raises(OSError, match="CA certificate is unreadable"):
            KubeApi(url, b"\xda\x00", "t", timeout=5).get(CONTROLLER_PATH)
