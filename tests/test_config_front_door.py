"""frontDoor config: named-key errors in words, and the cross-field and prod rules."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from config.errors import problems_from_validation
from config.front_door import FrontDoorConfig
from config.front_door_rules import front_door_problems
from tests.support import REGION

CERT = f"arn:aws:acm:{REGION}:111122223333:certificate/0a1b2c3d-1111-2222-3333-444455556666"
PROD_READY: dict[str, Any] = {
    "type": "alb",
    "clientCidrs": ["10.60.0.0/16"],
    "certificateArn": CERT,
    "hostname": "airflow.example.com",
    "hostedZoneId": "Z0123456789ABCDEFGHIJ",
    "accessLogs": {"enabled": True},
    "deletionProtection": True,
    "subnetIds": ["subnet-0e31f42a53b64c711", "subnet-0e31f42a53b64c712"],
}
WORKLOAD_SUBNETS = ["subnet-0e31f42a53b64c701", "subnet-0e31f42a53b64c702"]


def front_door(**changes: Any) -> FrontDoorConfig:
    return FrontDoorConfig.model_validate({**PROD_READY, **changes})


def problems(environment: str = "prod", auth_type: str = "oidc", **changes: Any) -> dict[str, str]:
    """Problems by full key, for the prod-ready config with ``changes``."""
    found = front_door_problems(
        front_door(**changes), environment, REGION, workload_subnet_ids=WORKLOAD_SUBNETS, auth_type=auth_type
    )
    return {p.full_key: str(p) for p in found}


def test_a_prod_ready_front_door_has_no_problems() -> None:
    assert problems() == {}


@pytest.mark.parametrize(
    ("raw", "key", "said"),
    [
        ({"certificateArn": "arn:aws:acm:eu-west-1:111122223333:cert/abc"}, "certificateArn", "ACM certificate ARN"),
        (
            {"certificateArn": "arn:aws:iam::111122223333:server-certificate/airflow"},
            "certificateArn",
            "import the certificate into ACM",
        ),
        ({"hostedZoneId": "/hostedzone/Z0123456789ABCDEFGHIJ"}, "hostedZoneId", "leave out the /hostedzone/ prefix"),
        ({"hostname": "https://airflow.example.com"}, "hostname", "without scheme or path"),
        ({"hostname": "Airflow.example.com"}, "hostname", "lowercase"),
        ({"hostname": "airflow"}, "hostname", "two or more labels"),
        ({"tlsPolicy": "ELBSecurityPolicy-2016-08"}, "tlsPolicy", "TLS 1.2 or newer as the minimum"),
        ({"clientCidrs": ["10.60.0.0/16", "10.60.0.0/16"]}, "clientCidrs", "distinct"),
        ({"clientCidrs": ["10.60.0.1/16"]}, "clientCidrs[0]", "did you mean 10.60.0.0/16?"),
        ({"accessLogs": {"enabled": True, "prefix": "lb/AWSLogs"}}, "accessLogs.prefix", "AWSLogs"),
        ({"type": "clb"}, "type", "expected one of nlb, alb"),
        ({"controller": {"chartVersion": "1.14.1"}}, "controller.chartVersion", "expected one of 3.5.0"),
    ],
)
def test_bad_values_name_the_key_and_say_what_is_allowed(raw: dict[str, Any], key: str, said: str) -> None:
    with pytest.raises(ValidationError) as caught:
        front_door(**raw)
    [problem] = problems_from_validation(caught.value)
    assert problem.key == key
    assert said in problem.message
    assert "regex" not in problem.message and "pattern" not in problem.message


def test_prod_refuses_no_tls_internet_facing_open_cidrs_no_logs_no_deletion_protection() -> None:
    found = problems(
        certificateArn=None,
        internetFacing=True,
        clientCidrs=["0.0.0.0/1", "128.0.0.0/1"],
        accessLogs={"enabled": False},
        deletionProtection=False,
    )
    prefix = "airflow-platform:frontDoor."
    assert set(found) == {
        prefix + key
        for key in ("certificateArn", "internetFacing", "clientCidrs", "accessLogs.enabled", "deletionProtection")
    }
    assert "prod requires TLS" in found[prefix + "certificateArn"]
    assert "0.0.0.0/0, alone or together" in found[prefix + "clientCidrs"]


def test_outside_prod_an_internal_front_door_may_go_without_tls_logs_or_protection() -> None:
    assert problems("dev", type="nlb", certificateArn=None, accessLogs={"enabled": False}) == {}


def test_an_internet_facing_front_door_needs_tls_in_every_environment() -> None:
    found = problems("uat", type="nlb", certificateArn=None, internetFacing=True, accessLogs={"enabled": False})
    assert list(found) == ["airflow-platform:frontDoor.certificateArn"]
    assert (
        "internetFacing true: without TLS, passwords, session cookies and API tokens"
        in found["airflow-platform:frontDoor.certificateArn"]
    )


@pytest.mark.parametrize("everything", [["0.0.0.0/0"], ["0.0.0.0/1", "128.0.0.0/1"], ["::/0"]])
def test_password_login_is_not_offered_to_the_whole_internet(everything: list[str]) -> None:
    internet = {"internetFacing": True, "clientCidrs": everything, "ipAddressType": "dualstack"}
    found = problems("uat", auth_type="password", **internet)
    assert list(found) == ["airflow-platform:frontDoor.clientCidrs"]
    assert "offers Airflow's password login to everyone" in found["airflow-platform:frontDoor.clientCidrs"]
    assert problems("uat", auth_type="oidc", **internet) == {}  # the identity provider guards the login
    assert problems("uat", auth_type="password", **{**internet, "clientCidrs": ["203.0.113.0/24"]}) == {}
    assert problems("uat", auth_type="password", **{**internet, "internetFacing": False}) == {}


def test_the_uat_combination_of_the_issue_is_refused_on_both_counts() -> None:
    found = problems(
        "uat",
        auth_type="password",
        type="nlb",
        internetFacing=True,
        certificateArn=None,
        clientCidrs=["0.0.0.0/0"],
        accessLogs={"enabled": False},
    )
    assert list(found) == ["airflow-platform:frontDoor.certificateArn", "airflow-platform:frontDoor.clientCidrs"]


def test_prod_needs_load_balancer_subnets_of_its_own() -> None:
    key = "airflow-platform:frontDoor.subnetIds"
    missing = problems(subnetIds=None)
    assert list(missing) == [key] and "prod requires subnets of the load balancer's own" in missing[key]
    shared = problems(subnetIds=[WORKLOAD_SUBNETS[0], "subnet-0e31f42a53b64c711"])
    assert list(shared) == [key]
    assert f"disjoint from network.privateSubnetIds, which also has {WORKLOAD_SUBNETS[0]}" in shared[key]
    assert "every pod and node in a shared subnet" in shared[key]
    assert problems("uat", subnetIds=None) == {}  # outside prod the shared subnets are a documented limit


@pytest.mark.parametrize(
    "arn",
    [
        CERT.replace(REGION, "us-east-1"),  # CloudFront's region, not the load balancer's
        CERT.replace("arn:aws:", "arn:aws-us-gov:"),
    ],
)
def test_the_certificate_must_be_in_the_stacks_region_and_partition(arn: str) -> None:
    found = problems(certificateArn=arn)
    assert list(found) == ["airflow-platform:frontDoor.certificateArn"]
    assert f"the stack's region {REGION}" in found["airflow-platform:frontDoor.certificateArn"]


def test_hostname_and_zone_come_together() -> None:
    assert list(problems(hostedZoneId=None)) == ["airflow-platform:frontDoor.hostedZoneId"]
    assert list(problems(hostname=None)) == ["airflow-platform:frontDoor.hostname"]
    assert problems(hostname=None, hostedZoneId=None) == {}


@pytest.mark.parametrize(
    ("changes", "key", "said"),
    [
        ({"type": "nlb", "certificateArn": None, "accessLogs": {"enabled": True}}, "accessLogs.enabled", "TLS"),
        ({"preserveClientIp": True}, "preserveClientIp", "type nlb only"),
        ({"deregistrationDelaySeconds": 30}, "deregistrationDelaySeconds", "termination grace period (30 s)"),
        ({"clientCidrs": ["2001:db8::/56"]}, "clientCidrs", "ipAddressType dualstack"),
        ({"port": 80}, "port", "redirect"),
    ],
)
def test_listener_choices_that_cannot_work(changes: dict[str, Any], key: str, said: str) -> None:
    found = problems("dev", **changes)
    assert list(found) == [f"airflow-platform:frontDoor.{key}"]
    assert said in found[f"airflow-platform:frontDoor.{key}"]
    assert problems("dev", clientCidrs=["2001:db8::/56"], ipAddressType="dualstack") == {}
