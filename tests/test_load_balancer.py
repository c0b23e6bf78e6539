"""WebLoadBalancer built from explicit args: CIDR-only ingress, TLS, health checks, logs, DNS, binding."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pulumi
import pytest

from components.common import Protection
from components.connections import Connections
from components.lb_controller import LoadBalancerController
from components.load_balancer import (
    ALB_LOG_DELIVERY,
    DEAD_TARGET_BUDGET_SECONDS,
    DEFAULT_TLS_POLICY,
    HEALTH_INTERVAL_SECONDS,
    HEALTH_TIMEOUT_SECONDS,
    NLB_LOG_DELIVERY,
    UNHEALTHY_THRESHOLD,
    AccessLogsArgs,
    AliasRecordArgs,
    WebLoadBalancer,
    WebLoadBalancerArgs,
    access_log_delivery_statements,
    dead_target_detection_seconds,
    service_url,
)
from offline import Inventory
from offline.cloud import ACCOUNT_ID
from offline.engine import Registration, offline_engine, run_program
from tests.policy_support import evaluate
from tests.support import REGION, SUBNETS, VPC
from tests.test_lb_controller import CONTROLLER

LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
BINDING = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
RECORD = "aws:route53/record:Record"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
WORKLOAD_SG = "sg-0a1b2c3d4e5f60799"
CERT = f"arn:aws:acm:{REGION}:{ACCOUNT_ID}:certificate/0a1b2c3d-1111-2222-3333-444455556666"
CIDRS = ["10.60.0.0/16", "2001:db8::/56"]
COMMON: dict[str, Any] = {"vpc_id": VPC, "subnet_ids": SUBNETS, "target_port": 8080}

VARIANTS: dict[str, WebLoadBalancerArgs] = {
    # prod's shape: internal ALB, HTTPS, logs, DNS, protection; Airflow 3 health path
    "alb": WebLoadBalancerArgs(
        type="alb",
        name="etl-airflow-prod",
        client_cidrs=CIDRS,
        ip_address_type="dualstack",
        health_check_path="/api/v2/monitor/health",
        certificate_arn=CERT,
        deletion_protection=True,
        access_logs=AccessLogsArgs(bucket_name="etl-airflow-lb-logs-prod", prefix="front-door"),
        alias=AliasRecordArgs(hosted_zone_id="Z0123456789ABCDEFGHIJ", hostname="airflow.example.com"),
        protection=Protection(protect=True),
        tags={"environment": "prod"},
        **COMMON,
    ),
    # dev's shape: internal NLB over TCP; Airflow 2 health path
    "nlb": WebLoadBalancerArgs(
        type="nlb", name="etl-airflow-dev", client_cidrs=CIDRS[:1], health_check_path="/health", **COMMON
    ),
    # uat with a certificate: TLS listener, NLB log delivery, client IPs preserved
    "nlb-tls": WebLoadBalancerArgs(
        type="nlb",
        name="etl-airflow-uat",
        client_cidrs=CIDRS[:1],
        health_check_path="/api/v2/monitor/health",
        certificate_arn=CERT,
        preserve_client_ip=True,
        access_logs=AccessLogsArgs(bucket_name="etl-airflow-lb-logs-uat"),
        tags={"environment": "uat"},
        **COMMON,
    ),
}


@cache
def built(variant: str) -> Inventory:
    """One offline run: the load balancer, allowed to the workloads' group, bound to the API Service."""

    def program() -> None:
        lb = WebLoadBalancer("front-door", VARIANTS[variant])
        owner = pulumi.ComponentResource("airflow-platform:test:Workloads", "workloads")
        controller = LoadBalancerController("lbc", CONTROLLER)
        lb.allow_to(Connections(owner, "workloads", WORKLOAD_SG))
        lb.bind_service("airflow", "airflow-api-server", 8080, opts=pulumi.ResourceOptions(depends_on=controller.ready))
        outputs = {"url": lb.url, "tg": lb.target_group_arn, "sg": lb.security_group_id}
        pulumi.export("front", {**outputs, "zone": lb.zone_id, "dns": lb.dns_name, "arn": lb.arn})

    with offline_engine("test", {"aws:region": REGION}, [], [], REGION) as inventory:
        return run_program(inventory, program)


def front(variant: str) -> dict[str, str]:
    return built(variant).outputs["front"]


def of(variant: str, resource_type: str) -> list[Registration]:
    return built(variant).of_type(resource_type)


def lb_group(variant: str) -> Registration:
    return built(variant).one(SG, "front-door-sg")


@pytest.mark.parametrize(("variant", "ports"), [("alb", [80, 443]), ("nlb", [80]), ("nlb-tls", [443])])
def test_the_lb_group_admits_exactly_the_client_cidrs_on_the_listener_ports(variant: str, ports: list[int]) -> None:
    cidrs = VARIANTS[variant].client_cidrs
    mine = [r.inputs for r in of(variant, INGRESS) if r.inputs["securityGroupId"] == front(variant)["sg"]]
    admitted = sorted((r.get("cidrIpv4") or r.get("cidrIpv6"), r["fromPort"], r["toPort"]) for r in mine)
    assert admitted == sorted((c, p, p) for c in cidrs for p in ports)
    assert {r["ipProtocol"] for r in mine} == {"tcp"}


@pytest.mark.parametrize("variant", VARIANTS)
def test_allow_to_opens_the_target_port_between_the_two_groups_only(variant: str) -> None:
    sg = front(variant)["sg"]
    [egress] = [r.inputs for r in of(variant, EGRESS)]
    assert (egress["securityGroupId"], egress["referencedSecurityGroupId"]) == (sg, WORKLOAD_SG)
    assert (egress["ipProtocol"], egress["fromPort"], egress["toPort"]) == ("tcp", 8080, 8080)
    [ingress] = [r.inputs for r in of(variant, INGRESS) if r.inputs["securityGroupId"] == WORKLOAD_SG]
    assert (ingress["referencedSecurityGroupId"], ingress["fromPort"], ingress["toPort"]) == (sg, 8080, 8080)
    assert "egress" not in lb_group(variant).inputs  # no inline rules: the provider drops AWS's allow-all egress


def test_alb_serves_https_with_a_tls13_policy_and_port_80_only_redirects() -> None:
    listeners = {r.inputs["port"]: r.inputs for r in of("alb", LISTENER)}
    assert set(listeners) == {80, 443}
    https = listeners[443]
    assert (https["protocol"], https["sslPolicy"], https["certificateArn"]) == ("HTTPS", DEFAULT_TLS_POLICY, CERT)
    assert https["defaultActions"] == [{"type": "forward", "targetGroupArn": front("alb")["tg"]}]
    redirect = listeners[80]
    assert redirect["protocol"] == "HTTP"
    assert redirect["defaultActions"] == [
        {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}
    ]


def test_alb_is_internal_hardened_and_logs_to_its_bucket() -> None:
    lb = built("alb").one(LB).inputs
    assert (lb["loadBalancerType"], lb["internal"], lb["ipAddressType"]) == ("application", True, "dualstack")
    assert lb["securityGroups"] == [front("alb")["sg"]]
    assert lb["subnets"] == SUBNETS
    assert (lb["dropInvalidHeaderFields"], lb["desyncMitigationMode"]) == (True, "defensive")
    assert lb["enableDeletionProtection"] is True
    assert lb["accessLogs"] == {"bucket": "etl-airflow-lb-logs-prod", "prefix": "front-door", "enabled": True}


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_replaced_load_balancer_is_deleted_first_because_its_name_is_fixed(variant: str) -> None:
    """Changing type or scheme replaces it; AWS refuses a second load balancer of the same name."""
    assert built(variant).one(LB).delete_before_replace is True


def client_rule_names(cidrs: list[str]) -> dict[str, str]:
    """CIDR -> resource name of the ingress rules `allow_from_cidrs` registers for ``cidrs``."""

    def program() -> None:
        owner = pulumi.ComponentResource("test:index:Owner", "owner")
        Connections(owner, "lb", WORKLOAD_SG).allow_from_cidrs("clients-443", cidrs, 443, "Clients")

    with offline_engine("test", {"aws:region": REGION}, [], [], REGION) as inventory:
        run_program(inventory, program)
    return {r.inputs.get("cidrIpv4") or r.inputs["cidrIpv6"]: r.name for r in inventory.of_type(INGRESS)}


def test_client_rules_are_named_after_their_cidr_so_dropping_one_leaves_the_others_untouched() -> None:
    """Rules named by position would be rewritten into duplicates of each other, which AWS refuses."""
    before = client_rule_names(["10.1.0.0/16", "10.2.0.0/16", "2001:db8::/32"])
    after = client_rule_names(["2001:db8::/32", "10.2.0.0/16"])
    assert after == {cidr: before[cidr] for cidr in after}
    assert before["10.1.0.0/16"] == "lb-clients-443-10.1.0.0-16"
    assert before["2001:db8::/32"] == "lb-clients-443-2001.db8..-32"


@pytest.mark.parametrize(("variant", "protocol", "port"), [("nlb", "TCP", 80), ("nlb-tls", "TLS", 443)])
def test_nlb_listener_is_tcp_or_tls_with_the_tls13_policy(variant: str, protocol: str, port: int) -> None:
    [listener] = [r.inputs for r in of(variant, LISTENER)]
    assert (listener["protocol"], listener["port"]) == (protocol, port)
    assert listener.get("sslPolicy") == (DEFAULT_TLS_POLICY if protocol == "TLS" else None)
    lb = built(variant).one(LB).inputs
    assert (lb["loadBalancerType"], lb["internal"]) == ("network", True)
    assert lb["securityGroups"] == [front(variant)["sg"]]  # an NLB only gets security groups at creation
    assert "dropInvalidHeaderFields" not in lb


@pytest.mark.parametrize(
    ("variant", "protocol", "path"),
    [
        ("alb", "HTTP", "/api/v2/monitor/health"),
        ("nlb", "TCP", "/health"),
        ("nlb-tls", "TCP", "/api/v2/monitor/health"),
    ],
)
def test_ip_target_group_health_checks_the_given_path(variant: str, protocol: str, path: str) -> None:
    group = built(variant).one(TARGET_GROUP).inputs
    assert (group["targetType"], group["port"], group["protocol"]) == ("ip", 8080, protocol)
    check = group["healthCheck"]
    assert (check["protocol"], check["path"], check["port"], check["matcher"]) == ("HTTP", path, "traffic-port", "200")
    budget = dead_target_detection_seconds(check["interval"], check["timeout"], check["unhealthyThreshold"])
    assert budget <= DEAD_TARGET_BUDGET_SECONDS
    assert check["timeout"] < check["interval"]
    assert group["deregistrationDelay"] == 20
    assert "name" not in group  # auto-named, so a replacement is created before the old one goes


def test_a_dead_pod_leaves_rotation_within_30_seconds() -> None:
    assert dead_target_detection_seconds(HEALTH_INTERVAL_SECONDS, HEALTH_TIMEOUT_SECONDS, UNHEALTHY_THRESHOLD) == 25
    assert dead_target_detection_seconds(30, 5, 2) > DEAD_TARGET_BUDGET_SECONDS  # AWS's ALB defaults would not


def test_nlb_preserves_client_ips_only_when_asked() -> None:
    assert built("nlb-tls").one(TARGET_GROUP).inputs["preserveClientIp"] == "true"
    assert built("nlb").one(TARGET_GROUP).inputs["preserveClientIp"] == "false"
    assert "preserveClientIp" not in built("alb").one(TARGET_GROUP).inputs


def test_log_bucket_is_locked_down_protected_and_written_by_elb_only_under_its_prefix() -> None:
    inventory = built("alb")
    bucket = inventory.one("aws:s3/bucket:Bucket")
    children = {r.type.split(":")[-1]: r for r in inventory.resources if r.parent == bucket.urn}
    assert set(children) == {
        "BucketPublicAccessBlock",
        "BucketOwnershipControls",
        "BucketServerSideEncryptionConfiguration",
        "BucketLifecycleConfiguration",
        "BucketPolicy",
    }
    assert all(r.protect for r in [bucket, *children.values()])
    sse = children["BucketServerSideEncryptionConfiguration"].inputs["rules"]
    assert sse == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]  # ALB logs take SSE-S3 only
    statements = json.loads(children["BucketPolicy"].inputs["policy"])["Statement"]
    assert {s["Sid"] for s in statements if s["Effect"] == "Deny"} == {"DenyInsecureTransport", "DenyOutdatedTls"}
    [allow] = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": ALB_LOG_DELIVERY}
    assert allow["Resource"] == f"arn:aws:s3:::etl-airflow-lb-logs-prod/front-door/AWSLogs/{ACCOUNT_ID}/*"
    assert children["BucketPolicy"].urn in inventory.one(LB).dependencies  # ELB checks its access when enabling
    lifecycle = {rule["id"]: rule for rule in children["BucketLifecycleConfiguration"].inputs["rules"]}
    assert lifecycle["expire-access-logs"]["expiration"] == {"days": 90}


def test_nlb_logs_are_delivered_by_the_log_delivery_service_with_the_owner_acl_for_this_account_only() -> None:
    statements = access_log_delivery_statements("nlb", "arn:aws:s3:::b", "p", ACCOUNT_ID)
    assert {s["Principal"]["Service"] for s in statements} == {NLB_LOG_DELIVERY}
    this_account = {"ArnLike": {"aws:SourceArn": f"arn:aws:logs:*:{ACCOUNT_ID}:*"}}
    write = next(s for s in statements if s["Action"] == "s3:PutObject")
    assert write["Condition"] == {
        "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceAccount": ACCOUNT_ID},
        **this_account,
    }
    acl_check = next(s for s in statements if s["Action"] == "s3:GetBucketAcl")
    assert acl_check["Resource"] == "arn:aws:s3:::b"
    assert acl_check["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}, **this_account}
    policy = json.loads(built("nlb-tls").one(BUCKET_POLICY).inputs["policy"])
    assert NLB_LOG_DELIVERY in json.dumps(policy) and ALB_LOG_DELIVERY not in json.dumps(policy)


@pytest.mark.parametrize("variant", VARIANTS)
def test_binding_names_the_service_and_port_and_is_replaced_with_its_target_group(variant: str) -> None:
    binding = built(variant).one(BINDING)
    assert binding.inputs["metadata"]["namespace"] == "airflow"
    group = built(variant).one(TARGET_GROUP).inputs
    # Everything the controller's webhook would otherwise fill in from AWS, stated as the group has it.
    assert binding.inputs["spec"] == {
        "serviceRef": {"name": "airflow-api-server", "port": 8080},
        "targetGroupARN": front(variant)["tg"],
        "targetType": group["targetType"],
        "targetGroupProtocol": group["protocol"],
        "ipAddressType": group["ipAddressType"],
        "vpcID": group["vpcId"],
    }
    assert (group["targetType"], group["ipAddressType"], group["vpcId"]) == ("ip", "ipv4", VPC)
    immutable = {"spec.targetGroupARN", "spec.targetType", "spec.ipAddressType", "spec.vpcID"}
    assert set(binding.replace_on_changes) == immutable  # the fields the controller's validator refuses to change
    assert binding.delete_before_replace is True
    waits_for = {built(variant).one(t).urn for t in ("kubernetes:helm.sh/v3:Release", "aws:iam/rolePolicy:RolePolicy")}
    assert waits_for <= set(binding.dependencies)  # the controller's CRDs, webhooks and permissions


def test_urls_and_alias_records() -> None:
    alb, nlb = built("alb"), built("nlb")
    assert front("alb")["url"] == "https://airflow.example.com"
    assert front("nlb")["url"] == f"http://{front('nlb')['dns']}"  # the default port is not spelled
    assert front("nlb")["dns"].startswith("etl-airflow-dev-") and ".elb.eu-west-1." in front("nlb")["dns"]
    assert front("nlb")["arn"].startswith(f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:loadbalancer/net/")
    records = {r.inputs["type"]: r.inputs for r in alb.of_type(RECORD)}
    assert set(records) == {"A", "AAAA"}  # dualstack
    for record in records.values():
        assert (record["zoneId"], record["name"]) == ("Z0123456789ABCDEFGHIJ", "airflow.example.com")
        [target] = record["aliases"]
        assert target["zoneId"] == front("alb")["zone"] and target["evaluateTargetHealth"] is True
    assert nlb.of_type(RECORD) == []
    assert service_url("lb.example", True, 8443) == "https://lb.example:8443"
    assert service_url("lb.example", False, 8080) == "http://lb.example:8080"


def test_the_prod_shaped_alb_passes_the_policy_pack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_STACK", "prod")
    assert evaluate(built("alb").resources) == []


def _args(**changes: Any) -> Callable[[], WebLoadBalancerArgs]:
    base: dict[str, Any] = {
        "type": "alb",
        "name": "airflow",
        "client_cidrs": CIDRS[:1],
        "health_check_path": "/health",
        **COMMON,
    }
    return lambda: WebLoadBalancerArgs(**{**base, **changes})


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"name": "internal-airflow"}, "name"),
        ({"client_cidrs": ["2001:db8::/56"]}, "dualstack"),
        ({"certificate_arn": CERT, "tls_policy": "ELBSecurityPolicy-2016-08"}, "tls_policy"),
        ({"certificate_arn": CERT, "tls_policy": "ELBSecurityPolicy-TLS13-1-0-2021-06"}, "tls_policy"),
        ({"deregistration_delay_seconds": 30}, "shorter than termination_grace_period_seconds (30)"),
        ({"preserve_client_ip": True}, "NLB only"),
        ({"type": "nlb", "access_logs": AccessLogsArgs(bucket_name="b-logs")}, "TLS listeners only"),
        ({"certificate_arn": CERT, "port": 80}, "redirect"),
    ],
)
def test_args_refuse_what_cannot_work(changes: dict[str, Any], said: str) -> None:
    with pytest.raises(ValueError, match=said.replace("(", r"\(").replace(")", r"\)")):
        _args(**changes)()
