"""LogShipper: AWS for Fluent Bit, shipping one namespace's container logs to its CloudWatch log groups.

The chart (`aws-for-fluent-bit` from the eks-charts repository) runs a DaemonSet that reads the nodes'
`/var/log/containers` through a host path, which Pod Security `baseline`/`restricted` forbid: it gets a
namespace of its own. Its own inputs replace the chart's catch-all tail of every container: one tail
input per log group, restricted by file name to the Airflow namespace (`<pod>_<namespace>_<container>-<id>.log`;
the task pods' `base` container in `<namespace>-tasks` when configured),
and a multiline filter that keeps a Python traceback together with the line that logged it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi
import pulumi_kubernetes as k8s

from components.grants import Grantable
from components.irsa import IrsaRole, IrsaRoleArgs

CHART = "aws-for-fluent-bit"
CHART_REPOSITORY = "https://aws.github.io/eks-charts"
# Chart 0.2.0 ships AWS for Fluent Bit 3.2.1; the values below use that version's keys.
CHART_VERSION = "0.2.0"
SERVICE_ACCOUNT = "fluent-bit"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
CONTAINER_LOGS = "/var/log/containers"
# The kubelet's files behind /var/log/containers/*.log (symlinks into /var/log/pods/<ns>_<pod>_<uid>/<container>/).
POD_LOGS = "/var/log/pods"
# The shipper's read positions on the node: a directory per stack (host path `<STATE_ROOT>/<shipper namespace>`).
STATE_ROOT = "/var/fluent-bit/state"
MULTILINE_PARSER = "airflow_traceback"

# Lines that continue the record before them: indented traceback frames and code, the traceback's head, the
# separators of chained exceptions, the final `module.SomeError: message` line, blank lines inside a chain,
# and rich's boxed tracebacks. Everything else starts a new record.
_CONTINUATION = (
    r"^(\s|Traceback \(most recent call last\):|During handling of the above exception|"
    r"The above exception was the direct cause|[\w.]+(Error|Exception|Exit|Interrupt|Warning)(:|$)|[│╭╰]|$)"
)


class LogDestination(Protocol):
    """Log groups that can let a role write to them (`ComponentLogGroups`)."""

    def grant_write(self, role: Grantable) -> pulumi.Resource:
        """Attach the write permission to ``role``; the shipper's release waits for it."""
        ...


@dataclass(frozen=True)
class LogRoute:
    """Which containers' logs go to which log group."""

    key: str
    """Short name (the fluent-bit tag and tail-position file), e.g. `scheduler`."""
    log_group_name: str
    """The CloudWatch log group (it must exist: the shipper never creates groups)."""
    containers: Sequence[str] = ()
    """Container names routed here; empty: every other container of the namespace (the catch-all)."""
    namespace: str | None = None
    """Namespace of those containers (e.g. the task pods' `<namespace>-tasks`). Default: the source namespace."""


@dataclass(frozen=True)
class LogShipperArgs:
    """Inputs of a LogShipper: the namespace it reads, where the logs go, its own IAM identity."""

    namespace: str
    """The shipper's own namespace (created here, Pod Security `privileged` for the host path)."""
    source_namespace: str
    """The namespace whose containers are shipped (plus those a route names, e.g. the task namespace)."""
    region: str
    """Region of the log groups."""
    routes: Sequence[LogRoute]
    """One per log group; at most one catch-all (no containers), which takes what no other route does."""
    oidc_provider_arn: pulumi.Input[str]
    """ARN of the cluster's IAM OIDC provider (the IRSA trust)."""
    oidc_issuer: pulumi.Input[str]
    """The cluster's OIDC issuer, with or without `https://`."""
    role_name: str
    """IAM role name of the shipper (64 characters at most)."""
    excluded_containers: Sequence[str] = ()
    """Containers never shipped (e.g. `base`, the task pods' container, whose logs go to S3). Default: none."""
    chart_version: str = CHART_VERSION
    """Chart version; the values are written for `CHART_VERSION`. Default: `CHART_VERSION`."""
    role_permissions_boundary_arn: str | None = None
    """Permissions boundary of the role. Default: none."""
    helm_timeout_seconds: int = 300
    """How long the install may take to become ready. Default: 300."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the IAM role. Default: none."""

    def __post_init__(self) -> None:
        if self.chart_version != CHART_VERSION:
            raise ValueError(f"chart_version {self.chart_version}: the values are written for chart {CHART_VERSION}")
        keys = [route.key for route in self.routes]
        if not keys or len(set(keys)) != len(keys):
            raise ValueError(f"routes: distinct keys, at least one (given {keys})")
        catch_alls = [route for route in self.routes if not route.containers]
        if len(catch_alls) > 1 or any(route.namespace not in (None, self.source_namespace) for route in catch_alls):
            raise ValueError("routes: at most one catch-all route (without containers), in the source namespace")
        routed = [(self.namespace_of(route), c) for route in self.routes for c in route.containers]
        excluded = {(self.source_namespace, c) for c in self.excluded_containers}
        if len(set(routed)) != len(routed) or set(routed) & excluded:
            raise ValueError("routes: each container goes to one route and is not also excluded")

    def namespace_of(self, route: LogRoute) -> str:
        """The namespace a route reads."""
        return route.namespace or self.source_namespace

    @property
    def release_name(self) -> str:
        """Helm release and object names (the ClusterRole is cluster-wide: the namespace keeps it per stack)."""
        return self.namespace


def container_glob(namespace: str, container: str) -> str:
    """The kubelet's log file of a container in ``namespace``: `<pod>_<namespace>_<container>-<64 hex id>.log`.

    The first id character is matched as hex, so `scheduler` does not also take `scheduler-log-groomer`.
    """
    return f"{CONTAINER_LOGS}/*_{namespace}_{container}-[0-9a-f]*.log"


def _section(name: str, settings: Sequence[tuple[str, str]]) -> str:
    width = max(len(key) for key, _ in settings) + 2
    return "\n".join([f"[{name}]", *(f"    {key.ljust(width)}{value}" for key, value in settings)])


def _inputs(args: LogShipperArgs) -> str:
    namespace = args.source_namespace
    routed = [
        container_glob(namespace, c)
        for route in args.routes
        if args.namespace_of(route) == namespace
        for c in route.containers
    ]
    excluded = [container_glob(namespace, c) for c in args.excluded_containers]
    sections = []
    for route in args.routes:
        if route.containers:
            paths = [container_glob(args.namespace_of(route), c) for c in route.containers]
            skip = []
        else:
            paths = [f"{CONTAINER_LOGS}/*_{namespace}_*.log"]
            skip = routed + excluded
        settings = [
            ("Name", "tail"),
            ("Tag", f"{route.key}.*"),
            ("Path", ",".join(paths)),
            *([("Exclude_Path", ",".join(skip))] if skip else []),
            # The read position survives pod restarts (host path of this stack's shipper), one file per route.
            ("DB", f"{STATE_ROOT}/{route.key}.db"),
            # Re-join the lines the container runtime split (CRI partial lines, Docker's 16 KiB chunks).
            ("multiline.parser", "cri, docker"),
            ("Mem_Buf_Limit", "5MB"),
            ("Skip_Long_Lines", "On"),
            ("Refresh_Interval", "10"),
        ]
        sections.append(_section("INPUT", settings))
    return "\n".join(sections) + "\n"


def _outputs(args: LogShipperArgs) -> str:
    sections = [
        _section(
            "OUTPUT",
            [
                ("Name", "cloudwatch_logs"),
                ("Match", f"{route.key}.*"),
                ("region", args.region),
                ("log_group_name", route.log_group_name),
                # Streams are named after the container's log file (pod, namespace, container, id).
                ("log_stream_prefix", "from-"),
                ("log_key", "log"),
                ("auto_create_group", "Off"),
                ("auto_retry_requests", "On"),
            ],
        )
        for route in args.routes
    ]
    return "\n".join(sections) + "\n"


def multiline_parser() -> str:
    """A regex multiline parser: any line starts a record, continuation lines join it, the next other line
    ends it (or 2 s without a line)."""
    return _section(
        "MULTILINE_PARSER",
        [
            ("Name", MULTILINE_PARSER),
            ("Type", "regex"),
            ("Flush_Timeout", "2000"),
            ("Rule", '"start_state" "/.*/" "cont"'),
            ("Rule", f'"cont" "/{_CONTINUATION}/" "cont"'),
        ],
    )


def _filters() -> str:
    return (
        _section(
            "FILTER",
            [
                ("Name", "multiline"),
                ("Match", "*"),
                ("multiline.key_content", "log"),
                ("multiline.parser", MULTILINE_PARSER),
            ],
        )
        + "\n"
    )


def shipper_values(args: LogShipperArgs, role_arn: str) -> dict[str, Any]:
    """The chart values: the chart's own tail input, Kubernetes filter and output off; ours in their place."""
    return {
        "fullnameOverride": args.release_name,
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT, "annotations": {IRSA_ANNOTATION: role_arn}},
        "input": {"enabled": False},
        "filter": {"enabled": False},
        "cloudWatchLogs": {"enabled": False},
        "additionalInputs": _inputs(args),
        "additionalFilters": _filters(),
        "additionalOutputs": _outputs(args),
        "service": {"extraParsers": multiline_parser()},
        # Only the container logs, read-only (/var/log/containers links into /var/log/pods); the read positions in a
        # host directory of this stack's shipper, the only host path it can write.
        "volumes": [
            {"name": "container-logs", "hostPath": {"path": CONTAINER_LOGS, "type": "Directory"}},
            {"name": "pod-logs", "hostPath": {"path": POD_LOGS, "type": "Directory"}},
            {"name": "state", "hostPath": {"path": f"{STATE_ROOT}/{args.namespace}", "type": "DirectoryOrCreate"}},
        ],
        "volumeMounts": [
            {"name": "container-logs", "mountPath": CONTAINER_LOGS, "readOnly": True},
            {"name": "pod-logs", "mountPath": POD_LOGS, "readOnly": True},
            {"name": "state", "mountPath": STATE_ROOT},
        ],
        "containerSecurityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }


class LogShipper(pulumi.ComponentResource):
    """AWS for Fluent Bit in its own namespace, with its own IRSA role, writing only to its log groups.

    ``writes_to`` grants the role its write access (e.g. `ComponentLogGroups`); the release waits for it.
    """

    role_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: LogShipperArgs,
        writes_to: LogDestination,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("airflow-platform:logging:LogShipper", name, None, opts)
        self.namespace = args.namespace
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.namespace,
                labels={
                    "app.kubernetes.io/part-of": "airflow",
                    # The DaemonSet mounts host paths (the nodes' container logs): only `privileged` admits it.
                    "pod-security.kubernetes.io/enforce": "privileged",
                },
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.role = IrsaRole(
            f"{name}-irsa",
            IrsaRoleArgs(
                namespace=args.namespace,
                service_account_name=SERVICE_ACCOUNT,
                role_name=args.role_name,
                oidc_provider_arn=args.oidc_provider_arn,
                oidc_issuer=args.oidc_issuer,
                role_permissions_boundary_arn=args.role_permissions_boundary_arn,
                description=f"Log shipper of namespace {args.source_namespace}",
                tags=args.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.role_arn = self.role.arn
        grant = writes_to.grant_write(self.role)
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            k8s.helm.v3.ReleaseArgs(
                name=args.release_name,
                chart=CHART,
                version=args.chart_version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CHART_REPOSITORY),
                namespace=namespace.metadata.name,
                create_namespace=False,
                values=self.role.arn.apply(lambda arn: shipper_values(args, arn)),
                atomic=True,
                cleanup_on_fail=True,
                timeout=args.helm_timeout_seconds,
                max_history=5,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[grant]),
        )
        self.register_outputs({"roleArn": self.role_arn, "namespace": args.namespace})
