"""The DR copy: DR-region provider, replicated RDS backups, replica buckets on the source's baseline, refused configs."""

from __future__ import annotations

import json

import pytest

from config import ConfigError
from offline import Inventory
from offline.engine import Registration
from offline.report import render_text
from tests.support import (
    DR,
    DR_REGION,
    REGION,
    STACK_KEY,
    STACKS,
    bucket_of,
    make_settings,
    name_stem,
    stack_inventory,
    stack_settings,
)

P = "airflow-platform:"
BUCKET = "aws:s3/bucket:Bucket"
PROVIDER = "pulumi:providers:aws"
COMPONENT = "airflow-platform:dr:DisasterRecoveryCopy"
BACKUPS = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"


# The stack files that keep a DR copy (prod's profile turns it on).
DR_STACKS = tuple(stack for stack in STACKS if stack_settings(stack).dr.enabled)
per_dr_stack = pytest.mark.parametrize("stack", DR_STACKS)


def replica_of(stack: str, kind: str) -> str:
    """The replica's name: the source's default name with the DR region in place of the stack's."""
    settings = stack_settings(stack)
    return bucket_of(stack, kind).removesuffix(settings.aws_region) + str(settings.dr.region)


def descendants(inventory: Inventory, root: Registration) -> list[Registration]:
    found, frontier = [], {root.urn}
    for resource in inventory.resources:  # registration order: parents come first
        if resource.parent in frontier:
            found.append(resource)
            frontier.add(resource.urn)
    return found


def dr_resources(stack: str) -> list[Registration]:
    inventory = stack_inventory(stack)
    return [r for r in descendants(inventory, inventory.one(COMPONENT)) if r.custom]


def provider_urn(stack: str) -> str:
    return stack_inventory(stack).one(PROVIDER).urn


def companions(inventory: Inventory, bucket: Registration) -> dict[str, dict]:
    """The bucket's baseline resources by type, with the bucket's own name taken out of their inputs."""
    name = bucket.inputs["bucket"]
    out = {}
    for child in (r for r in inventory.resources if r.parent == bucket.urn and r.type != REPLICATION):
        text = json.dumps({k: v for k, v in child.inputs.items() if k != "bucket"}, sort_keys=True)
        out[child.type] = json.loads(text.replace(name, "<bucket>"))
    return out


# -- provider and region ---------------------------------------------------------------------


@per_dr_stack
def test_the_dr_copy_has_its_own_provider_for_the_dr_region(stack: str) -> None:
    [provider] = stack_inventory(stack).of_type(PROVIDER)
    assert provider.inputs["region"] == stack_settings(stack).dr.region != stack_settings(stack).aws_region
    assert stack_inventory(stack).by_urn(provider.parent).type == COMPONENT


def test_the_dr_provider_acts_as_the_stacks_default_provider_in_the_dr_region() -> None:
    from tests.variants import git_ssh_prod  # its default provider carries AWS_PROVIDER_CONFIG

    inputs = git_ssh_prod().one(PROVIDER).inputs
    # Providers get their object and list inputs as JSON text.
    provider = {
        k: json.loads(v) if k in ("assumeRoles", "allowedAccountIds", "defaultTags") else v for k, v in inputs.items()
    }
    assert provider["region"] == stack_settings("prod").dr.region
    assert provider["profile"] == "platform-prod"
    assert provider["assumeRoles"] == [{"roleArn": "arn:aws:iam::111122223333:role/deployer", "sessionName": "pulumi"}]
    assert provider["allowedAccountIds"] == ["111122223333"]
    assert provider["defaultTags"] == {"tags": {"cost-centre": "data", "team:owner": "platform"}}


def test_the_single_role_spelling_and_ignore_tags_convert_and_nothing_set_means_nothing_copied() -> None:
    import wiring

    assert wiring.dr_provider_settings({}) == {}
    role = '{"roleArn": "arn:aws:iam::1:role/r", "externalId": "x"}'
    assert wiring.dr_provider_settings({"assumeRole": role, "ignoreTags": '{"keyPrefixes": ["kube"]}'}) == {
        "assume_roles": [{"role_arn": "arn:aws:iam::1:role/r", "external_id": "x"}],
        "ignore_tags": {"key_prefixes": ["kube"]},
    }


@per_dr_stack
def test_every_dr_resource_uses_the_dr_region_provider(stack: str) -> None:
    resources = [r for r in dr_resources(stack) if r.type != PROVIDER]
    assert {r.type for r in resources} >= {BACKUPS, BUCKET, "aws:iam/role:Role"}
    for resource in resources:
        assert resource.provider.startswith(provider_urn(stack) + "::"), (resource.name, resource.provider)


@per_dr_stack
def test_the_replication_configuration_stays_with_the_source_in_the_stacks_region(stack: str) -> None:
    [config] = stack_inventory(stack).of_type(REPLICATION)
    source = stack_inventory(stack).by_urn(config.parent)
    assert source is not None and source.name == "buckets-dags"
    assert not config.provider.startswith(provider_urn(stack))
    assert config.protect == (stack_settings(stack).protection.mode == "protect")


@per_dr_stack
def test_everything_in_the_dr_region_is_protected_like_the_stacks_stateful_resources(stack: str) -> None:
    stateful = [r for r in dr_resources(stack) if r.type != PROVIDER]
    mode = stack_settings(stack).protection.mode
    assert stateful and all(
        (r.protect, r.retain_on_delete) == (mode == "protect", mode == "retainOnDelete") for r in stateful
    )
    assert mode == "protect" or stack_settings(stack).environment != "prod"


# -- RDS backups -------------------------------------------------------------------------------


@per_dr_stack
def test_automated_backups_are_replicated_with_the_dr_key_and_the_stated_retention(stack: str) -> None:
    replication = stack_inventory(stack).one(BACKUPS).inputs
    instance = stack_inventory(stack).one("aws:rds/instance:Instance")
    settings = stack_settings(stack)
    assert replication["sourceDbInstanceArn"] == (
        f"arn:aws:rds:{settings.aws_region}:111122223333:db:{name_stem(stack)}-metadata"
    )
    retention = settings.dr.backup_retention_days or settings.database.backup_retention_days
    assert replication["retentionPeriod"] == retention
    assert instance.inputs["backupRetentionPeriod"] == settings.database.backup_retention_days
    assert replication["kmsKeyId"] == settings.dr.kms_key_arn
    assert replication["kmsKeyId"].split(":")[3] == settings.dr.region


@per_dr_stack
def test_a_restore_into_the_same_identifier_replaces_the_backup_replication(stack: str) -> None:
    from offline.cloud import digest

    # The restore runbook keeps the identifier (so the ARN) but the new instance has a new DbiResourceId, which is
    # what RDS replicates: the replication is keyed on it, and is stopped before it is started again (both by ARN).
    replication = stack_inventory(stack).one(BACKUPS)
    instance = stack_inventory(stack).one("aws:rds/instance:Instance")
    assert replication.replacement_trigger == "db-" + digest(instance.inputs["identifier"], 26, upper=True)
    assert replication.delete_before_replace and instance.urn in replication.dependencies


def test_the_replicated_retention_can_be_set_apart_from_the_sources() -> None:
    settings = make_settings("prod", dr={**DR, "backupRetentionDays": 7})
    assert settings.dr.backup_retention_days == 7 and settings.database.backup_retention_days == 14


# -- buckets -----------------------------------------------------------------------------------


@per_dr_stack
def test_the_replica_bucket_meets_the_sources_baseline(stack: str) -> None:
    source = stack_inventory(stack).one(BUCKET, "buckets-dags")
    replica = stack_inventory(stack).one(BUCKET, "dr-dags-replica")
    assert replica.inputs["bucket"] == replica_of(stack, "dags")
    ours, theirs = companions(stack_inventory(stack), source), companions(stack_inventory(stack), replica)
    assert set(ours) == set(theirs)
    for resource_type in ours:
        if "Encryption" not in resource_type:
            assert theirs[resource_type] == ours[resource_type], resource_type
    [rule] = theirs["aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"]["rules"]
    key = stack_settings(stack).dr.kms_key_arn
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key}
    assert rule["bucketKeyEnabled"] is True
    assert theirs["aws:s3/bucketVersioning:BucketVersioning"]["versioningConfiguration"] == {"status": "Enabled"}
    assert replica.inputs["forceDestroy"] is False


@per_dr_stack
def test_objects_replicate_to_the_replica_with_the_dr_key_and_delete_markers_stay_behind(stack: str) -> None:
    [rule] = stack_inventory(stack).one(REPLICATION).inputs["rules"]
    replica = stack_inventory(stack).one(BUCKET, "dr-dags-replica").inputs["bucket"]
    assert rule["status"] == "Enabled" and rule["filter"] == {"prefix": ""}
    assert rule["deleteMarkerReplication"] == {"status": "Disabled"}
    assert rule["destination"]["bucket"] == f"arn:aws:s3:::{replica}"
    key = stack_settings(stack).dr.kms_key_arn
    assert rule["destination"]["encryptionConfiguration"] == {"replicaKmsKeyId": key}
    assert rule["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}


@per_dr_stack
def test_the_replication_role_is_least_privilege(stack: str) -> None:
    role = stack_inventory(stack).one("aws:iam/role:Role", "dr-replication-role")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    [policy] = [p for p in stack_inventory(stack).of_type("aws:iam/rolePolicy:RolePolicy") if p.parent == role.urn]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    source = f"arn:aws:s3:::{bucket_of(stack, 'dags')}"
    replica = f"arn:aws:s3:::{replica_of(stack, 'dags')}"
    settings = stack_settings(stack)
    assert statements["ReadReplicationConfiguration"]["Resource"] == [source]
    assert statements["ReadSourceVersions"]["Resource"] == [f"{source}/*"]
    assert statements["WriteReplicas"]["Resource"] == [f"{replica}/*"]
    assert "s3:ReplicateDelete" not in statements["WriteReplicas"]["Action"]
    assert statements["DecryptSource"]["Resource"] == [stack_settings(stack).encryption.kms_key_arn]
    assert statements["EncryptReplicas"]["Resource"] == [stack_settings(stack).dr.kms_key_arn]
    assert statements["DecryptSource"]["Action"] == ["kms:Decrypt"]
    assert statements["EncryptReplicas"]["Action"] == ["kms:Encrypt", "kms:GenerateDataKey"]
    # Each key only through S3 of its region and only for its bucket (bucket keys: the bucket's ARN is the context).
    for sid, region, bucket in (
        ("DecryptSource", settings.aws_region, source),
        ("EncryptReplicas", settings.dr.region, replica),
    ):
        assert statements[sid]["Condition"] == {
            "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
            "StringLike": {"kms:EncryptionContext:aws:s3:arn": [bucket, f"{bucket}/*"]},
        }
    actions = [a for s in statements.values() for a in s["Action"]]
    assert not any("*" in a for a in actions)


@per_dr_stack
def test_the_log_bucket_is_replicated_and_versioned_only_when_asked(stack: str) -> None:
    if stack_settings(stack).dr.replicate_log_bucket:
        pytest.skip("this stack replicates its log bucket")
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
    assert [r.name for r in stack_inventory(stack).of_type(BUCKET) if r.name.endswith("-replica")] == [
        "dr-dags-replica"
    ]


def _account():
    import pulumi

    return pulumi.Output.from_input("111122223333")


def _names(settings):
    from config.naming import aws_names

    return aws_names(settings)


# -- config ------------------------------------------------------------------------------------


def one_problem(stack: str = "prod", **dr: object) -> str:
    with pytest.raises(ConfigError) as caught:
        make_settings(stack, dr=dr, encryption={"kmsKeyArn": STACK_KEY})
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
    assert make_settings("uat", dr={**DR, "enabled": True}, encryption={"kmsKeyArn": STACK_KEY}).dr.region == DR_REGION
    assert one_problem("uat", enabled=True, region=DR_REGION).startswith(f"{P}dr.kmsKeyArn: required when")


def test_dr_without_the_stacks_own_key_is_refused_in_one_line() -> None:
    # SSE-S3 source objects would replicate as SSE-S3: the DR key would never be used.
    with pytest.raises(ConfigError) as caught:
        make_settings("prod", encryption={})
    assert [str(p) for p in caught.value.problems] == [
        f"{P}encryption.kmsKeyArn: required when dr.enabled is true (prod turns dr.enabled on): S3 encrypts replicas "
        "with dr.kmsKeyArn only when the source objects are SSE-KMS"
    ]
    assert make_settings("prod", dr={"enabled": False}, encryption={}).encryption.kms_key_arn is None


def test_dr_without_automated_backups_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        make_settings("dev", dr={**DR, "enabled": True}, database={"backupRetentionDays": 0})
    assert any(str(p).startswith(f"{P}database.backupRetentionDays: given 0;") for p in caught.value.problems)


@pytest.mark.parametrize("stack", STACKS)
def test_the_plan_shows_the_dr_copy_exactly_where_dr_is_on(stack: str) -> None:
    inventory = stack_inventory(stack)
    if stack not in DR_STACKS:
        assert not inventory.of_type(COMPONENT) and not inventory.of_type(PROVIDER)
        return
    region = stack_settings(stack).dr.region
    protect = "  [protect]" if stack_settings(stack).protection.mode == "protect" else ""
    text = render_text(stack, inventory)
    assert "== dr (airflow-platform:dr:DisasterRecoveryCopy)" in text
    assert f"+ {PROVIDER}  dr-{region}" in text and f'region: "{region}"' in text
    assert f"+ {BACKUPS}  dr-db-backups{protect}" in text
    assert f"+ {REPLICATION}  buckets-dags-replication{protect}" in text
    assert "prod" in {stack_settings(s).environment for s in DR_STACKS}  # prod's profile turns DR on


# -- the DR stack of the runbook ---------------------------------------------------------------

ACCOUNT = "111122223333"


def dr_stack_settings(stack: str):
    """The runbook's step 2 applied to a DR stack file: `Pulumi.<stack>-dr.yaml`, a copy of the stack's file in
    dr.region (region, key, topic, certificate, a cluster of that region named differently), its environment
    stated, dr off."""
    from config.loader import settings_from_flat_config
    from offline import REPO, read_stack_config
    from tests.support import override

    source = stack_settings(stack)
    region = str(source.dr.region)

    def moved(arn: str | None) -> str | None:
        return arn.replace(f":{source.aws_region}:", f":{region}:") if arn else arn

    overrides = {
        "aws:region": region,
        f"{P}environment": source.environment,
        **override(stack, "cluster.name", f"{source.cluster.name}-dr"),
        **override(stack, "encryption.kmsKeyArn", source.dr.kms_key_arn),
        **override(stack, "database.alarms.snsTopicArn", moved(source.database.alarms.sns_topic_arn)),
        **override(stack, "frontDoor.certificateArn", moved(source.front_door.certificate_arn)),
        **override(stack, "dr.enabled", False),
    }
    config = read_stack_config(REPO, stack, overrides)
    return settings_from_flat_config(config.values, config.secret_keys, f"{stack}-dr")


def account_global_names(settings) -> set[str]:
    """IAM role and S3 bucket names (one namespace per account, or per partition): what two stacks must not share."""
    from config.naming import aws_names, bucket_name, dr_bucket_name, lb_log_bucket_name

    names = aws_names(settings)
    roles = {
        names.db_monitoring_role,
        names.node_role,
        names.lb_controller_role,
        names.log_shipper_role,
        names.replication_role,
        *names.irsa_roles.values(),
        *names.publisher_roles.values(),
    }
    buckets = {bucket_name(settings, kind, ACCOUNT) for kind in ("dags", "logs")}
    buckets.add(lb_log_bucket_name(settings, ACCOUNT))
    if settings.dr.enabled:
        buckets |= {dr_bucket_name(settings, kind, ACCOUNT) for kind in ("dags", "logs")}
    return (roles | buckets) - {None}


@per_dr_stack
def test_the_runbooks_dr_stack_shares_no_account_global_name_with_its_source(stack: str) -> None:
    dr_stack = dr_stack_settings(stack)
    assert (
        dr_stack.environment == stack_settings(stack).environment
        and dr_stack.aws_region == stack_settings(stack).dr.region
    )
    shared = account_global_names(dr_stack) & account_global_names(stack_settings(stack))
    assert not shared, shared
    # Names derive from the stack name, so the DR stack's DAG bucket is never the replica bucket itself.
    assert replica_of(stack, "dags") not in account_global_names(dr_stack)


def test_the_runbook_gives_the_dr_stack_its_own_name_and_cluster() -> None:
    from offline import REPO

    readme = (REPO / "README.md").read_text()
    runbook = readme[readme.index("**Recover in the DR region**") :]
    step = runbook[runbook.index("\n2. ") : runbook.index("\n3. ")]
    assert "`Pulumi.<dr-stack>.yaml`" in step and "differently from the source's" in step
    assert "derive from its own stack name" in step
