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
}


def front_door(**changes: Any) -> FrontDoorConfig:
    return FrontDoorConfig.model_validate({**PROD_READY, **changes})


def problems(environment: str = "prod", **changes: Any) -> dict[str, str]:
    """Problems by full key, for the prod-ready config with ``changes``."""
    found = front_door_problems(front_door(**changes), environment, REGION)
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


def test_outside_prod_the_same_choices_are_allowed() -> None:
    assert problems("dev", type="nlb", certificateArn=None, internetFacing=True, accessLogs={"enabled": False}) == {}


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
