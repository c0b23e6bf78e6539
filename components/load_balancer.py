"""WebLoadBalancer: an ALB or NLB in front of one Kubernetes Service, bound by a TargetGroupBinding.

The load balancer, its listeners and its `ip` target group are Pulumi resources (so previews
show them and protection applies); the AWS Load Balancer Controller only registers the pod IPs
through the TargetGroupBinding that `bind_service` creates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.buckets import tls_only_policy
from components.common import Protection, policy_document, private_bucket, tagged
from components.connections import Connections

DEFAULT_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
# TLS 1.3 policy families with TLS 1.2 or 1.3 as the minimum (TLS13-1-0 / TLS13-1-1 still accept 1.0 / 1.1).
TLS_POLICY_PREFIXES = ("ELBSecurityPolicy-TLS13-1-2-", "ELBSecurityPolicy-TLS13-1-3-")
HTTP_REDIRECT_PORT = 80

# Health checks: a pod that dies right after a passed check is out of rotation after at most
# UNHEALTHY_THRESHOLD * INTERVAL + TIMEOUT seconds (second failed check answered or timed out).
HEALTH_INTERVAL_SECONDS = 10
HEALTH_TIMEOUT_SECONDS = 5
HEALTHY_THRESHOLD = 2
UNHEALTHY_THRESHOLD = 2
DEAD_TARGET_BUDGET_SECONDS = 30
HEALTH_MATCHER = "200"  # ALB accepts 200-499, NLB 200-599 (AWS CloudFormation TargetGroup Matcher)

# Who writes access logs: ALBs through the ELB log-delivery service principal (AWS's recommended
# form in every region; the per-region ELB account ids are the legacy form); NLBs through the
# CloudWatch Logs delivery service, which also checks the bucket ACL.
ALB_LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com"
NLB_LOG_DELIVERY = "delivery.logs.amazonaws.com"

TGB_API_VERSION = "elbv2.k8s.aws/v1beta1"
# Namespaces with this label get the controller's pod readiness gate on pods behind a binding: a new
# pod turns Ready only once its target is healthy, so a rollout never empties the target group.
READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"
# A TargetGroupBinding's targetGroupARN, targetType, ipAddressType and vpcID cannot change: the
# controller's webhook refuses the patch, so Pulumi replaces the binding (deleting it first: the
# name is fixed).
TGB_IMMUTABLE_FIELDS = ["spec.targetGroupARN", "spec.targetType", "spec.ipAddressType", "spec.vpcID"]
# The target group's address family: IPv4 pod addresses, also behind a dualstack load balancer.
TARGET_IP_ADDRESS_TYPE = "ipv4"

_LB_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?")


def dead_target_detection_seconds(interval: int, timeout: int, unhealthy_threshold: int) -> int:
    """Worst-case seconds from a target dying to the load balancer marking it unhealthy."""
    return unhealthy_threshold * interval + timeout


@dataclass(frozen=True)
class AccessLogsArgs:
    """Where the load balancer writes access logs: a bucket this component creates."""

    bucket_name: pulumi.Input[str]
    """Name of the log bucket (globally unique)."""
    prefix: str = "front-door"
    """Key prefix of the log objects; must not contain `AWSLogs`. Default: `front-door`."""
    expire_after_days: int = 90
    """Log objects expire after this many days. Default: 90."""
    force_destroy: bool = False
    """Let `pulumi destroy` delete a non-empty bucket. Default: false."""


@dataclass(frozen=True)
class AliasRecordArgs:
    """A Route 53 alias record that names the load balancer."""

    hosted_zone_id: str
    """Hosted zone that holds the record."""
    hostname: str
    """Fully qualified name of the record, such as airflow.example.com."""


@dataclass(frozen=True)
class WebLoadBalancerArgs:
    """Inputs of a WebLoadBalancer: AWS load-balancing concepts only."""

    type: Literal["nlb", "alb"]
    """`alb`: HTTP(S) listeners and HTTP target group; `nlb`: TCP/TLS listener and TCP target group."""
    name: str
    """Load balancer name: 1-32 letters, digits and '-', not starting with `internal-`."""
    vpc_id: pulumi.Input[str]
    """VPC of the load balancer, its security group and its target group."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Subnets of the load balancer's nodes, in at least two AZs (private ones for an internal scheme)."""
    client_cidrs: Sequence[str]
    """IPv4/IPv6 CIDRs admitted on the listener port(s); nothing else reaches the load balancer."""
    target_port: int
    """Port the pods listen on (the target group's and the health check's port)."""
    health_check_path: str
    """HTTP path answering 200 when the process is up, e.g. `/api/v2/monitor/health` (Airflow 3), `/health` (2)."""
    internet_facing: bool = False
    """Internet-facing scheme instead of internal. Default: internal."""
    certificate_arn: str | None = None
    """ACM certificate: ALB gets HTTPS plus an HTTP redirect, NLB a TLS listener. Default: none (HTTP/TCP)."""
    tls_policy: str = DEFAULT_TLS_POLICY
    """TLS security policy of the HTTPS/TLS listener (TLS 1.3 family, minimum 1.2). Default: `DEFAULT_TLS_POLICY`."""
    port: int | None = None
    """Listener port. Default: 443 with a certificate, else 80."""
    ip_address_type: Literal["ipv4", "dualstack"] = "ipv4"
    """`ipv4`, or `dualstack` when IPv6 clients connect. Default: ipv4."""
    deregistration_delay_seconds: int = 20
    """Seconds a deregistered pod keeps its connections. Default: 20."""
    termination_grace_period_seconds: int = 30
    """The pods' termination grace period; the delay must be shorter. Default: 30 (Kubernetes default)."""
    preserve_client_ip: bool = False
    """NLB only: pods see the client's address, not the NLB's. Default: false (AWS's default for ip targets)."""
    desync_mitigation_mode: Literal["defensive", "strictest"] = "defensive"
    """ALB only: HTTP desync mitigation. Default: defensive."""
    deletion_protection: bool = False
    """Elastic Load Balancing deletion protection. Default: off."""
    access_logs: AccessLogsArgs | None = None
    """Access logs to a bucket this component creates (an NLB needs a certificate). Default: none."""
    alias: AliasRecordArgs | None = None
    """Route 53 alias record naming the load balancer. Default: none."""
    protection: Protection = field(default_factory=Protection)
    """Protection of the access-log bucket and what keeps it safe. Default: none."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of every AWS resource. Default: none."""

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError(f"WebLoadBalancerArgs {self.name!r}: " + "; ".join(problems))

    @property
    def tls(self) -> bool:
        """Whether the listener terminates TLS."""
        return self.certificate_arn is not None

    @property
    def listener_port(self) -> int:
        """The port clients connect to."""
        return self.port or (443 if self.tls else 80)

    @property
    def client_ports(self) -> list[int]:
        """Every port clients are admitted on (the ALB's HTTP redirect included)."""
        extra = [HTTP_REDIRECT_PORT] if self.type == "alb" and self.tls else []
        return sorted({self.listener_port, *extra})

    def problems(self) -> list[str]:
        """Why these arguments cannot describe a working load balancer, in words."""
        found = []
        if not _LB_NAME.fullmatch(self.name) or self.name.startswith("internal-"):
            found.append("name: 1-32 letters, digits and '-', not starting or ending with '-' or with internal-")
        if len(self.subnet_ids) < 2:
            found.append("subnet_ids: at least two subnets in different AZs")
        if not self.client_cidrs:
            found.append("client_cidrs: at least one CIDR (nothing could connect)")
        if self.ip_address_type == "ipv4" and any(":" in c for c in self.client_cidrs):
            found.append("client_cidrs: IPv6 blocks need ip_address_type dualstack")
        if not self.tls_policy.startswith(TLS_POLICY_PREFIXES):
            found.append("tls_policy: a TLS 1.3 policy with TLS 1.2 or newer as minimum, e.g. " + DEFAULT_TLS_POLICY)
        if not self.health_check_path.startswith("/"):
            found.append("health_check_path: an absolute path such as /api/v2/monitor/health")
        if self.deregistration_delay_seconds >= self.termination_grace_period_seconds:
            found.append(
                f"deregistration_delay_seconds ({self.deregistration_delay_seconds}) must be shorter than "
                f"termination_grace_period_seconds ({self.termination_grace_period_seconds})"
            )
        if self.preserve_client_ip and self.type != "nlb":
            found.append("preserve_client_ip: NLB only")
        if self.type == "alb" and self.tls and self.listener_port == HTTP_REDIRECT_PORT:
            found.append("port: 80 carries the HTTP-to-HTTPS redirect")
        if self.access_logs and self.type == "nlb" and not self.tls:
            found.append("access_logs: an NLB logs TLS listeners only; give certificate_arn")
        if self.access_logs and "AWSLogs" in self.access_logs.prefix:
            found.append("access_logs.prefix must not contain AWSLogs")
        return found


def access_log_delivery_statements(
    lb_type: Literal["nlb", "alb"], bucket_arn: str, prefix: str, account_id: str
) -> list[dict[str, Any]]:
    """Bucket-policy statements that let Elastic Load Balancing write this account's logs under ``prefix``."""
    objects = f"{bucket_arn}/{prefix}/AWSLogs/{account_id}/*"
    if lb_type == "alb":
        return [
            {
                "Sid": "ElbLogDeliveryWrite",
                "Effect": "Allow",
                "Principal": {"Service": ALB_LOG_DELIVERY},
                "Action": "s3:PutObject",
                "Resource": objects,
            }
        ]
    # Only deliveries on behalf of this account (the confused-deputy guard of AWS's NLB example).
    partition = bucket_arn.split(":")[1]
    source_account = {"aws:SourceAccount": account_id}
    source_arn = {"ArnLike": {"aws:SourceArn": f"arn:{partition}:logs:*:{account_id}:*"}}
    return [
        {
            "Sid": "LogDeliveryWrite",
            "Effect": "Allow",
            "Principal": {"Service": NLB_LOG_DELIVERY},
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {
                "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **source_account},
                **source_arn,
            },
        },
        {
            "Sid": "LogDeliveryAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": NLB_LOG_DELIVERY},
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn,
            "Condition": {"StringEquals": source_account, **source_arn},
        },
    ]


def access_log_bucket_policy(lb_type: Literal["nlb", "alb"], bucket_arn: str, prefix: str, account_id: str) -> str:
    """The log bucket's policy: TLS only, plus log delivery for this account."""
    statements = json.loads(tls_only_policy(bucket_arn))["Statement"]
    return policy_document(statements + access_log_delivery_statements(lb_type, bucket_arn, prefix, account_id))


class WebLoadBalancer(pulumi.ComponentResource):
    """An internal (by default) ALB or NLB with its own security group, one `ip` target group and TLS."""

    arn: pulumi.Output[str]
    dns_name: pulumi.Output[str]
    zone_id: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: WebLoadBalancerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-platform:network:WebLoadBalancer", name, None, opts)
        self._name = name
        self._args = args
        # Whether the pods see client addresses (else the load balancer's private addresses).
        self.preserves_client_ip = args.preserve_client_ip
        self.listener_ports = args.client_ports
        self.target_port = args.target_port
        self.log_bucket: aws.s3.Bucket | None = None

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            name=f"{args.name}-lb",
            description=f"Load balancer {args.name}: clients in, targets out",
            vpc_id=args.vpc_id,
            tags=tagged(args.tags, f"{args.name}-lb"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.security_group_id = self.security_group.id
        # Who may reach the load balancer: the client CIDRs on the listener ports.
        self.connections = Connections(self, name, self.security_group.id, args.tags)
        for port in args.client_ports:
            self.connections.allow_from_cidrs(
                f"clients-{port}", list(args.client_cidrs), port, f"Clients of {args.name}"
            )

        log_policy = self._access_logs(name, args, args.access_logs) if args.access_logs else None
        self.load_balancer = aws.lb.LoadBalancer(
            name,
            name=args.name,
            load_balancer_type="application" if args.type == "alb" else "network",
            internal=not args.internet_facing,
            security_groups=[self.security_group.id],
            subnets=list(args.subnet_ids),
            ip_address_type=args.ip_address_type,
            enable_deletion_protection=args.deletion_protection,
            access_logs=self._access_logs_setting(args),
            **self._type_attributes(args),
            tags=tagged(args.tags, args.name),
            # Elastic Load Balancing checks that it may write to the bucket when logs are turned on.
            # The name is fixed: a replacement (type, scheme) must delete the old one first, or AWS
            # refuses the duplicate name.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[log_policy] if log_policy else [], delete_before_replace=True
            ),
        )
        self.target_group = aws.lb.TargetGroup(
            f"{name}-tg",
            port=args.target_port,
            protocol=target_group_protocol(args.type),
            target_type="ip",
            ip_address_type=TARGET_IP_ADDRESS_TYPE,
            vpc_id=args.vpc_id,
            deregistration_delay=args.deregistration_delay_seconds,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True,
                protocol="HTTP",
                port="traffic-port",
                path=args.health_check_path,
                matcher=HEALTH_MATCHER,
                interval=HEALTH_INTERVAL_SECONDS,
                timeout=HEALTH_TIMEOUT_SECONDS,
                healthy_threshold=HEALTHY_THRESHOLD,
                unhealthy_threshold=UNHEALTHY_THRESHOLD,
            ),
            **(
                {"preserve_client_ip": str(args.preserve_client_ip).lower(), "connection_termination": True}
                if args.type == "nlb"
                else {}
            ),
            tags=tagged(args.tags, f"{args.name}-tg"),
            # No fixed name: a replacement is created before the old group is deleted.
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.listeners = self._listeners(name, args)

        self.arn = self.load_balancer.arn
        self.dns_name = self.load_balancer.dns_name
        self.zone_id = self.load_balancer.zone_id
        self.target_group_arn = self.target_group.arn
        host = pulumi.Output.from_input(args.alias.hostname) if args.alias else self.dns_name
        self.url = host.apply(lambda h: service_url(h, args.tls, args.listener_port))
        if args.alias:
            self._alias(name, args.alias, args.ip_address_type)
        self.register_outputs(
            {
                "arn": self.arn,
                "dnsName": self.dns_name,
                "zoneId": self.zone_id,
                "securityGroupId": self.security_group_id,
                "targetGroupArn": self.target_group_arn,
                "url": self.url,
            }
        )

    # -- intent methods ---------------------------------------------------------------
    def source_cidrs(self) -> pulumi.Output[list[str]]:
        """Where the targets see this load balancer's traffic come from (for a network policy).

        The load balancer connects from its own addresses in its subnets (an ALB always proxies; an
        NLB's health checks too), so their CIDRs, looked up once per subnet; with client-IP
        preservation (NLB) also the clients. Give the load balancer subnets of its own and these
        blocks admit nothing else.
        """
        invoke = pulumi.InvokeOptions(parent=self)
        subnets = [aws.ec2.get_subnet_output(id=subnet, opts=invoke) for subnet in self._args.subnet_ids]
        dualstack = self._args.ip_address_type == "dualstack"
        blocks = [subnet.cidr_block for subnet in subnets]
        blocks += [subnet.ipv6_cidr_block for subnet in subnets] if dualstack else []
        # Health checks always come from the load balancer's own addresses, even when it preserves client IPs.
        clients = list(self._args.client_cidrs) if self.preserves_client_ip else []
        return pulumi.Output.all(*blocks).apply(lambda found: sorted({b for b in [*found, *clients] if b}))

    def readiness_gate_labels(self) -> dict[str, str]:
        """Labels for the namespace of the bound Service: its pods turn Ready only once healthy in the target group.

        The controller injects the gate when a pod is created, so pods created before the binding
        (a first install) start without it and the next rollout picks it up.
        """
        return {READINESS_GATE_LABEL: "enabled"}

    def allow_to(self, targets: Connections, rule_name: str | None = None) -> None:
        """Let this load balancer reach ``targets`` on the target port: their ingress and this group's egress.

        ``rule_name`` tells the rules apart when one load balancer reaches several target groups.
        """
        targets.allow_from(
            rule_name or f"from-{self._name}",
            self.security_group.id,
            self.target_port,
            f"Load balancer {self._args.name} to its targets",
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{self._name}-egress-{rule_name or 'targets'}",
            security_group_id=self.security_group.id,
            referenced_security_group_id=targets.security_group_id,
            ip_protocol="tcp",
            from_port=self.target_port,
            to_port=self.target_port,
            description="Traffic and health checks to the targets",
            tags=dict(self._args.tags) or None,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def bind_service(
        self,
        namespace: pulumi.Input[str],
        service_name: pulumi.Input[str],
        service_port: pulumi.Input[int | str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> k8s.apiextensions.CustomResource:
        """Register the Service's ready pod IPs in the target group (a TargetGroupBinding in ``namespace``).

        Pass the Kubernetes provider and `depends_on=[controller.ready..., the release]` in ``opts``.
        The spec states the target group's type, protocol, address type and VPC itself: left out, the
        controller's webhook fills them in from AWS, and a later update that drops them (every
        update from this program would) is refused as a change of immutable fields.
        """
        return k8s.apiextensions.CustomResource(
            f"{self._name}-binding",
            api_version=TGB_API_VERSION,
            kind="TargetGroupBinding",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=service_name, namespace=namespace, labels={"app.kubernetes.io/managed-by": "pulumi"}
            ),
            spec={
                "serviceRef": {"name": service_name, "port": service_port},
                "targetGroupARN": self.target_group.arn,
                "targetType": "ip",
                "targetGroupProtocol": target_group_protocol(self._args.type),
                "ipAddressType": TARGET_IP_ADDRESS_TYPE,
                "vpcID": self._args.vpc_id,
            },
            opts=pulumi.ResourceOptions.merge(
                pulumi.ResourceOptions(
                    parent=self, replace_on_changes=TGB_IMMUTABLE_FIELDS, delete_before_replace=True
                ),
                opts,
            ),
        )

    # -- pieces -----------------------------------------------------------------------
    @staticmethod
    def _type_attributes(args: WebLoadBalancerArgs) -> dict[str, Any]:
        if args.type == "alb":
            return {"drop_invalid_header_fields": True, "desync_mitigation_mode": args.desync_mitigation_mode}
        return {
            "enable_cross_zone_load_balancing": True,
            "enforce_security_group_inbound_rules_on_private_link_traffic": "on",
        }

    def _access_logs_setting(self, args: WebLoadBalancerArgs) -> aws.lb.LoadBalancerAccessLogsArgs | None:
        if not args.access_logs or self.log_bucket is None:
            return None
        return aws.lb.LoadBalancerAccessLogsArgs(
            bucket=self.log_bucket.bucket, prefix=args.access_logs.prefix, enabled=True
        )

    def _access_logs(self, name: str, args: WebLoadBalancerArgs, logs: AccessLogsArgs) -> aws.s3.BucketPolicy:
        self.log_bucket, block = private_bucket(
            f"{name}-logs",
            bucket_name=logs.bucket_name,
            force_destroy=logs.force_destroy,
            tags=args.tags,
            protection=args.protection,
            parent=self,
        )
        bucket = self.log_bucket
        child = args.protection.options(bucket)
        # Load balancer access logs support SSE-S3 only (ALB; the NLB also takes a customer key).
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-logs-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    )
                )
            ],
            opts=child,
        )
        everything = aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix="")
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-logs-lifecycle",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-access-logs",
                    status="Enabled",
                    filter=everything,
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=logs.expire_after_days),
                ),
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="abort-incomplete-multipart-uploads",
                    status="Enabled",
                    filter=everything,
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                ),
            ],
            opts=child,
        )
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id
        policy = pulumi.Output.all(bucket.arn, account).apply(
            lambda v: access_log_bucket_policy(args.type, v[0], logs.prefix, v[1])
        )
        return aws.s3.BucketPolicy(
            f"{name}-logs-policy",
            bucket=bucket.id,
            policy=policy,
            opts=args.protection.options(bucket, depends_on=[block]),
        )

    def _listeners(self, name: str, args: WebLoadBalancerArgs) -> list[aws.lb.Listener]:
        forward = [aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=self.target_group.arn)]
        opts = pulumi.ResourceOptions(parent=self)
        tags = tagged(args.tags, args.name)
        if not args.tls:
            protocol = "HTTP" if args.type == "alb" else "TCP"
            return [
                aws.lb.Listener(
                    f"{name}-{protocol.lower()}",
                    load_balancer_arn=self.load_balancer.arn,
                    port=args.listener_port,
                    protocol=protocol,
                    default_actions=forward,
                    tags=tags,
                    opts=opts,
                )
            ]
        protocol = "HTTPS" if args.type == "alb" else "TLS"
        listeners = [
            aws.lb.Listener(
                f"{name}-{protocol.lower()}",
                load_balancer_arn=self.load_balancer.arn,
                port=args.listener_port,
                protocol=protocol,
                ssl_policy=args.tls_policy,
                certificate_arn=args.certificate_arn,
                default_actions=forward,
                tags=tags,
                opts=opts,
            )
        ]
        if args.type == "alb":
            redirect = aws.lb.ListenerDefaultActionRedirectArgs(
                protocol="HTTPS", port=str(args.listener_port), status_code="HTTP_301"
            )
            listeners.append(
                aws.lb.Listener(
                    f"{name}-http-redirect",
                    load_balancer_arn=self.load_balancer.arn,
                    port=HTTP_REDIRECT_PORT,
                    protocol="HTTP",
                    default_actions=[aws.lb.ListenerDefaultActionArgs(type="redirect", redirect=redirect)],
                    tags=tags,
                    opts=opts,
                )
            )
        return listeners

    def _alias(self, name: str, alias: AliasRecordArgs, ip_address_type: str) -> None:
        target = aws.route53.RecordAliasArgs(
            name=self.load_balancer.dns_name, zone_id=self.load_balancer.zone_id, evaluate_target_health=True
        )
        for record_type in ("A", "AAAA") if ip_address_type == "dualstack" else ("A",):
            aws.route53.Record(
                f"{name}-alias-{record_type.lower()}",
                zone_id=alias.hosted_zone_id,
                name=alias.hostname,
                type=record_type,
                aliases=[target],
                opts=pulumi.ResourceOptions(parent=self),
            )


def target_group_protocol(lb_type: Literal["nlb", "alb"]) -> str:
    """The target group's protocol: HTTP behind an ALB, TCP behind an NLB (TLS ends at the load balancer)."""
    return "HTTP" if lb_type == "alb" else "TCP"


def service_url(host: str, tls: bool, port: int) -> str:
    """`https://<host>` or `http://<host>`, with `:port` unless it is the scheme's default.

    Browsers and werkzeug drop a default port, so a URL that keeps it would not match what the
    UI builds (redirect URIs, links).
    """
    scheme, default = ("https", 443) if tls else ("http", 80)
    return f"{scheme}://{host}" if port == default else f"{scheme}://{host}:{port}"
