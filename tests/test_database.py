"""The RDS metadata database: encryption, HA per env, TLS, network isolation, secrets, alarms, protection."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from urllib.parse import quote

import pulumi
import pytest

from capacity.connections import effective_max_connections
from capacity.rds import GIB, default_max_connections, instance_class_problem, instance_memory_gib
from components.common import Protection, metadata_uri
from components.database import DatabaseAlarms, MetadataDatabase, MetadataDatabaseArgs, PostgresInstance
from offline import REPO, Inventory, read_stack_config
from offline.cloud import OfflineCloud
from offline.engine import is_secret_value, unwrap
from offline.report import render_json
from tests.support import REGION, STACKS, SUBNETS, VPC, name_stem, stack_inventory, stack_settings

RDS = "aws:rds/instance:Instance"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
STATEFUL = (
    RDS,
    "aws:rds/subnetGroup:SubnetGroup",
    "aws:rds/parameterGroup:ParameterGroup",
    "aws:ec2/securityGroup:SecurityGroup",
    INGRESS,
    "random:index/randomPassword:RandomPassword",
)
CLIENT_SG = "sg-0123456789abcdef0"


def instance(stack: str) -> dict:
    return stack_inventory(stack).one(RDS).inputs


def password(stack: str) -> str:
    return unwrap(instance(stack)["password"])


# -- instance --------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_storage_is_encrypted_gp3_and_autoscales(stack: str) -> None:
    db = instance(stack)
    assert db["storageEncrypted"] is True
    assert db["storageType"] == "gp3"
    assert db["maxAllocatedStorage"] > db["allocatedStorage"]


@pytest.mark.parametrize("stack", ["uat", "prod"])
def test_customer_kms_key_encrypts_storage_and_performance_insights(stack: str) -> None:
    key = stack_settings(stack).encryption.kms_key_arn
    assert key and key.startswith("arn:aws:kms:eu-west-1:")
    db = instance(stack)
    assert db["kmsKeyId"] == key
    assert db["performanceInsightsKmsKeyId"] == key


def test_dev_uses_the_aws_managed_key() -> None:
    assert instance("dev").get("kmsKeyId") is None


@pytest.mark.parametrize("stack", STACKS)
def test_instance_is_private(stack: str) -> None:
    db = instance(stack)
    assert db["publiclyAccessible"] is False
    assert db["iamDatabaseAuthenticationEnabled"] is False


def test_prod_is_multi_az_and_dev_is_not() -> None:
    assert instance("prod")["multiAz"] is True
    assert instance("uat")["multiAz"] is False
    assert instance("dev")["multiAz"] is False


def test_prod_has_deletion_protection_and_a_final_snapshot() -> None:
    db = instance("prod")
    assert db["deletionProtection"] is True
    assert db["skipFinalSnapshot"] is False
    assert db["finalSnapshotIdentifier"] == "etl-airflow-prod-metadata-final"
    assert db["deleteAutomatedBackups"] is False
    assert db["backupRetentionPeriod"] >= 7


def test_dev_skips_the_final_snapshot() -> None:
    db = instance("dev")
    assert db["skipFinalSnapshot"] is True
    assert db["deletionProtection"] is False
    assert db.get("finalSnapshotIdentifier") is None


@pytest.mark.parametrize("stack", STACKS)
def test_operational_settings(stack: str) -> None:
    db = instance(stack)
    assert db["engine"] == "postgres"
    assert db["engineVersion"] == "17"
    assert db["port"] == 5432
    assert db["performanceInsightsEnabled"] is True
    assert db["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert db["autoMinorVersionUpgrade"] is True
    assert db["allowMajorVersionUpgrade"] is False
    assert db["copyTagsToSnapshot"] is True
    assert db["backupWindow"] == "01:00-02:00"
    assert db["maintenanceWindow"] == "sun:03:00-sun:04:00"
    assert db["identifier"] == f"{name_stem(stack)}-metadata"


def test_prod_monitoring_role_is_trusted_by_rds_monitoring() -> None:
    inventory = stack_inventory("prod")
    db = instance("prod")
    assert db["monitoringInterval"] == 15
    [role] = [r for r in inventory.of_type("aws:iam/role:Role") if r.name == "metadata-db-monitoring-role"]
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "monitoring.rds.amazonaws.com"}}
    ]
    assert db["monitoringRoleArn"] == f"arn:aws:iam::111122223333:role/{role.inputs['name']}"
    attachment = inventory.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "metadata-db-monitoring-policy")
    assert attachment.inputs["policyArn"].endswith(":policy/service-role/AmazonRDSEnhancedMonitoringRole")
    assert attachment.inputs["role"] == role.inputs["name"]


def test_dev_has_no_monitoring_role() -> None:
    inventory = stack_inventory("dev")
    db = instance("dev")
    assert db["monitoringInterval"] == 0
    assert db.get("monitoringRoleArn") is None
    assert not [r for r in inventory.of_type("aws:iam/role:Role") if "monitoring" in r.name]


# -- parameter group and network -----------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_parameter_group_forces_tls(stack: str) -> None:
    inventory = stack_inventory(stack)
    group = inventory.one("aws:rds/parameterGroup:ParameterGroup")
    assert group.inputs["family"] == "postgres17"
    parameters = {p["name"]: p["value"] for p in group.inputs["parameters"]}
    assert parameters["rds.force_ssl"] == "1"
    assert instance(stack)["parameterGroupName"].startswith(group.name)


@pytest.mark.parametrize("stack", STACKS)
def test_subnet_group_uses_the_stack_subnets(stack: str) -> None:
    group = stack_inventory(stack).one("aws:rds/subnetGroup:SubnetGroup")
    assert group.inputs["subnetIds"] == stack_settings(stack).network.private_subnet_ids
    assert instance(stack)["dbSubnetGroupName"] == group.inputs["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_ingress_only_from_the_workload_security_group(stack: str) -> None:
    inventory = stack_inventory(stack)
    [rule] = [r for r in inventory.of_type(INGRESS) if r.parent.endswith("::metadata-db")]
    assert rule.inputs["referencedSecurityGroupId"].startswith("sg-")
    assert "cidrIpv4" not in rule.inputs
    assert "cidrIpv6" not in rule.inputs
    assert "prefixListId" not in rule.inputs
    assert rule.inputs["ipProtocol"] == "tcp"
    assert rule.inputs["fromPort"] == 5432
    assert rule.inputs["toPort"] == 5432
    assert instance(stack)["vpcSecurityGroupIds"] == [rule.inputs["securityGroupId"]]


@pytest.mark.parametrize("stack", ["uat", "prod"])
def test_ingress_references_the_existing_cluster_security_group(stack: str) -> None:
    config = read_stack_config(REPO, stack)
    cloud = OfflineCloud(REGION, config.fake_clusters())
    cluster_sg = cloud.describe_cluster(stack_settings(stack).cluster.name)["vpcConfig"]["clusterSecurityGroupId"]
    rule = stack_inventory(stack).one(INGRESS, "metadata-db-from-workloads")
    assert rule.inputs["referencedSecurityGroupId"] == cluster_sg


@pytest.mark.parametrize("stack", STACKS)
def test_security_group_is_in_the_stack_vpc(stack: str) -> None:
    group = stack_inventory(stack).one("aws:ec2/securityGroup:SecurityGroup", "metadata-db-sg")
    assert group.inputs["vpcId"] == stack_settings(stack).network.vpc_id
    assert not group.inputs.get("ingress")


@pytest.mark.parametrize("stack", STACKS)
def test_no_ingress_anywhere_is_open_to_the_world(stack: str) -> None:
    for resource in stack_inventory(stack).resources:
        if "ecurityGroup" in resource.type:
            text = json.dumps(resource.inputs)
            assert "0.0.0.0/0" not in text, resource.name
            assert "::/0" not in text, resource.name


# -- secrets -----------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_password_input_is_a_secret(stack: str) -> None:
    assert is_secret_value(instance(stack)["password"])
    assert len(password(stack)) == 32


def plaintext_paths(value: object, needle: str, path: str = "") -> list[str]:
    """Where ``needle`` occurs in inputs outside a secret wrapper."""
    if is_secret_value(value):
        return []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in plaintext_paths(v, needle, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in plaintext_paths(v, needle, f"{path}[{i}]")]
    return [path] if isinstance(value, str) and needle in value else []


@pytest.mark.parametrize("stack", STACKS)
def test_password_never_appears_in_plain_inputs(stack: str) -> None:
    secret = password(stack)
    leaks = [
        f"{r.type} {r.name}{path}"
        for r in stack_inventory(stack).resources
        for path in plaintext_paths(r.inputs, secret)
    ]
    assert leaks == []


@pytest.mark.parametrize("stack", STACKS)
def test_no_output_or_plan_json_contains_the_password(stack: str) -> None:
    inventory = stack_inventory(stack)
    secret = password(stack)
    assert secret not in json.dumps(inventory.outputs, default=str)
    assert secret not in render_json(stack, inventory)


# -- alarms ------------------------------------------------------------------------------


def alarms(stack: str) -> dict[str, dict]:
    return {
        a.inputs["metricName"]: a.inputs
        for a in stack_inventory(stack).of_type(ALARM)
        if a.inputs["namespace"] == "AWS/RDS"
    }


@pytest.mark.parametrize("stack", STACKS)
def test_three_alarms_on_the_instance(stack: str) -> None:
    found = alarms(stack)
    assert set(found) == {"CPUUtilization", "FreeStorageSpace", "DatabaseConnections"}
    for alarm in found.values():
        assert alarm["namespace"] == "AWS/RDS"
        assert alarm["dimensions"] == {"DBInstanceIdentifier": f"{name_stem(stack)}-metadata"}


def test_prod_alarms_notify_the_sns_topic() -> None:
    topic = "arn:aws:sns:eu-west-1:111122223333:data-platform-alerts-prod"
    for alarm in alarms("prod").values():
        assert alarm["alarmActions"] == [topic]
        assert alarm["okActions"] == [topic]


def test_dev_alarms_have_no_actions() -> None:
    for alarm in alarms("dev").values():
        assert alarm["alarmActions"] == []
        assert alarm["okActions"] == []


def test_alarm_thresholds_follow_the_profile_and_instance_class() -> None:
    found = alarms("prod")
    assert found["CPUUtilization"]["threshold"] == 80
    assert found["FreeStorageSpace"]["threshold"] == 20 * GIB
    assert found["FreeStorageSpace"]["comparisonOperator"] == "LessThanThreshold"
    assert found["DatabaseConnections"]["threshold"] == default_max_connections("db.r6g.xlarge") * 80 // 100


# -- protection --------------------------------------------------------------------------


def db_resources(stack: str) -> list:
    return [r for r in stack_inventory(stack).resources if r.type in STATEFUL and r.parent.endswith("::metadata-db")]


def test_prod_database_resources_are_protected() -> None:
    resources = db_resources("prod")
    assert len(resources) == len(STATEFUL)
    assert all(r.protect and not r.retain_on_delete for r in resources)


def test_uat_database_resources_are_retained_on_delete() -> None:
    resources = db_resources("uat")
    assert len(resources) == len(STATEFUL)
    assert all(r.retain_on_delete and not r.protect for r in resources)


def test_dev_database_resources_are_disposable() -> None:
    resources = db_resources("dev")
    assert len(resources) == len(STATEFUL)
    assert not any(r.protect or r.retain_on_delete for r in resources)


# -- component level -------------------------------------------------------------------


INSTANCE = PostgresInstance(
    instance_class="db.t4g.medium",
    engine_version="17",
    allocated_storage_gib=20,
    max_allocated_storage_gib=100,
    multi_az=False,
    backup_retention_days=1,
    deletion_protection=False,
    skip_final_snapshot=True,
    max_connections=390,
    alarms=DatabaseAlarms(cpu_percent=90, free_storage_gib=5, connections_percent=90),
)


def build_database(protection: Protection | None = None, instance: PostgresInstance = INSTANCE) -> MetadataDatabase:
    database = MetadataDatabase(
        "db",
        MetadataDatabaseArgs(
            instance=instance,
            identifier="test-metadata",
            final_snapshot_identifier="test-metadata-final",
            security_group_name="test-metadata-db",
            monitoring_role_name="test-metadata-rds-monitoring",
            region=REGION,
            vpc_id=VPC,
            subnet_ids=SUBNETS,
            protection=protection or Protection(),
        ),
    )
    database.connections.allow_from("from-clients", CLIENT_SG, 5432, "PostgreSQL from the clients")
    return database


def test_metadata_uri_url_encodes_credentials_and_requires_tls() -> None:
    password = "Ab1:x#y^z+=!*-_Q"
    uri = metadata_uri("airflow_app", password, "db.example.internal", 5432, "airflow", "require")
    encoded = quote(password, safe="")
    assert "#" not in encoded and ":" not in encoded
    assert uri == f"postgresql://airflow_app:{encoded}@db.example.internal:5432/airflow?sslmode=require"


def test_clients_are_admitted_by_security_group_through_connections(run_components: Callable[..., Inventory]) -> None:
    inventory = run_components(build_database)
    [rule] = inventory.of_type(INGRESS)
    assert rule.inputs["referencedSecurityGroupId"] == CLIENT_SG
    assert (rule.inputs["fromPort"], rule.inputs["toPort"], rule.inputs["ipProtocol"]) == (5432, 5432, "tcp")
    assert "cidrIpv4" not in rule.inputs


def test_protection_defaults_to_keeping_data(run_components: Callable[..., Inventory]) -> None:
    instance = run_components(build_database).one(RDS)
    assert instance.retain_on_delete and not instance.protect


def test_component_password_output_is_secret(run_components: Callable[..., Inventory]) -> None:
    flags: list[bool] = []

    def program():
        db = build_database()

        async def flag() -> None:
            flags.append(await db.password.is_secret())

        return pulumi.Output.from_input(flag())

    run_components(program)
    assert flags == [True]


def test_component_protection_reaches_stateful_children(run_components: Callable[..., Inventory]) -> None:
    inventory = run_components(lambda: build_database(Protection.from_mode("protect")))
    assert inventory.one(RDS).protect
    assert inventory.one("aws:rds/subnetGroup:SubnetGroup").protect
    assert not any(a.protect for a in inventory.of_type(ALARM))


def test_pinned_max_connections_lands_in_the_parameter_group(run_components: Callable[..., Inventory]) -> None:
    assert effective_max_connections("db.t4g.medium", 300) == 300

    def program():
        build_database(instance=dataclasses.replace(INSTANCE, pinned_max_connections=300))

    inventory = run_components(program)
    parameters = {p["name"]: p for p in inventory.one("aws:rds/parameterGroup:ParameterGroup").inputs["parameters"]}
    assert parameters["max_connections"]["value"] == "300"
    assert parameters["max_connections"]["applyMethod"] == "pending-reboot"
    assert parameters["rds.force_ssl"]["value"] == "1"


# -- sizing ------------------------------------------------------------------------------


def test_default_max_connections_for_a_small_instance() -> None:
    assert 380 <= default_max_connections("db.t4g.medium") <= 420


def test_default_max_connections_grows_with_memory() -> None:
    assert default_max_connections("db.r6g.large") > default_max_connections("db.m6g.large")
    assert default_max_connections("db.m6g.large") > default_max_connections("db.t4g.small")


def test_default_max_connections_is_capped_at_5000() -> None:
    assert default_max_connections("db.r6g.16xlarge") == 5000


def test_default_max_connections_rejects_unknown_classes() -> None:
    with pytest.raises(ValueError, match="unknown instance class"):
        default_max_connections("db.x2g.large")


def test_instance_memory_by_family() -> None:
    assert instance_memory_gib("db.t4g.medium") == 4
    assert instance_memory_gib("db.m6i.xlarge") == 16
    assert instance_memory_gib("db.r6g.2xlarge") == 64
    assert instance_memory_gib("db.r6g.bogus") is None


@pytest.mark.parametrize("good", ["db.t4g.medium", "db.r6g.xlarge", "db.m7g.12xlarge", "db.t3.micro"])
def test_instance_class_problem_accepts_known_classes(good: str) -> None:
    assert instance_class_problem(good) is None


def test_instance_class_problem_needs_db_prefix() -> None:
    assert "starting with 'db.'" in (instance_class_problem("t4g.medium") or "")


@pytest.mark.parametrize("bad", ["db.x2g.large", "db.t4g.huge", "db.r6g", "db."])
def test_instance_class_problem_rejects_unknown_families_and_sizes(bad: str) -> None:
    problem = instance_class_problem(bad)
    assert problem and "family one of" in problem
