"""ClusterAccess: exec-based kubeconfig, OIDC identity and security group of an existing or new EKS cluster."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from components.cluster import ClusterAccess, ClusterAccessArgs, NewClusterSpec, exec_kubeconfig
from config import ConfigError
from offline import REPO, Inventory, offline_engine, read_stack_config, run_program
from offline.cloud import FakeCluster, OfflineCloud
from offline.engine import unwrap
from tests.support import PROJECT_PREFIX as P
from tests.support import REGION, SUBNETS, VPC, stack_inventory, stack_object, stack_settings

OVERRIDE_SG = "sg-0123456789abcdef0"
ROLE_ARN = "arn:aws:iam::111122223333:role/deployer"
PROVIDER = "pulumi:providers:kubernetes"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def fake_cloud_cluster(name: str = "data-test") -> dict[str, Any]:
    """What the offline cloud answers for `aws.eks.get_cluster` (the values the component must wire)."""
    cloud = OfflineCloud(REGION, [FakeCluster(name=name, vpc_id=VPC, subnet_ids=list(SUBNETS))])
    return cloud.describe_cluster(name)


def existing_access(**extra: Any) -> ClusterAccess:
    return ClusterAccess(
        "cluster",
        ClusterAccessArgs(cluster_name="data-test", region=REGION, vpc_id=VPC, private_subnet_ids=SUBNETS, **extra),
    )


def kubeconfig(inventory: Inventory) -> dict[str, Any]:
    return json.loads(unwrap(inventory.one(PROVIDER).inputs["kubeconfig"]))


# -- existing cluster ------------------------------------------------------------------


def test_existing_cluster_kubeconfig_execs_aws_eks_get_token(run_components: Callable[..., Inventory]) -> None:
    inventory = run_components(existing_access)
    config = kubeconfig(inventory)
    [user] = config["users"]
    assert "token" not in user["user"]
    exec_block = user["user"]["exec"]
    assert exec_block["command"] == "aws"
    assert exec_block["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    args = exec_block["args"]
    assert args[:2] == ["eks", "get-token"]
    assert args[args.index("--cluster-name") + 1] == "data-test"
    assert args[args.index("--region") + 1] == "eu-west-1"
    assert "--role-arn" not in args
    assert "token" not in json.dumps(config).replace("get-token", "")


def test_existing_cluster_kubeconfig_points_at_the_cluster_endpoint(run_components: Callable[..., Inventory]) -> None:
    info = fake_cloud_cluster()
    config = kubeconfig(run_components(existing_access))
    [cluster] = config["clusters"]
    assert cluster["cluster"]["server"] == info["endpoint"]
    assert cluster["cluster"]["certificate-authority-data"] == info["certificateAuthorities"][0]["data"]
    assert config["current-context"] == "data-test"


def test_kubeconfig_role_arn_is_passed_to_get_token(run_components: Callable[..., Inventory]) -> None:
    inventory = run_components(lambda: existing_access(kubeconfig_role_arn=ROLE_ARN))
    args = kubeconfig(inventory)["users"][0]["user"]["exec"]["args"]
    assert args[args.index("--role-arn") + 1] == ROLE_ARN


def test_existing_cluster_outputs(run_components: Callable[..., Inventory]) -> None:
    info = fake_cloud_cluster()
    seen: dict[str, Any] = {}

    def program():
        access = existing_access()

        def check(values: list) -> None:
            name, issuer, provider_arn, security_group, vpc = values
            assert name == "data-test"
            assert not issuer.startswith("https://")
            assert "https://" + issuer == info["identities"][0]["oidcs"][0]["issuer"]
            assert provider_arn == f"arn:aws:iam::111122223333:oidc-provider/{issuer}"
            assert security_group == info["vpcConfig"]["clusterSecurityGroupId"]
            assert vpc == VPC
            seen["checked"] = True

        return pulumi.Output.all(
            access.cluster_name,
            access.oidc_issuer,
            access.oidc_provider_arn,
            access.workload_security_group_id,
            access.vpc_id,
        ).apply(check)

    run_components(program)
    assert seen == {"checked": True}


def test_workload_security_group_override_is_honoured(run_components: Callable[..., Inventory]) -> None:
    seen: list[str] = []

    def program():
        return existing_access(workload_security_group_id=OVERRIDE_SG).workload_security_group_id.apply(seen.append)

    run_components(program)
    assert seen == [OVERRIDE_SG]


def test_vpc_mismatch_fails_the_run(run_components: Callable[..., Inventory]) -> None:
    elsewhere = FakeCluster(name="data-test", vpc_id="vpc-0ffffffffffffffff", subnet_ids=list(SUBNETS))
    with pytest.raises(Exception) as caught:
        run_components(lambda: existing_access().vpc_id, clusters=[elsewhere])
    message = str(caught.value).lower()
    assert "vpc" in message
    assert "vpc-0ffffffffffffffff" in message


def test_missing_cluster_fails_the_run(run_components: Callable[..., Inventory]) -> None:
    other = FakeCluster(name="someone-else", vpc_id=VPC, subnet_ids=list(SUBNETS))
    with pytest.raises(Exception) as caught:
        run_components(lambda: existing_access().cluster_name, clusters=[other])
    assert "data-test" in str(caught.value)


def test_whole_program_fails_when_the_cluster_is_in_another_vpc() -> None:
    config = read_stack_config(REPO, "prod")
    [cluster] = config.fake_clusters()
    moved = FakeCluster(name=cluster.name, vpc_id="vpc-0ffffffffffffffff", subnet_ids=cluster.subnet_ids)
    with (
        offline_engine("prod", config.values, config.secret_keys, [moved], config.region) as inventory,
        pytest.raises(Exception) as caught,
    ):
        run_program(inventory)
    message = str(caught.value)
    assert "airflow-platform:network.vpcId is vpc-0f1e2d3c4b5a69788" in message
    assert "vpc-0ffffffffffffffff" in message
    assert not inventory.of_type("aws:rds/instance:Instance")


@pytest.mark.parametrize("stack", ["uat", "prod"])
def test_existing_stacks_register_no_cluster_resources(stack: str) -> None:
    inventory = stack_inventory(stack)
    assert not inventory.of_type("eks:index:Cluster")
    assert not inventory.of_type("eks:index:ManagedNodeGroup")
    args = json.loads(inventory.one(PROVIDER).inputs["kubeconfig"])["users"][0]["user"]["exec"]["args"]
    assert args[args.index("--cluster-name") + 1] == stack_settings(stack).cluster.name


def test_exec_kubeconfig_is_deterministic_and_tokenless() -> None:
    first = exec_kubeconfig("c", "https://endpoint", "Q0E=", "eu-west-1")
    assert first == exec_kubeconfig("c", "https://endpoint", "Q0E=", "eu-west-1")
    user = json.loads(first)["users"][0]["user"]
    assert set(user) == {"exec"}
    assert user["exec"]["interactiveMode"] == "Never"


# -- create mode (the dev stack) ---------------------------------------------------------


def eks_cluster() -> dict[str, Any]:
    return stack_inventory("dev").one("eks:index:Cluster").inputs


def test_created_cluster_uses_api_auth_and_oidc() -> None:
    cluster = eks_cluster()
    assert cluster["name"] == "data-dev"
    assert cluster["authenticationMode"] == "API"
    assert cluster["createOidcProvider"] is True
    assert cluster["skipDefaultNodeGroup"] is True


def test_created_cluster_is_in_the_stack_network() -> None:
    settings = stack_settings("dev")
    cluster = eks_cluster()
    assert cluster["vpcId"] == settings.network.vpc_id
    assert cluster["privateSubnetIds"] == settings.network.private_subnet_ids
    assert cluster["endpointPrivateAccess"] is True


def test_created_cluster_public_endpoint_is_restricted() -> None:
    cluster = eks_cluster()
    assert cluster["endpointPublicAccess"] is True
    assert cluster["publicAccessCidrs"] == ["198.51.100.0/24"]
    assert "0.0.0.0/0" not in cluster["publicAccessCidrs"]


def test_created_cluster_is_a_child_of_cluster_access() -> None:
    inventory = stack_inventory("dev")
    parent = inventory.by_urn(inventory.one("eks:index:Cluster").parent)
    assert parent is not None and parent.type == "airflow-platform:cluster:ClusterAccess"


def test_managed_node_group_scaling_comes_from_config() -> None:
    nodes = stack_settings("dev").cluster.create_settings.node_group
    group = stack_inventory("dev").one("eks:index:ManagedNodeGroup").inputs
    assert group["scalingConfig"] == {"minSize": nodes.min_size, "desiredSize": nodes.desired_size, "maxSize": 4}
    assert (nodes.min_size, nodes.desired_size, nodes.max_size) == (2, 2, 4)
    assert group["instanceTypes"] == ["m6i.large"]
    assert group["capacityType"] == "ON_DEMAND"
    assert group["subnetIds"] == stack_settings("dev").network.private_subnet_ids


def test_node_group_uses_the_created_cluster_and_node_role() -> None:
    inventory = stack_inventory("dev")
    group = inventory.one("eks:index:ManagedNodeGroup").inputs
    assert group["cluster"] == inventory.one("eks:index:Cluster").urn
    assert group["nodeRole"] == inventory.one("aws:iam/role:Role", "cluster-node-role").urn


def test_node_role_has_the_three_managed_policies() -> None:
    inventory = stack_inventory("dev")
    role = inventory.one("aws:iam/role:Role", "cluster-node-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    attached = {
        a.inputs["policyArn"]
        for a in inventory.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.inputs["role"] == role.inputs["name"]
    }
    assert attached == {
        "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
        "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    }


def test_created_cluster_kubeconfig_feeds_the_provider() -> None:
    inventory = stack_inventory("dev")
    config = json.loads(unwrap(inventory.one(PROVIDER).inputs["kubeconfig"]))
    assert config["current-context"] == "data-dev"
    assert "token" not in config["users"][0]["user"]


def test_admin_roles_get_cluster_admin_access_entries(run_components: Callable[..., Inventory]) -> None:
    def program():
        ClusterAccess(
            "cluster",
            ClusterAccessArgs(
                cluster_name="data-test",
                region=REGION,
                vpc_id=VPC,
                private_subnet_ids=SUBNETS,
                create=NewClusterSpec(version="1.34", admin_role_arns=(ROLE_ARN,)),
            ),
        )

    cluster = run_components(program).one("eks:index:Cluster").inputs
    entry = cluster["accessEntries"]["admin-0"]
    assert entry["principalArn"] == ROLE_ARN
    policy = entry["accessPolicies"]["cluster-admin"]
    assert policy["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert policy["accessScope"] == {"type": "cluster"}
    assert cluster.get("endpointPublicAccess") is False


def test_kubernetes_provider_waits_for_the_node_group_of_a_created_cluster() -> None:
    inventory = stack_inventory("dev")
    (node_group,) = inventory.of_type("eks:index:ManagedNodeGroup")
    assert node_group.urn in inventory.one(PROVIDER).dependencies
    assert stack_inventory("prod").one(PROVIDER).dependencies == []  # existing cluster: nothing to wait for


def test_a_created_cluster_enforces_network_policies() -> None:
    """Without the VPC CNI's network-policy agent, every NetworkPolicy the chart renders admits everything."""
    cluster = stack_inventory("dev").one("eks:index:Cluster").inputs
    assert cluster["vpcCniOptions"]["enableNetworkPolicy"] is True


def test_a_created_cluster_names_its_admins_besides_the_creator() -> None:
    """The first `pulumi up` from CI after one from a laptop is not Unauthorized: CI's deploy role has an entry."""
    roles = stack_settings("dev").cluster.create_settings.admin_role_arns
    assert roles == ["arn:aws:iam::111122223333:role/airflow-deploy-dev"]
    entries = eks_cluster()["accessEntries"]
    assert [entry["principalArn"] for entry in entries.values()] == roles
    cluster = {**stack_object("dev", "cluster")}
    cluster["create"] = {k: v for k, v in cluster["create"].items() if k != "adminRoleArns"}
    with pytest.raises(ConfigError) as caught:
        stack_settings("dev", {P + "cluster": cluster})
    [problem] = caught.value.problems
    assert problem.key == "cluster.create.adminRoleArns"
    assert "CI's deploy role after a laptop" in problem.message and "gets Unauthorized" in problem.message


def test_a_created_cluster_gets_a_pinned_metrics_server_for_the_hpa() -> None:
    inventory = stack_inventory("dev")
    release = inventory.one(HELM_RELEASE, "cluster-metrics-server")
    inputs = unwrap(release.inputs)
    assert (inputs["chart"], inputs["version"], inputs["namespace"]) == ("metrics-server", "3.13.0", "kube-system")
    assert inputs["repositoryOpts"] == {"repo": "https://kubernetes-sigs.github.io/metrics-server/"}
    assert release.provider.startswith(inventory.one(PROVIDER).urn)  # installed in the created cluster
    for stack in ("uat", "prod"):  # existing clusters bring their own (a stated prerequisite)
        assert not [r for r in stack_inventory(stack).of_type(HELM_RELEASE) if r.name == "cluster-metrics-server"]
