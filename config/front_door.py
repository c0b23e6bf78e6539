"""Pydantic model of `airflow-platform:frontDoor`: the load balancer in front of the Airflow API.

Single-field checks live here; cross-field and per-environment rules (prod needs TLS, the
certificate's region, hostname and zone together) are in config/front_door_rules.py.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from config.models import Model
from config.types import (
    AcmCertificateArn,
    BucketName,
    Cidr,
    DnsHostname,
    ElbTlsPolicy,
    HostedZoneId,
    S3Prefix,
    SubnetId,
    distinct,
)

# AWS Load Balancer Controller chart versions whose IAM policy the repository carries
# (components/data/aws-load-balancer-controller-iam-policy.json); a test keeps the two in step.
CONTROLLER_CHART_VERSIONS = ("3.5.0",)
DEFAULT_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"


class FrontDoorAccessLogsConfig(Model):
    """Load balancer access logs, written to an S3 bucket this program creates."""

    enabled: bool = Field(
        default=False, description="write access logs (an NLB logs its TLS listener only, so it needs certificateArn)"
    )
    bucket_name: BucketName | None = Field(
        default=None,
        description="default: <namePrefix>-lb-logs-<instanceName>-<account id>-<region> (S3 names are global)",
    )
    prefix: S3Prefix = Field(
        default="front-door", description="key prefix of the log objects, such as front-door (not containing AWSLogs)"
    )
    retention_days: int = Field(default=90, ge=1, le=3650, description="log objects expire after this many days")

    @field_validator("prefix")
    @classmethod
    def _no_awslogs(cls, value: str) -> str:
        if "AWSLogs" in value:
            raise ValueError("Elastic Load Balancing refuses a prefix containing AWSLogs; use one such as front-door")
        return value


class LoadBalancerControllerConfig(Model):
    """The AWS Load Balancer Controller that binds the target group to the API pods."""

    install: bool | None = Field(
        default=None,
        description="install the controller's Helm chart in kube-system; "
        "default: true with cluster.mode create, false with an existing cluster (which must already run it)",
    )
    chart_version: Literal[CONTROLLER_CHART_VERSIONS] = Field(
        default=CONTROLLER_CHART_VERSIONS[-1],
        description="chart version; one whose IAM policy the repository carries: "
        + ", ".join(CONTROLLER_CHART_VERSIONS),
    )
    service_mutator_webhook: bool = Field(
        default=False,
        description="let the controller take over every new Service of type LoadBalancer "
        "(leave false on a cluster other teams share)",
    )


class FrontDoorConfig(Model):
    """The load balancer that exposes the Airflow UI and API at one stable address."""

    type: Literal["nlb", "alb"] = Field(
        default="nlb",
        description="nlb (TCP, or TLS with a certificate) or alb (HTTP, or HTTPS plus an HTTP-to-HTTPS redirect)",
    )
    internet_facing: bool = Field(
        default=False,
        description="internet-facing scheme instead of internal (never in prod; the policy pack must allow it too)",
    )
    client_cidrs: Annotated[list[Cidr], distinct("CIDR blocks")] = Field(
        min_length=1,
        description="networks allowed to reach the listener ports, such as [10.60.0.0/16]; IPv6 needs "
        "ipAddressType dualstack",
    )
    subnet_ids: Annotated[list[SubnetId], distinct("subnet ids")] | None = Field(
        default=None,
        min_length=2,
        description="subnets of the load balancer, in at least two AZs; default network.privateSubnetIds. "
        "Subnets of its own let the API server's network policy admit only the load balancer (a shared "
        "subnet's block also admits every pod and node in it); prod requires them, none of network.privateSubnetIds",
    )
    ip_address_type: Literal["ipv4", "dualstack"] = Field(
        default="ipv4", description="ipv4, or dualstack for IPv6 clients (the subnets need IPv6 blocks)"
    )
    certificate_arn: AcmCertificateArn | None = Field(
        default=None, description="ACM certificate in the stack's region; turns on TLS (required in prod)"
    )
    tls_policy: ElbTlsPolicy = Field(
        default=DEFAULT_TLS_POLICY,
        description=f"TLS security policy of the TLS/HTTPS listener, TLS 1.2 or newer; default {DEFAULT_TLS_POLICY}",
    )
    port: int | None = Field(
        default=None, ge=1, le=65535, description="listener port; default 443 with a certificate, else 80"
    )
    hostname: DnsHostname | None = Field(
        default=None, description="DNS name published as an alias of the load balancer, such as airflow.example.com"
    )
    hosted_zone_id: HostedZoneId | None = Field(
        default=None, description="Route 53 hosted zone that holds hostname, such as Z0123456789ABCDEFGHIJ"
    )
    deregistration_delay_seconds: int = Field(
        default=20,
        ge=0,
        le=3600,
        description="seconds a leaving API pod keeps its connections; shorter than its termination grace period (30)",
    )
    preserve_client_ip: bool = Field(
        default=False,
        description="nlb only: pods see the client's address instead of the load balancer's",
    )
    deletion_protection: bool = Field(default=False, description="Elastic Load Balancing deletion protection")
    access_logs: FrontDoorAccessLogsConfig = Field(
        default_factory=FrontDoorAccessLogsConfig, description="access logs to S3"
    )
    controller: LoadBalancerControllerConfig = Field(
        default_factory=LoadBalancerControllerConfig, description="the AWS Load Balancer Controller"
    )

    @property
    def tls(self) -> bool:
        """Whether the listener terminates TLS."""
        return self.certificate_arn is not None
