"""Names AWS would refuse, or that would collide across accounts, are caught before any resource."""

from __future__ import annotations

from typing import Any

import pytest

from components.cluster import ClusterAccess, ClusterAccessArgs, NewClusterSpec, cluster_admin_policy_arn
from config import ConfigError, build_settings
from config.naming import aws_names, bucket_name
from tests.support import (
    AIRFLOW_ACCESS,
    CERTIFICATE_ARN,
    DR,
    DR_REGION,
    FRONT_DOOR,
    PROD_LOGIN,
    REGION,
    STACK_KEY,
    SUBNETS,
    VPC,
    make_settings,
    minimal_raw,
)


def problems(stack: str = "dev", region: str = REGION, **sections: Any) -> list[str]:
    if stack == "prod" and "airflow" not in sections:
        sections["airflow"] = {**AIRFLOW_ACCESS, "auth": PROD_LOGIN}
    with pytest.raises(ConfigError) as caught:
        build_settings(minimal_raw(**sections), stack=stack, region=region)
    return [str(p) for p in caught.value.problems]


def test_consecutive_hyphens_in_the_name_prefix_are_refused_for_rds():
    [line] = problems(namePrefix="etl--airflow")
    assert line.startswith('airflow-platform:namePrefix: given "etl--airflow"; gives RDS identifier')
    assert "consecutive hyphens" in line


DEPLOY_ROLE = "arn:aws:iam::111122223333:role/airflow-deploy-dev"


def test_node_role_name_over_iams_64_characters_names_the_cluster_key():
    long_name = "data-platform-" + "x" * 50  # a valid EKS name (<= 100), but "<name>-nodes" is 70
    cluster = {"mode": "create", "name": long_name, "create": {"adminRoleArns": [DEPLOY_ROLE]}}
    nodes, controller = problems(cluster=cluster)  # create mode installs the load balancer controller too
    for line, role in (
        (nodes, f"'{long_name}-nodes' (70 characters)"),
        (controller, f"'{long_name}-aws-lb-controller'"),
    ):
        assert line.startswith("airflow-platform:cluster.name:")
        assert role in line
        assert "IAM allows 64" in line


def test_existing_cluster_has_no_node_role_to_check():
    settings = make_settings(cluster={"mode": "existing", "name": "data-platform-" + "x" * 50})
    assert aws_names(settings).node_role is None


def test_default_bucket_names_carry_account_and_region_so_two_accounts_do_not_collide():
    settings = make_settings("prod")
    first, second = (bucket_name(settings, "dags", account) for account in ("111122223333", "444455556666"))
    assert first == "etl-airflow-dags-prod-111122223333-eu-west-1"
    assert first != second
    assert bucket_name(settings, "logs", "111122223333") == "etl-airflow-logs-prod-111122223333-eu-west-1"


def test_an_explicit_bucket_name_is_kept_as_given():
    settings = make_settings(buckets={"dagBucketName": "acme-airflow-dags"})
    assert bucket_name(settings, "dags", "111122223333") == "acme-airflow-dags"


def test_a_prefix_too_long_for_the_default_bucket_name_is_refused_with_the_way_out():
    alarms = {"alarms": {"snsTopicArn": "arn:aws:sns:ap-southeast-2:111122223333:alerts"}}
    certificate = CERTIFICATE_ARN.replace(REGION, "ap-southeast-2")
    front_door = {**FRONT_DOOR, "certificateArn": certificate}
    dr = {"region": "ap-southeast-4", "kmsKeyArn": DR["kmsKeyArn"].replace(DR_REGION, "ap-southeast-4")}
    key = {"kmsKeyArn": STACK_KEY.replace(REGION, "ap-southeast-2")}
    lines = problems(
        "prod",
        region="ap-southeast-2",
        namePrefix="a" * 30,
        database=alarms,
        frontDoor=front_door,
        dr=dr,
        encryption=key,
    )
    assert len(lines) == 5, "a 30-character prefix gives 68-character bucket names and a 35-character LB name here"
    assert any("DR replica bucket name" in line and "shorten namePrefix" in line for line in lines)
    assert all(line.startswith("airflow-platform:namePrefix:") for line in lines)
    assert any("shorten namePrefix or set buckets.dagBucketName" in line for line in lines)
    assert any("shorten namePrefix or set frontDoor.accessLogs.bucketName" in line for line in lines)
    assert any("load balancer name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-prod'" in line and "32" in line for line in lines)
    # An explicit name gets around it.
    settings = make_settings(namePrefix="a" * 20, buckets={"dagBucketName": "acme-dags", "logBucketName": "acme-logs"})
    assert bucket_name(settings, "logs", "111122223333") == "acme-logs"


def test_irsa_role_names_fit_iam_for_the_longest_accepted_prefix():
    settings = make_settings("prod", namePrefix="p" * 20)
    for name in aws_names(settings).irsa_roles.values():
        assert len(name) <= 64


def test_a_release_name_whose_services_kubernetes_would_refuse_is_refused():
    release = "r" * 53  # Helm accepts 53; "<release>-api-server" would be 64
    lines = problems(airflow={"releaseName": release})
    assert any(line.startswith("airflow-platform:airflow.releaseName:") and "63" in line for line in lines)


@pytest.mark.parametrize(
    ("region", "partition"), [("eu-west-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")]
)
def test_cluster_admin_access_policy_is_in_the_regions_partition(region, partition):
    assert cluster_admin_policy_arn(region) == (
        f"arn:{partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    )


def test_created_cluster_grants_admins_through_the_partition_aware_policy(run_components):
    def program() -> None:
        ClusterAccess(
            "cluster",
            ClusterAccessArgs(
                cluster_name="data-test",
                create=NewClusterSpec(version="1.34", admin_role_arns=("arn:aws:iam::111122223333:role/deployer",)),
                region="cn-north-1",
                vpc_id=VPC,
                private_subnet_ids=SUBNETS,
                node_role_name="data-test-nodes",
            ),
        )

    inventory = run_components(program)
    policy = inventory.one("eks:index:Cluster").inputs["accessEntries"]["admin-0"]["accessPolicies"]["cluster-admin"]
    assert policy["policyArn"].startswith("arn:aws-cn:eks::aws:")
    assert inventory.one("aws:iam/role:Role").inputs["name"] == "data-test-nodes"
