"""The EKS cluster: exists (or its name is free to create), its version and VPC, OIDC provider, access, controller."""

from __future__ import annotations

import urllib.error
from typing import Any

from config.naming import installs_lb_controller
from preflight.context import Context
from preflight.kube import cluster_api
from preflight.result import Check, failed, passed

CONTROLLER_PATH = "/apis/apps/v1/namespaces/kube-system/deployments/aws-load-balancer-controller"
MIN_KUBERNETES = (1, 30)  # the README's minimum for an existing cluster


def check_cluster(ctx: Context) -> list[Check]:
    """Create mode: the name is free. Existing: active, in network.vpcId, OIDC provider, caller access, controller."""
    name = ctx.settings.cluster.name
    cluster = ctx.cluster
    if ctx.settings.cluster.mode == "create":
        if cluster is None:
            return [passed(f"EKS cluster name {name} is free (this stack creates it)")]
        return [
            failed(
                f"EKS cluster name {name} is free (it exists)", "set cluster.mode: existing, or another cluster.name"
            )
        ]
    if cluster is None:
        return [
            failed(f"EKS cluster {name} exists in {ctx.settings.aws_region}", "create it first, or set cluster.name")
        ]
    version, status = cluster.get("version"), cluster.get("status")
    vpc = _vpc_of(ctx, cluster)
    checks = [
        passed(f"EKS cluster {name} exists: Kubernetes {version}, {status}")
        if status == "ACTIVE"
        else failed(f"EKS cluster {name} is ACTIVE (it is {status})", "wait for the cluster's update to finish")
    ]
    checks.append(
        passed(f"cluster {name} is in VPC {vpc}")
        if vpc == ctx.settings.network.vpc_id
        else failed(f"cluster {name} is in network.vpcId (it is in {vpc})", f"set network.vpcId: {vpc}")
    )
    checks.append(_version(name, str(version)))
    return [*checks, _oidc(ctx, cluster), _access(ctx, cluster)]


def _version(name: str, version: str) -> Check:
    minimum = ".".join(map(str, MIN_KUBERNETES))
    try:
        ok = tuple(int(part) for part in version.split(".")[:2]) >= MIN_KUBERNETES
    except ValueError:
        ok = False
    if ok:
        return passed(f"cluster {name} runs Kubernetes {version} (≥ {minimum})")
    return failed(
        f"cluster {name} runs Kubernetes ≥ {minimum} (it runs {version})",
        f"aws eks update-cluster-version --name {name} --kubernetes-version <next minor>, one minor at a time",
    )


def _vpc_of(ctx: Context, cluster: dict[str, Any]) -> str | None:
    """The cluster's VPC: as EKS reports it, else that of its subnets."""
    config = cluster.get("resourcesVpcConfig", {})
    if config.get("vpcId") or not config.get("subnetIds"):
        return config.get("vpcId")
    return ctx.client("ec2").describe_subnets(SubnetIds=config["subnetIds"][:1])["Subnets"][0]["VpcId"]


def _oidc(ctx: Context, cluster: dict[str, Any]) -> Check:
    issuer = str(cluster.get("identity", {}).get("oidc", {}).get("issuer", ""))
    host_path = issuer.removeprefix("https://")
    providers = ctx.client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]
    if host_path and any(p["Arn"].endswith(f":oidc-provider/{host_path}") for p in providers):
        return passed(f"the cluster's OIDC provider is associated ({host_path})")
    return failed(
        "the cluster's OIDC provider is associated (IRSA needs it)",
        f"eksctl utils associate-iam-oidc-provider --cluster {ctx.settings.cluster.name} --approve",
    )


def role_name(arn: str) -> str | None:
    """The role name of an IAM role ARN (a path, such as SSO's `aws-reserved/sso.amazonaws.com/<region>/`,
    dropped: names are unique in an account whatever the path), else None."""
    _, _, resource = arn.partition(":role/")
    return resource.rsplit("/", 1)[-1] if resource and ":iam:" in arn else None


def matching_entry(principal: str, entries: list[str]) -> str | None:
    """The access entry naming the caller's principal: the same ARN, or the same role of the same account under
    any path (STS session ARNs carry no path; the entry names the role with it)."""
    if principal in entries:
        return principal
    name, account = role_name(principal), principal.split(":")[4] if principal.count(":") >= 5 else ""
    for entry in entries:
        if name and role_name(entry) == name and entry.split(":")[4] == account:
            return entry
    return None


def principal_arn(caller_arn: str) -> str:
    """The IAM principal behind the caller: an assumed role's role ARN (access entries name roles, not sessions)."""
    if ":assumed-role/" not in caller_arn:
        return caller_arn
    head, rest = caller_arn.split(":assumed-role/", 1)
    return f"{head.replace(':sts:', ':iam:')}:role/{rest.split('/')[0]}"


def _access(ctx: Context, cluster: dict[str, Any]) -> Check:
    name = ctx.settings.cluster.name
    mode = cluster.get("accessConfig", {}).get("authenticationMode", "CONFIG_MAP")
    if not mode.startswith("API"):
        return failed(
            f"cluster {name} takes access entries (authentication mode is {mode})",
            f"aws eks update-cluster-config --name {name} --access-config authenticationMode=API_AND_CONFIG_MAP",
        )
    principal = principal_arn(ctx.identity["Arn"])
    eks = ctx.client("eks")
    entries = eks.list_access_entries(clusterName=name)["accessEntries"]
    entry = matching_entry(principal, entries)
    if entry is not None:
        policies = eks.list_associated_access_policies(clusterName=name, principalArn=entry)
        if policies.get("associatedAccessPolicies"):
            listed = ", ".join(sorted(p["policyArn"].rsplit("/", 1)[-1] for p in policies["associatedAccessPolicies"]))
            return passed(f"{entry} has an access entry on cluster {name} ({listed})")
        return failed(
            f"{entry} has an access entry on cluster {name} with an access policy (it has none)",
            f"aws eks associate-access-policy --cluster-name {name} --principal-arn {entry} --policy-arn "
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy --access-scope type=cluster "
            "(or bind the entry's Kubernetes groups with RBAC yourself)",
        )
    return failed(
        f"{principal} has an access entry on cluster {name}",
        f"aws eks create-access-entry --cluster-name {name} --principal-arn {principal}, then associate "
        "AmazonEKSClusterAdminPolicy (or a namespace-scoped policy) with aws eks associate-access-policy",
    )


def check_lb_controller(ctx: Context) -> list[Check]:
    """The AWS Load Balancer Controller runs in kube-system, unless this stack installs it."""
    if installs_lb_controller(ctx.settings):
        return [passed("AWS Load Balancer Controller: installed by this stack (frontDoor.controller.install)")]
    if ctx.cluster is None:
        return [failed("AWS Load Balancer Controller runs (no cluster to look in)", "see the cluster check above")]
    fix = "install it (eks-charts aws-load-balancer-controller) or set frontDoor.controller.install: true"
    try:
        deployment = (ctx.kube or cluster_api)(ctx).get(CONTROLLER_PATH)
    except urllib.error.HTTPError as error:
        if error.code in (401, 403):
            return [
                failed(
                    f"AWS Load Balancer Controller runs (cluster API: not authorized, HTTP {error.code})",
                    "give this identity an access entry with an access policy (see the access check above)",
                )
            ]
        return [failed(f"AWS Load Balancer Controller runs (cluster API answered HTTP {error.code})", str(error))]
    except (urllib.error.URLError, OSError) as error:
        return [
            failed(
                f"AWS Load Balancer Controller runs (cluster API unreachable: {error})",
                "run preflight from inside the VPC",
            )
        ]
    if deployment is None:
        return [failed("AWS Load Balancer Controller runs in kube-system (not found)", fix)]
    ready = int(deployment.get("status", {}).get("readyReplicas") or 0)
    if ready:
        return [passed(f"AWS Load Balancer Controller runs in kube-system ({ready} ready)")]
    return [
        failed(
            "AWS Load Balancer Controller runs in kube-system (0 ready)",
            "kubectl -n kube-system describe deployment aws-load-balancer-controller",
        )
    ]
