"""ClusterAccess: the EKS cluster Airflow runs on, found by name or created with pulumi-eks.

Both modes expose the same small interface: cluster name, OIDC provider ARN and issuer
(for IRSA), the security group of pods/nodes (for the DB), the VPC id, and a Kubernetes
provider whose credentials come from `aws eks get-token` at run time (no token in state).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from components.common import issuer_host, partition, service_role, tagged
from components.connections import Connections

NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly")
# metrics-server serves the resource metrics API that HorizontalPodAutoscalers read (pod CPU); EKS
# does not install it. The Kubernetes SIG's own chart, pinned (chart 3.13.0 = metrics-server 0.8.0).
METRICS_SERVER_CHART = "metrics-server"
METRICS_SERVER_REPOSITORY = "https://kubernetes-sigs.github.io/metrics-server/"
METRICS_SERVER_CHART_VERSION = "3.13.0"


def cluster_admin_policy_arn(region: str) -> str:
    """EKS's AmazonEKSClusterAdminPolicy access policy in the region's partition."""
    return f"arn:{partition(region)}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


@dataclass(frozen=True)
class ManagedNodeGroupSpec:
    """The managed node group of a cluster this component creates."""

    instance_types: Sequence[str] = ("m6i.large",)
    """EC2 instance types. Default: m6i.large."""
    capacity_type: str = "ON_DEMAND"
    """ON_DEMAND or SPOT. Default: ON_DEMAND."""
    min_size: int = 2
    """Default: 2."""
    desired_size: int = 2
    """Default: 2."""
    max_size: int = 4
    """Default: 4."""
    disk_size_gib: int = 50
    """Root volume size. Default: 50 GiB."""


@dataclass(frozen=True)
class NewClusterSpec:
    """An EKS cluster to create (pulumi-eks), private by default."""

    version: str
    """Kubernetes minor version, e.g. 1.34."""
    node_group: ManagedNodeGroupSpec = field(default_factory=ManagedNodeGroupSpec)
    """Its managed node group. Default: 2-4 m6i.large on-demand nodes."""
    endpoint_public_access: bool = False
    """Expose the API endpoint publicly. Default: private only."""
    public_access_cidrs: Sequence[str] = ()
    """CIDRs allowed to a public endpoint. Default: none."""
    admin_role_arns: Sequence[str] = ()
    """IAM roles granted cluster-admin through access entries, besides the creator (EKS makes it admin
    itself; listing it too is refused as a duplicate entry). Default: none."""
    metrics_server_chart_version: str | None = METRICS_SERVER_CHART_VERSION
    """metrics-server chart installed in kube-system (HPAs need it); None: none. Default: `METRICS_SERVER_CHART_VERSION`."""


@dataclass(frozen=True)
class ClusterAccessArgs:
    """Inputs of ClusterAccess: the cluster by name, or the spec of a new one."""

    cluster_name: str
    """EKS cluster name."""
    region: str
    """AWS region."""
    vpc_id: str
    """VPC of the cluster (an existing cluster must be in it)."""
    private_subnet_ids: Sequence[str]
    """Private subnets (a new cluster's control plane ENIs and nodes)."""
    create: NewClusterSpec | None = None
    """Create the cluster. Default: look up an existing one."""
    node_role_name: str | None = None
    """Name of a new cluster's node role. Default: auto-named."""
    workload_security_group_id: str | None = None
    """Security group of the pods/nodes. Default: the EKS cluster security group."""
    kubeconfig_role_arn: str | None = None
    """Role `aws eks get-token` assumes. Default: the caller's credentials."""
    kms_key_arn: str | None = None
    """Customer KMS key for a new cluster's secrets encryption. Default: none."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of every AWS resource. Default: none."""


def exec_kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str, role_arn: str | None = None) -> str:
    """Kubeconfig whose user runs `aws eks get-token`, so no short-lived token is stored."""
    args = ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"]
    if role_arn:
        args += ["--role-arn", role_arn]
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}
            ],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "current-context": cluster_name,
            "users": [
                {
                    "name": cluster_name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": args,
                            "interactiveMode": "Never",
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )


def _same_vpc(expected: str) -> Callable[[str], str]:
    def check(actual: str) -> str:
        if actual != expected:
            raise ValueError(
                f"airflow-platform:network.vpcId is {expected} but the EKS cluster is in {actual}; "
                "the DB and cluster must share a VPC"
            )
        return actual

    return check


class ClusterAccess(pulumi.ComponentResource):
    """Access to the EKS cluster: IRSA identity, workload security group and a k8s provider."""

    cluster_name: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    workload_security_group_id: pulumi.Output[str]
    vpc_id: pulumi.Output[str]
    provider: k8s.Provider

    def __init__(self, name: str, args: ClusterAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-platform:cluster:ClusterAccess", name, None, opts)
        # In create mode, nothing may be installed on the cluster before it has nodes.
        self._node_group: eks.ManagedNodeGroup | None = None
        kubeconfig = self._existing(args) if args.create is None else self._create(name, args, args.create)
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self._node_group] if self._node_group else []),
        )
        # A cluster this component creates gets metrics-server; an existing one must already run it.
        self.metrics_server: k8s.helm.v3.Release | None = None
        if args.create is not None and args.create.metrics_server_chart_version:
            self.metrics_server = self._metrics_server(name, args.create.metrics_server_chart_version)
        # Pods and nodes: other components admit them (`database.connections.allow_from(...)`), and
        # a load balancer is admitted to them with `cluster.workloads.allow_from(...)`.
        self.workloads = Connections(self, f"{name}-workloads", self.workload_security_group_id, tags=args.tags)
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "oidcProviderArn": self.oidc_provider_arn,
                "oidcIssuer": self.oidc_issuer,
                "workloadSecurityGroupId": self.workload_security_group_id,
                "vpcId": self.vpc_id,
            }
        )

    def _metrics_server(self, name: str, version: str) -> k8s.helm.v3.Release:
        return k8s.helm.v3.Release(
            f"{name}-metrics-server",
            k8s.helm.v3.ReleaseArgs(
                name=METRICS_SERVER_CHART,
                chart=METRICS_SERVER_CHART,
                version=version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=METRICS_SERVER_REPOSITORY),
                namespace="kube-system",
                create_namespace=False,
                atomic=True,
                cleanup_on_fail=True,
                timeout=600,
                max_history=5,
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider),
        )

    def _existing(self, args: ClusterAccessArgs) -> pulumi.Output[str]:
        cfg = args
        invoke = pulumi.InvokeOutputOptions(parent=self)
        info = aws.eks.get_cluster_output(name=cfg.cluster_name, opts=invoke)
        issuer_url = info.identities[0].oidcs[0].issuer
        self.cluster_name = info.name
        self.oidc_issuer = issuer_url.apply(issuer_host)
        self.oidc_provider_arn = aws.iam.get_open_id_connect_provider_output(url=issuer_url, opts=invoke).arn
        self.vpc_id = info.vpc_config.vpc_id.apply(_same_vpc(args.vpc_id))
        self.workload_security_group_id = (
            pulumi.Output.from_input(cfg.workload_security_group_id)
            if cfg.workload_security_group_id
            else info.vpc_config.cluster_security_group_id
        )
        return pulumi.Output.all(info.endpoint, info.certificate_authorities[0].data).apply(
            lambda v: exec_kubeconfig(cfg.cluster_name, v[0], v[1], args.region, cfg.kubeconfig_role_arn)
        )

    def _create(self, name: str, args: ClusterAccessArgs, create: NewClusterSpec) -> pulumi.Output[str]:
        cfg = args
        access_entries = {
            f"admin-{index}": eks.AccessEntryArgs(
                principal_arn=arn,
                access_policies={
                    "cluster-admin": eks.AccessPolicyAssociationArgs(
                        policy_arn=cluster_admin_policy_arn(args.region),
                        access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    )
                },
            )
            for index, arn in enumerate(create.admin_role_arns)
        }
        cluster = eks.Cluster(
            f"{name}-eks",
            eks.ClusterArgs(
                name=cfg.cluster_name,
                version=create.version,
                vpc_id=args.vpc_id,
                private_subnet_ids=list(args.private_subnet_ids),
                endpoint_private_access=True,
                endpoint_public_access=create.endpoint_public_access,
                public_access_cidrs=list(create.public_access_cidrs) or None,
                create_oidc_provider=True,
                authentication_mode=eks.AuthenticationMode.API,
                access_entries=access_entries or None,
                skip_default_node_group=True,
                skip_default_security_groups=True,
                enabled_cluster_log_types=["api", "audit", "authenticator"],
                encryption_config_key_arn=args.kms_key_arn,
                # The VPC CNI enforces NetworkPolicies only when asked to; without this the chart's
                # policies (and ours) would render and admit everything.
                vpc_cni_options=eks.VpcCniOptionsArgs(enable_network_policy=True),
                provider_credential_opts=eks.KubeconfigOptionsArgs(role_arn=cfg.kubeconfig_role_arn)
                if cfg.kubeconfig_role_arn
                else None,
                tags=tagged(args.tags, cfg.cluster_name),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        node_role, attachments = service_role(
            self,
            f"{name}-node",
            role_name=args.node_role_name,
            service="ec2.amazonaws.com",
            managed_policies={policy: policy for policy in NODE_POLICIES},
            region=args.region,
            tags=args.tags,
        )
        nodes = create.node_group
        self._node_group = eks.ManagedNodeGroup(
            f"{name}-nodes",
            cluster=cluster,
            node_role=node_role,
            subnet_ids=list(args.private_subnet_ids),
            instance_types=list(nodes.instance_types),
            capacity_type=nodes.capacity_type,
            disk_size=nodes.disk_size_gib,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=nodes.min_size, desired_size=nodes.desired_size, max_size=nodes.max_size
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=attachments),
        )
        self.cluster_name = pulumi.Output.from_input(cfg.cluster_name)
        self.oidc_provider_arn = cluster.oidc_provider_arn
        self.oidc_issuer = cluster.oidc_issuer
        self.vpc_id = pulumi.Output.from_input(args.vpc_id)
        self.workload_security_group_id = (
            pulumi.Output.from_input(cfg.workload_security_group_id)
            if cfg.workload_security_group_id
            else cluster.cluster_security_group_id
        )
        return cluster.kubeconfig_json
