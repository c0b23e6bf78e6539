"""The DAG and log buckets: private, encrypted, TLS-only, lifecycled, protected; least-privilege grants."""

from __future__ import annotations

import json

import pytest

from components.buckets import bucket_access_statements, tls_only_policy
from offline import Inventory
from offline.engine import Registration
from tests.support import STACKS, bucket_of, environment_of, stack_inventory, stack_settings

BUCKET = "aws:s3/bucket:Bucket"
LOG_RETENTION = {"dev": 14, "uat": 30, "prod": 365}
KINDS = ("dags", "logs")


def bucket(stack: str, kind: str) -> Registration:
    return stack_inventory(stack).one(BUCKET, f"buckets-{kind}")


def child(stack: str, kind: str, resource_type: str) -> Registration:
    """The one resource of a type configuring a bucket (registered as the bucket's child)."""
    inventory = stack_inventory(stack)
    parent = bucket(stack, kind).urn
    [found] = [r for r in inventory.of_type(resource_type) if r.parent == parent]
    return found


def children(inventory: Inventory, parent: Registration) -> list[Registration]:
    return [r for r in inventory.resources if r.parent == parent.urn]


@pytest.mark.parametrize("stack", STACKS)
def test_two_buckets_named_per_environment(stack: str) -> None:
    inventory = stack_inventory(stack)
    names = sorted(b.inputs["bucket"] for b in inventory.of_type(BUCKET) if b.parent.endswith("::buckets"))
    assert names == [bucket_of(stack, "dags"), bucket_of(stack, "logs")]


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("kind", KINDS)
def test_all_public_access_is_blocked(stack: str, kind: str) -> None:
    block = child(stack, kind, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block[flag] is True, flag


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("kind", KINDS)
def test_acls_are_disabled(stack: str, kind: str) -> None:
    ownership = child(stack, kind, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs
    assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


@pytest.mark.parametrize("stack", ["uat", "prod"])
@pytest.mark.parametrize("kind", KINDS)
def test_sse_kms_with_the_configured_key(stack: str, kind: str) -> None:
    key = stack_settings(stack).encryption.kms_key_arn
    assert key
    encryption = child(
        stack, kind, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    [rule] = encryption.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key}
    assert rule["bucketKeyEnabled"] is True


@pytest.mark.parametrize("kind", KINDS)
def test_dev_uses_sse_s3(kind: str) -> None:
    encryption = child(
        "dev", kind, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    [rule] = encryption.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("kind", KINDS)
def test_bucket_policy_denies_plain_http(stack: str, kind: str) -> None:
    arn = f"arn:aws:s3:::{bucket_of(stack, kind)}"
    policy = json.loads(child(stack, kind, "aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    insecure = [s for s in policy["Statement"] if s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}]
    assert insecure == [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [arn, f"{arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    assert all(s["Effect"] == "Deny" for s in policy["Statement"])


@pytest.mark.parametrize("stack", STACKS)
def test_only_the_dag_bucket_is_versioned(stack: str) -> None:
    inventory = stack_inventory(stack)
    [versioning] = [
        v
        for v in inventory.of_type("aws:s3/bucketVersioning:BucketVersioning")
        if v.parent in {bucket(stack, "dags").urn, bucket(stack, "logs").urn}
    ]
    assert versioning.parent == bucket(stack, "dags").urn
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}


def lifecycle(stack: str, kind: str) -> dict[str, dict]:
    config = child(stack, kind, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    return {rule["id"]: rule for rule in config.inputs["rules"]}


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("kind", KINDS)
def test_lifecycle_cleans_up_versions_and_uploads(stack: str, kind: str) -> None:
    rules = lifecycle(stack, kind)
    assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": 90}
    assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    assert all(rule["status"] == "Enabled" for rule in rules.values())


@pytest.mark.parametrize("stack", STACKS)
def test_log_objects_expire_after_the_environment_retention(stack: str) -> None:
    assert stack_settings(stack).buckets.log_retention_days == LOG_RETENTION[environment_of(stack)]
    rules = lifecycle(stack, "logs")
    assert rules["expire-objects"]["expiration"] == {"days": LOG_RETENTION[environment_of(stack)]}


@pytest.mark.parametrize("stack", STACKS)
def test_dag_objects_never_expire(stack: str) -> None:
    assert "expire-objects" not in lifecycle(stack, "dags")


def test_force_destroy_only_outside_prod() -> None:
    for kind in KINDS:
        assert bucket("prod", kind).inputs["forceDestroy"] is False
        assert bucket("uat", kind).inputs["forceDestroy"] is False
        assert bucket("dev", kind).inputs["forceDestroy"] is True


@pytest.mark.parametrize("kind", KINDS)
def test_prod_bucket_and_its_configuration_are_protected(kind: str) -> None:
    inventory = stack_inventory("prod")
    parent = bucket("prod", kind)
    configuration = children(inventory, parent)
    assert parent.protect
    assert len(configuration) >= 5
    assert all(r.protect for r in configuration), [r.name for r in configuration if not r.protect]


@pytest.mark.parametrize("kind", KINDS)
def test_uat_bucket_and_its_configuration_are_retained(kind: str) -> None:
    inventory = stack_inventory("uat")
    parent = bucket("uat", kind)
    assert parent.retain_on_delete and not parent.protect
    assert all(r.retain_on_delete for r in children(inventory, parent))


@pytest.mark.parametrize("kind", KINDS)
def test_dev_buckets_are_disposable(kind: str) -> None:
    inventory = stack_inventory("dev")
    parent = bucket("dev", kind)
    assert not any(r.protect or r.retain_on_delete for r in [parent, *children(inventory, parent)])


@pytest.mark.parametrize("stack", STACKS)
def test_bucket_outputs_match_the_buckets(stack: str) -> None:
    outputs = stack_inventory(stack).outputs
    assert outputs["dagBucketName"] == bucket(stack, "dags").inputs["bucket"]
    assert outputs["logBucketName"] == bucket(stack, "logs").inputs["bucket"]


# -- pure functions ----------------------------------------------------------------------

ARN = "arn:aws:s3:::example-bucket"
KEY = "arn:aws:kms:eu-west-1:111122223333:key/abc"


def actions(statements: list[dict]) -> list[str]:
    return [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]


@pytest.mark.parametrize("write", [False, True])
@pytest.mark.parametrize("prefix", [None, "dags", "dags/"])
@pytest.mark.parametrize("kms", [None, KEY])
def test_access_statements_never_use_wildcard_actions(write: bool, prefix: str | None, kms: str | None) -> None:
    statements = bucket_access_statements(ARN, write=write, prefix=prefix, kms_key_arn=kms)
    for action in actions(statements):
        assert action != "*" and not action.endswith(":*"), action
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert "*" not in statement["Resource"]


def test_read_statements_have_no_write_or_delete() -> None:
    granted = actions(bucket_access_statements(ARN, write=False, prefix=None, kms_key_arn=None))
    assert set(granted) == {"s3:ListBucket", "s3:GetObject", "s3:GetObjectVersion"}


def test_write_statements_add_put_but_never_delete() -> None:
    granted = actions(bucket_access_statements(ARN, write=True, prefix=None, kms_key_arn=None))
    assert "s3:PutObject" in granted
    assert "s3:AbortMultipartUpload" in granted
    assert not [a for a in granted if "Delete" in a]


@pytest.mark.parametrize("prefix", ["dags", "dags/", "/dags/"])
def test_prefix_scopes_objects_and_listing(prefix: str) -> None:
    listing, objects = bucket_access_statements(ARN, write=False, prefix=prefix, kms_key_arn=None)
    assert listing["Action"] == ["s3:ListBucket"]
    assert listing["Resource"] == [ARN]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["dags/*", "dags"]}}
    assert objects["Resource"] == [f"{ARN}/dags/*"]


def test_no_prefix_means_whole_bucket_without_condition() -> None:
    listing, objects = bucket_access_statements(ARN, write=False, prefix=None, kms_key_arn=None)
    assert "Condition" not in listing
    assert objects["Resource"] == [f"{ARN}/*"]


def test_kms_statement_for_readers_only_decrypts() -> None:
    statements = bucket_access_statements(ARN, write=False, prefix=None, kms_key_arn=KEY)
    assert statements[-1] == {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [KEY]}


def test_kms_statement_for_writers_can_generate_data_keys() -> None:
    statements = bucket_access_statements(ARN, write=True, prefix=None, kms_key_arn=KEY)
    assert statements[-1] == {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": [KEY]}


def test_no_kms_statement_without_a_key() -> None:
    statements = bucket_access_statements(ARN, write=True, prefix=None, kms_key_arn=None)
    assert not [a for a in actions(statements) if a.startswith("kms:")]


def test_tls_only_policy_denies_http_and_old_tls() -> None:
    policy = json.loads(tls_only_policy(ARN))
    assert policy["Version"] == "2012-10-17"
    conditions = {json.dumps(s["Condition"], sort_keys=True) for s in policy["Statement"]}
    assert conditions == {
        json.dumps({"Bool": {"aws:SecureTransport": "false"}}),
        json.dumps({"NumericLessThan": {"s3:TlsVersion": "1.2"}}),
    }
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Deny"
        assert statement["Principal"] == "*"
        assert statement["Resource"] == [ARN, f"{ARN}/*"]


def test_tls_only_policy_is_stable() -> None:
    assert tls_only_policy(ARN) == tls_only_policy(ARN)
    assert tls_only_policy(ARN) != tls_only_policy(ARN + "-2")
