"""The DR copy: DR-region provider, replicated RDS backups, replica buckets on the source's baseline, refused configs."""

from __future__ import annotations

import json
from functools import cache

import pytest

from config import ConfigError
from offline import Inventory
from offline.engine import Registration
from offline.report import render_text
from tests.support import DR, DR_REGION, REGION, make_settings, stack_inventory, stack_settings

P = "airflow-platform:"
BUCKET = "aws:s3/bucket:Bucket"
PROVIDER = "pulumi:providers:aws"
COMPONENT = "airflow-platform:dr:DisasterRecoveryCopy"
BACKUPS = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"


@cache
def prod() -> Inventory:
    return stack_inventory("prod")


def descendants(inventory: Inventory, root: Registration) -> list[Registration]:
    found, frontier = [], {root.urn}
    for resource in inventory.resources:  # registration order: parents come first
        if resource.parent in frontier:
            found.append(resource)
            frontier.add(resource.urn)
    return found


def dr_resources() -> list[Registration]:
    return [r for r in descendants(prod(), prod().one(COMPONENT)) if r.custom]


def provider_urn() -> str:
    return prod().one(PROVIDER).urn


def companions(inventory: Inventory, bucket: Registration) -> dict[str, dict]:
    """The bucket's baseline resources by type, with the bucket's own name taken out of their inputs."""
    name = bucket.inputs["bucket"]
    out = {}
    for child in (r for r in inventory.resources if r.parent == bucket.urn and r.type != REPLICATION):
        text = json.dumps({k: v for k, v in child.inputs.items() if k != "bucket"}, sort_keys=True)
        out[child.type] = json.loads(text.replace(name, "<bucket>"))
    return out


# -- provider and region ---------------------------------------------------------------------


def test_the_dr_copy_has_its_own_provider_for_the_dr_region() -> None:
    [provider] = prod().of_type(PROVIDER)
    assert provider.inputs["region"] == DR_REGION == stack_settings("prod").dr.region
    assert prod().by_urn(provider.parent).type == COMPONENT


def test_every_dr_resource_uses_the_dr_region_provider() -> None:
    resources = [r for r in dr_resources() if r.type != PROVIDER]
    assert {r.type for r in resources} >= {BACKUPS, BUCKET, "aws:iam/role:Role"}
    for resource in resources:
        assert resource.provider.startswith(provider_urn() + "::"), (resource.name, resource.provider)


def test_the_replication_configuration_stays_with_the_source_in_the_stacks_region() -> None:
    [config] = prod().of_type(REPLICATION)
    source = prod().by_urn(config.parent)
    assert source is not None and source.name == "buckets-dags"
    assert not config.provider.startswith(provider_urn())
    assert config.protect


def test_everything_in_the_dr_region_is_protected_in_prod() -> None:
    stateful = [r for r in dr_resources() if r.type != PROVIDER]
    assert stateful and all(r.protect for r in stateful), [r.name for r in stateful if not r.protect]


# -- RDS backups -------------------------------------------------------------------------------


def test_automated_backups_are_replicated_with_the_dr_key_and_the_stated_retention() -> None:
    replication = prod().one(BACKUPS).inputs
    instance = prod().one("aws:rds/instance:Instance")
    assert replication["sourceDbInstanceArn"] == f"arn:aws:rds:{REGION}:111122223333:db:etl-airflow-prod-metadata"
    assert replication["retentionPeriod"] == instance.inputs["backupRetentionPeriod"] == 14
    assert replication["kmsKeyId"] == stack_settings("prod").dr.kms_key_arn
    assert replication["kmsKeyId"].split(":")[3] == DR_REGION


def test_the_replicated_retention_can_be_set_apart_from_the_sources() -> None:
    settings = make_settings("prod", dr={**DR, "backupRetentionDays": 7})
    assert settings.dr.backup_retention_days == 7 and settings.database.backup_retention_days == 14


# -- buckets -----------------------------------------------------------------------------------


def test_the_replica_bucket_meets_the_sources_baseline() -> None:
    source = prod().one(BUCKET, "buckets-dags")
    replica = prod().one(BUCKET, "dr-dags-replica")
    assert replica.inputs["bucket"] == f"etl-airflow-dags-prod-111122223333-{DR_REGION}"
    ours, theirs = companions(prod(), source), companions(prod(), replica)
    assert set(ours) == set(theirs)
    for resource_type in ours:
        if "Encryption" not in resource_type:
            assert theirs[resource_type] == ours[resource_type], resource_type
    [rule] = theirs["aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"]["rules"]
    key = stack_settings("prod").dr.kms_key_arn
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key}
    assert rule["bucketKeyEnabled"] is True
    assert theirs["aws:s3/bucketVersioning:BucketVersioning"]["versioningConfiguration"] == {"status": "Enabled"}
    assert replica.inputs["forceDestroy"] is False


def test_objects_replicate_to_the_replica_with_the_dr_key_and_delete_markers_stay_behind() -> None:
    [rule] = prod().one(REPLICATION).inputs["rules"]
    replica = prod().one(BUCKET, "dr-dags-replica").inputs["bucket"]
    assert rule["status"] == "Enabled" and rule["filter"] == {"prefix": ""}
    assert rule["deleteMarkerReplication"] == {"status": "Disabled"}
    assert rule["destination"]["bucket"] == f"arn:aws:s3:::{replica}"
    key = stack_settings("prod").dr.kms_key_arn
    assert rule["destination"]["encryptionConfiguration"] == {"replicaKmsKeyId": key}
    assert rule["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}


def test_the_replication_role_is_least_privilege() -> None:
    role = prod().one("aws:iam/role:Role", "dr-replication-role")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    [policy] = [p for p in prod().of_type("aws:iam/rolePolicy:RolePolicy") if p.parent == role.urn]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    source = "arn:aws:s3:::etl-airflow-dags-prod-111122223333-eu-west-1"
    replica = f"arn:aws:s3:::etl-airflow-dags-prod-111122223333-{DR_REGION}"
    assert statements["ReadReplicationConfiguration"]["Resource"] == [source]
    assert statements["ReadSourceVersions"]["Resource"] == [f"{source}/*"]
    assert statements["WriteReplicas"]["Resource"] == [f"{replica}/*"]
    assert "s3:ReplicateDelete" not in statements["WriteReplicas"]["Action"]
    assert statements["DecryptSource"]["Resource"] == [stack_settings("prod").encryption.kms_key_arn]
    assert statements["EncryptReplicas"]["Resource"] == [stack_settings("prod").dr.kms_key_arn]
    actions = [a for s in statements.values() for a in s["Action"]]
    assert not any("*" in a for a in actions)


def test_the_log_bucket_is_replicated_and_versioned_only_when_asked() -> None:
    import wiring
    from components.buckets import AirflowBucketsArgs

    default = make_settings("prod")
    with_logs = make_settings("prod", dr={**DR, "replicateLogBucket": True})
    assert not wiring.buckets_args(default, _account()).logs.versioned
    assert wiring.buckets_args(with_logs, _account()).logs.versioned
    replicas = wiring.dr_args(with_logs, _names(with_logs), _account(), "arn:aws:rds:eu-west-1:1:db:x")
    assert replicas is not None and replicas.replicated == ("dags", "logs")
    assert isinstance(replicas.replicas, AirflowBucketsArgs) and replicas.replicas.logs.versioned
    assert replicas.replicas.logs.expire_objects_after_days == default.buckets.log_retention_days
    assert [r.name for r in prod().of_type(BUCKET) if r.name.endswith("-replica")] == ["dr-dags-replica"]


def _account():
    import pulumi

    return pulumi.Output.from_input("111122223333")


def _names(settings):
    from config.naming import aws_names

    return aws_names(settings)


# -- config ------------------------------------------------------------------------------------


def one_problem(stack: str = "prod", **dr: object) -> str:
    with pytest.raises(ConfigError) as caught:
        make_settings(stack, dr=dr)
    assert len(caught.value.problems) == 1, caught.value.problems
    return str(caught.value.problems[0])


def test_the_stacks_own_region_is_refused_in_one_line() -> None:
    key = DR["kmsKeyArn"].replace(DR_REGION, REGION)
    assert one_problem(region=REGION, kmsKeyArn=key) == (
        f'{P}dr.region: given "{REGION}"; must differ from the stack\'s region {REGION} (aws:region)'
    )


def test_a_key_from_another_region_is_refused_in_one_line() -> None:
    key = DR["kmsKeyArn"].replace(DR_REGION, "us-east-1")
    assert one_problem(region=DR_REGION, kmsKeyArn=key) == (
        f'{P}dr.kmsKeyArn: given "{key}"; must be a key in dr.region {DR_REGION}'
    )


def test_a_missing_key_in_prod_is_refused_in_one_line() -> None:
    problem = one_problem(region=DR_REGION)
    assert problem.startswith(f"{P}dr.kmsKeyArn: required when dr.enabled is true (prod turns dr.enabled on)")


def test_dr_is_optional_outside_prod_and_checked_the_same_when_on() -> None:
    assert not make_settings("dev").dr.enabled
    assert make_settings("uat", dr={**DR, "enabled": True}).dr.region == DR_REGION
    assert one_problem("uat", enabled=True, region=DR_REGION).startswith(f"{P}dr.kmsKeyArn: required when")


def test_dr_without_automated_backups_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        make_settings("dev", dr={**DR, "enabled": True}, database={"backupRetentionDays": 0})
    assert any(str(p).startswith(f"{P}database.backupRetentionDays: given 0;") for p in caught.value.problems)


def test_the_plan_shows_the_dr_copy_in_prod_only() -> None:
    text = render_text("prod", prod())
    assert "== dr (airflow-platform:dr:DisasterRecoveryCopy)" in text
    assert f"+ {PROVIDER}  dr-{DR_REGION}" in text and f'region: "{DR_REGION}"' in text
    assert f"+ {BACKUPS}  dr-db-backups  [protect]" in text
    assert f"+ {REPLICATION}  buckets-dags-replication  [protect]" in text
    for stack in ("dev", "uat"):
        assert not stack_inventory(stack).of_type(COMPONENT) and not stack_inventory(stack).of_type(PROVIDER)
