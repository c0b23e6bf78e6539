"""Bad stack config through the whole program: one clear line naming the key, and zero resources."""

from __future__ import annotations

import json
from typing import Any

import pytest

import plan
from config import ConfigError
from offline import REPO, Inventory, offline_engine, read_stack_config, run_program, run_stack
from offline.engine import unwrap
from tests.support import override, stack_inventory
from tests.variants import uat_with_own_lb_subnets_and_longer_backups

UAT_KMS_KEY = "arn:aws:kms:eu-west-1:111122223333:key/5c7d3f1e-2b4a-4c6d-8e9f-0a1b2c3d4e5f"


def run_broken(stack: str, overrides: dict[str, Any]) -> tuple[ConfigError, Inventory]:
    """Run `__main__.py` offline with broken config; return the error and what got registered."""
    config = read_stack_config(REPO, stack, overrides)
    with (
        offline_engine(
            stack, config.values, config.secret_keys, config.fake_clusters(), config.region, config.project
        ) as inventory,
        pytest.raises(ConfigError) as caught,
    ):
        run_program(inventory)
    return caught.value, inventory


def worker_statement(actions: list[str], resources: list[str]) -> list[dict[str, Any]]:
    return [{"sid": "Broken", "actions": actions, "resources": resources}]


# (id, stack, overrides, full key expected in the message, given value text expected or None)
CASES: list[tuple[str, str, dict[str, Any], str, str | None]] = [
    (
        "wrong-type-string-for-int",
        "dev",
        override("dev", "database.allocatedStorageGib", "lots"),
        "airflow-platform:database.allocatedStorageGib",
        '"lots"',
    ),
    (
        "unknown-top-level-key",
        "dev",
        {"airflow-platform:databse": {"multiAz": True}},
        "airflow-platform:databse",
        '{"multiAz": true}',
    ),
    (
        "unknown-nested-key",
        "dev",
        override("dev", "network.vpcID", "vpc-0d3f5a7c9e1b24680"),
        "airflow-platform:network.vpcID",
        '"vpc-0d3f5a7c9e1b24680"',
    ),
    (
        "malformed-cidr",
        "dev",
        override("dev", "cluster.create.publicAccessCidrs", ["10.20.0.1/16"]),
        "airflow-platform:cluster.create.publicAccessCidrs[0]",
        '"10.20.0.1/16"',
    ),
    (
        "malformed-subnet-id",
        "dev",
        override("dev", "network.privateSubnetIds", ["subnet-0a11b22c33d44e501", "subnet-XYZ"]),
        "airflow-platform:network.privateSubnetIds[1]",
        '"subnet-XYZ"',
    ),
    (
        "malformed-vpc-id",
        "prod",
        override("prod", "network.vpcId", "vpc-12345"),
        "airflow-platform:network.vpcId",
        '"vpc-12345"',
    ),
    (
        "bucket-name-uppercase",
        "dev",
        {"airflow-platform:buckets": {"dagBucketName": "Etl-Airflow-Dags"}},
        "airflow-platform:buckets.dagBucketName",
        '"Etl-Airflow-Dags"',
    ),
    (
        "bucket-name-underscore",
        "uat",
        {"airflow-platform:buckets": {"logBucketName": "etl_airflow_logs"}},
        "airflow-platform:buckets.logBucketName",
        '"etl_airflow_logs"',
    ),
    (
        "bucket-name-ip-like",
        "dev",
        {"airflow-platform:buckets": {"dagBucketName": "192.168.10.20"}},
        "airflow-platform:buckets.dagBucketName",
        '"192.168.10.20"',
    ),
    (
        "instance-class-not-db",
        "prod",
        override("prod", "database.instanceClass", "r6g.xlarge"),
        "airflow-platform:database.instanceClass",
        '"r6g.xlarge"',
    ),
    (
        "unsupported-postgres-major",
        "dev",
        override("dev", "database.engineVersion", "13"),
        "airflow-platform:database.engineVersion",
        '"13"',
    ),
    (
        "backup-retention-too-long",
        "uat",
        override("uat", "database.backupRetentionDays", 40),
        "airflow-platform:database.backupRetentionDays",
        "40",
    ),
    (
        "log-retention-zero",
        "dev",
        {"airflow-platform:buckets": {"logRetentionDays": 0}},
        "airflow-platform:buckets.logRetentionDays",
        "0",
    ),
    (
        "missing-cluster-name",
        "prod",
        override("prod", "cluster.name", None),
        "airflow-platform:cluster.name",
        None,
    ),
    (
        "missing-aws-region",
        "uat",
        {"aws:region": None},
        "aws:region",
        None,
    ),
    (
        "bad-environment-name",
        "dev",
        {"airflow-platform:environment": "staging"},
        "airflow-platform:environment",
        '"staging"',
    ),
    (
        "bad-sns-arn",
        "uat",
        override("uat", "database.alarms.snsTopicArn", "arn:aws:sns:eu-west-1:alerts"),
        "airflow-platform:database.alarms.snsTopicArn",
        '"arn:aws:sns:eu-west-1:alerts"',
    ),
    (
        "bad-kms-arn",
        "prod",
        {"airflow-platform:encryption": {"kmsKeyArn": "alias/airflow"}},
        "airflow-platform:encryption.kmsKeyArn",
        '"alias/airflow"',
    ),
    (
        "kms-key-in-another-region",
        "uat",
        {"airflow-platform:encryption": {"kmsKeyArn": UAT_KMS_KEY.replace("eu-west-1", "us-east-1")}},
        "airflow-platform:encryption.kmsKeyArn",
        json.dumps(UAT_KMS_KEY.replace("eu-west-1", "us-east-1")),
    ),
    (
        "bad-maintenance-window",
        "dev",
        override("dev", "database.maintenanceWindow", "sunday 03:00"),
        "airflow-platform:database.maintenanceWindow",
        '"sunday 03:00"',
    ),
    (
        "iam-star-action",
        "prod",
        override("prod", "irsa.extraStatements.worker", worker_statement(["*"], ["arn:aws:s3:::etl-artifacts-prod"])),
        "airflow-platform:irsa.extraStatements.worker[0].actions",
        '["*"]',
    ),
    (
        "iam-service-star-action",
        "prod",
        override(
            "prod", "irsa.extraStatements.worker", worker_statement(["s3:*"], ["arn:aws:s3:::etl-artifacts-prod"])
        ),
        "airflow-platform:irsa.extraStatements.worker[0].actions",
        '["s3:*"]',
    ),
    (
        "iam-star-resource",
        "prod",
        override("prod", "irsa.extraStatements.worker", worker_statement(["s3:GetObject"], ["*"])),
        "airflow-platform:irsa.extraStatements.worker[0].resources",
        '["*"]',
    ),
    (
        "iam-whole-s3-resource",
        "prod",
        override("prod", "irsa.extraStatements.scheduler", worker_statement(["s3:GetObject"], ["arn:aws:s3:::*"])),
        "airflow-platform:irsa.extraStatements.scheduler[0].resources",
        '["arn:aws:s3:::*"]',
    ),
    (
        "node-group-min-above-max",
        "dev",
        override("dev", "cluster.create.nodeGroup.minSize", 5),
        "airflow-platform:cluster.create.nodeGroup.desiredSize",
        "must lie within minSize..maxSize (5..4)",
    ),
    (
        "public-endpoint-open-to-world",
        "dev",
        override("dev", "cluster.create.publicAccessCidrs", ["0.0.0.0/0"]),
        "airflow-platform:cluster.create.publicAccessCidrs",
        '["0.0.0.0/0"]',
    ),
    (
        "max-storage-not-above-allocated",
        "dev",
        override("dev", "database.maxAllocatedStorageGib", 20),
        "airflow-platform:database.maxAllocatedStorageGib",
        "20",
    ),
    (
        "prod-without-multi-az",
        "prod",
        override("prod", "database.multiAz", False),
        "airflow-platform:database.multiAz",
        "false",
    ),
]


@pytest.mark.parametrize(
    ("stack", "overrides", "key", "given"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_bad_config_fails_before_any_resource(
    stack: str, overrides: dict[str, Any], key: str, given: str | None
) -> None:
    error, inventory = run_broken(stack, overrides)
    assert inventory.resources == []
    assert [problem.full_key for problem in error.problems] == [key], str(error)
    [line] = [line for line in str(error).splitlines() if line.startswith(f"  {key}: ")]
    if given is None:
        assert "given" not in line
    else:
        assert line.startswith(f"  {key}: given ")
        assert given in line


def test_error_line_says_what_is_allowed() -> None:
    error, _ = run_broken("dev", override("dev", "database.engineVersion", "13"))
    assert "16, 17" in str(error)


def test_missing_required_key_names_its_description() -> None:
    error, _ = run_broken("prod", override("prod", "cluster.name", None))
    assert "required key is missing (EKS cluster name)" in str(error)


def test_unknown_key_lists_the_allowed_keys() -> None:
    error, _ = run_broken("dev", override("dev", "network.vpcID", "vpc-0d3f5a7c9e1b24680"))
    assert "allowed here: privateSubnetIds, vpcId" in str(error)


def test_plain_text_secret_fails_without_echoing_it() -> None:
    leaked = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-secret-anymore\n-----END OPENSSH PRIVATE KEY-----"
    error, inventory = run_broken("dev", {"airflow-platform:gitSshPrivateKey": leaked})
    assert inventory.resources == []
    assert [problem.full_key for problem in error.problems] == ["airflow-platform:gitSshPrivateKey"]
    assert "not-a-secret-anymore" not in str(error)


def test_every_problem_is_reported_in_one_run() -> None:
    overrides = {
        **override("prod", "database.multiAz", False),
        "airflow-platform:buckets": {"forceDestroy": True},
    }
    error, inventory = run_broken("prod", overrides)
    assert inventory.resources == []
    assert len(str(error).splitlines()) == 1 + 2


def test_unbroken_override_still_runs() -> None:
    inventory = uat_with_own_lb_subnets_and_longer_backups()  # an override of database.backupRetentionDays
    instance = inventory.one("aws:rds/instance:Instance")
    assert instance.inputs["backupRetentionPeriod"] == 35


# -- plan CLI --------------------------------------------------------------------------


def test_plan_exits_2_for_unknown_stack(capsys: pytest.CaptureFixture[str]) -> None:
    assert plan.main(["--stack", "no-such-stack"]) == 2
    assert "Pulumi.no-such-stack.yaml not found" in capsys.readouterr().err


def test_plan_exits_2_and_prints_problem_lines_for_broken_config(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = override("prod", "database.multiAz", False)
    monkeypatch.setattr(plan, "run_stack", lambda stack: run_stack(stack, broken))
    assert plan.main(["--stack", "prod"]) == 2
    captured = capsys.readouterr()
    assert "airflow-platform:database.multiAz: given false" in captured.err
    assert "== stack outputs" not in captured.out


def test_plan_prints_dev_plan_without_the_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plan, "run_stack", stack_inventory)  # the cached run of the same stack file
    assert plan.main(["--stack", "dev"]) == 0
    out = capsys.readouterr().out
    assert "== stack outputs" in out
    assert "[secret]" in out
    password = unwrap(stack_inventory("dev").one("aws:rds/instance:Instance").inputs["password"])
    assert len(password) >= 16
    assert password not in out
