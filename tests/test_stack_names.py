"""Physical names: the example stacks keep theirs; a second stack of the same profile shares none."""

from __future__ import annotations

import functools
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from config import ConfigError
from config.loader import check_other_stacks, settings_from_flat_config
from offline import REPO, Inventory, read_stack_config, run_stack
from offline.physical_names import is_headline, physical_names
from offline.report import render_text
from tests.support import stack_inventory, stack_settings

# Taken from the plans before names derived from the stack: renaming any of these would replace the DB,
# empty a bucket or orphan an IAM role of a stack that is already up.
PINNED: dict[str, tuple[str, ...]] = {
    "dev": (
        "CloudWatch alarm etl-airflow-dev-metadata-connections",
        "CloudWatch alarm etl-airflow-dev-metadata-cpu",
        "CloudWatch alarm etl-airflow-dev-metadata-free-storage",
        "EKS cluster data-dev",
        "Helm release airflow-dev/airflow",
        "Helm release kube-system/aws-load-balancer-controller",
        "IAM role data-dev-aws-lb-controller",
        "IAM role data-dev-nodes",
        "IAM role etl-airflow-dev-api-server",
        "IAM role etl-airflow-dev-dag-processor",
        "IAM role etl-airflow-dev-scheduler",
        "IAM role etl-airflow-dev-triggerer",
        "IAM role etl-airflow-dev-worker",
        "RDS instance etl-airflow-dev-metadata",
        "RDS subnet group etl-airflow-dev-metadata",
        "S3 bucket etl-airflow-dags-dev-111122223333-eu-west-1",
        "S3 bucket etl-airflow-logs-dev-111122223333-eu-west-1",
        "load balancer etl-airflow-dev",
        "namespace airflow-dev",
        "security group etl-airflow-dev-lb",
        "security group etl-airflow-dev-metadata-db",
    ),
    "uat": (
        "CloudWatch alarm etl-airflow-uat-metadata-connections",
        "CloudWatch alarm etl-airflow-uat-metadata-cpu",
        "CloudWatch alarm etl-airflow-uat-metadata-free-storage",
        "Helm release airflow-uat/airflow",
        "IAM role etl-airflow-uat-api-server",
        "IAM role etl-airflow-uat-dag-processor",
        "IAM role etl-airflow-uat-metadata-rds-monitoring",
        "IAM role etl-airflow-uat-scheduler",
        "IAM role etl-airflow-uat-triggerer",
        "IAM role etl-airflow-uat-worker",
        "RDS final snapshot etl-airflow-uat-metadata-final",
        "RDS instance etl-airflow-uat-metadata",
        "RDS subnet group etl-airflow-uat-metadata",
        "S3 bucket etl-airflow-dags-uat-111122223333-eu-west-1",
        "S3 bucket etl-airflow-logs-uat-111122223333-eu-west-1",
        "load balancer etl-airflow-uat",
        "namespace airflow-uat",
        "security group etl-airflow-uat-lb",
        "security group etl-airflow-uat-metadata-db",
    ),
    "prod": (
        "CloudWatch alarm etl-airflow-prod-metadata-connections",
        "CloudWatch alarm etl-airflow-prod-metadata-cpu",
        "CloudWatch alarm etl-airflow-prod-metadata-free-storage",
        "Helm release airflow-prod/airflow",
        "IAM role etl-airflow-prod-api-server",
        "IAM role etl-airflow-prod-dag-processor",
        "IAM role etl-airflow-prod-metadata-rds-monitoring",
        "IAM role etl-airflow-prod-publish-analytics",
        "IAM role etl-airflow-prod-scheduler",
        "IAM role etl-airflow-prod-triggerer",
        "IAM role etl-airflow-prod-worker",
        "RDS final snapshot etl-airflow-prod-metadata-final",
        "RDS instance etl-airflow-prod-metadata",
        "RDS subnet group etl-airflow-prod-metadata",
        "Route 53 record airflow.data.example.com A",
        "S3 bucket etl-airflow-dags-prod-111122223333-eu-west-1",
        "S3 bucket etl-airflow-lb-logs-prod-111122223333-eu-west-1",
        "S3 bucket etl-airflow-logs-prod-111122223333-eu-west-1",
        "load balancer etl-airflow-prod",
        "namespace airflow-prod",
        "security group etl-airflow-prod-lb",
        "security group etl-airflow-prod-metadata-db",
    ),
}


def test_the_example_stacks_keep_their_physical_names():
    for stack, pinned in PINNED.items():
        names = {n.shown for n in physical_names(stack_inventory(stack)) if is_headline(n)}
        assert not set(pinned) - names, f"{stack} renamed or dropped {sorted(set(pinned) - names)}"


def test_every_kubernetes_object_of_an_example_stack_lives_in_its_namespaces_or_is_a_release():
    for stack in PINNED:
        namespace = stack_settings(stack).namespace
        own = tuple(f"{namespace}{suffix}/" for suffix in ("", "-tasks", "-bootstrap", "-logs"))
        for name in physical_names(stack_inventory(stack)):
            if not is_headline(name):
                assert name.name.startswith(own), name


# -- a second stack beside the examples ------------------------------------------------------------------------------

PROJECT = "airflow-platform:"
REGIONAL = ("encryption", "database")  # uat's keys holding ARNs of its region (KMS key, SNS topic)


def _stack_file(source: str, **changes: Any) -> dict[str, Any]:
    """A copy of an example stack file's document with top-level config keys changed (None removes one)."""
    document = yaml.safe_load((REPO / f"Pulumi.{source}.yaml").read_text())
    for key, value in changes.items():
        full = key if ":" in key else PROJECT + key
        if value is None:
            document["config"].pop(full, None)
        else:
            document["config"][full] = value
    return document


def _alice_dev() -> dict[str, Any]:
    """A personal stack of the dev profile on dev's cluster (which dev creates)."""
    return _stack_file("dev", environment="dev", cluster={"mode": "existing", "name": "data-dev"})


def _staging() -> dict[str, Any]:
    """A second stack of the uat profile, in another region (IAM is account-wide: its names must differ too)."""
    uat = yaml.safe_load((REPO / "Pulumi.uat.yaml").read_text())["config"]
    moved = {key: json.loads(json.dumps(uat[PROJECT + key]).replace("eu-west-1", "us-east-1")) for key in REGIONAL}
    return _stack_file("uat", environment="uat", **{"aws:region": "us-east-1"}, **moved)


def _directory(tmp: Path, **stacks: dict[str, Any]) -> Path:
    """A project directory with Pulumi.yaml, the example stack files and the given extra ones."""
    for path in REPO.glob("Pulumi*.yaml"):
        shutil.copy(path, tmp / path.name)
    for name, document in stacks.items():
        (tmp / f"Pulumi.{name.replace('_', '-')}.yaml").write_text(yaml.safe_dump(document))
    return tmp


@pytest.fixture(scope="module")
def beside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The examples with alice-dev and staging beside them."""
    return _directory(tmp_path_factory.mktemp("beside"), alice_dev=_alice_dev(), staging=_staging())


@functools.cache
def _planned(directory: Path, stack: str) -> Inventory:
    return run_stack(stack, directory=directory)


@pytest.mark.parametrize(("example", "second"), [("dev", "alice-dev"), ("uat", "staging")])
def test_a_second_stack_of_a_profile_shares_no_physical_name_with_the_example(beside, example, second):
    theirs = _planned(beside, second)
    assert theirs.outputs["environment"] == example
    check_other_stacks(stack_settings(example), {}, example, beside)  # the example still passes beside it ...
    ours = stack_inventory(example)  # ... with the plan it has alone (the check only refuses, never renames)
    shared = {n.shown for n in physical_names(ours)} & {n.shown for n in physical_names(theirs)}
    assert shared == set()
    assert theirs.outputs["namespace"] == f"airflow-{second}"


def _problems(directory: Path, stack: str) -> list[str]:
    """The collision problems of one stack file among the others of its directory."""
    config = read_stack_config(directory, stack)
    settings = settings_from_flat_config(config.values, config.secret_keys, stack)
    try:
        check_other_stacks(settings, config.values, stack, directory)
    except ConfigError as error:
        return [str(p) for p in error.problems]
    return []


def test_the_program_refuses_a_copy_of_dev_that_would_create_devs_cluster_again(tmp_path):
    directory = _directory(tmp_path, copy=_stack_file("dev", environment="dev"))
    with pytest.raises(ConfigError) as caught:
        run_stack("copy", directory=directory)
    assert [str(p) for p in caught.value.problems] == [
        'airflow-platform:cluster.name: given "data-dev"; gives the EKS cluster data-dev, IAM role data-dev-nodes '
        "that stack dev (Pulumi.dev.yaml) also claims; only one stack creates a cluster of this name; the others "
        "use cluster.mode existing",
        "airflow-platform:frontDoor.controller.install: given true; gives the IAM role data-dev-aws-lb-controller, "
        "Helm release kube-system/aws-load-balancer-controller that stack dev (Pulumi.dev.yaml) also claims; install "
        "the controller from one stack per cluster (frontDoor.controller.install: false on the others); its IAM role "
        "is named after the cluster, account-wide",
    ]
    assert _problems(directory, "dev") != [], "dev is told too: whichever stack goes up second would fail"


def test_an_instance_name_taken_by_another_stack_is_refused_with_the_names_it_would_share(tmp_path):
    alice = _alice_dev()
    alice["config"][PROJECT + "instanceName"] = "dev"
    [line] = _problems(_directory(tmp_path, alice_dev=alice), "alice-dev")
    assert re.match(
        r'airflow-platform:instanceName: given "dev"; gives the IAM role etl-airflow-dev-scheduler, IAM role '
        r"etl-airflow-dev-api-server, IAM role etl-airflow-dev-dag-processor and \d+ more that stack dev "
        r"\(Pulumi\.dev\.yaml\) also claims; give each stack its own",
        line,
    ), line


def test_the_same_namespace_collides_on_the_same_cluster_only(tmp_path):
    airflow = {"namespace": "airflow-uat", "metrics": {"prometheusNamespace": "monitoring"}}
    same = _stack_file("uat", environment="uat", airflow=airflow)
    assert _problems(_directory(tmp_path, same=same), "same") == [
        'airflow-platform:airflow.namespace: given "airflow-uat"; gives the namespace airflow-uat, namespace '
        "airflow-uat-tasks, namespace airflow-uat-bootstrap and 1 more that stack uat (Pulumi.uat.yaml) also "
        "claims; give each stack its own namespace"
    ]
    elsewhere = _staging()
    elsewhere["config"][PROJECT + "airflow"] = airflow
    assert _problems(_directory(tmp_path, elsewhere=elsewhere), "elsewhere") == []


@pytest.mark.parametrize("suffix", ["tasks", "bootstrap", "logs"])
def test_a_namespace_that_is_another_stacks_task_bootstrap_or_log_namespace_collides(tmp_path, suffix):
    airflow = {"namespace": f"airflow-uat-{suffix}", "metrics": {"prometheusNamespace": "monitoring"}}
    taken = _stack_file("uat", environment="uat", airflow=airflow)
    assert _problems(_directory(tmp_path, taken=taken), "taken") == [
        f'airflow-platform:airflow.namespace: given "airflow-uat-{suffix}"; gives the namespace '
        f"airflow-uat-{suffix} that stack uat (Pulumi.uat.yaml) also claims; give each stack its own namespace"
    ]


def test_stacks_pinned_to_different_accounts_share_instance_names_but_never_a_bucket_name(tmp_path):
    pinned = {"aws:allowedAccountIds": ["444455556666"]}
    twin = _stack_file("uat", instanceName="uat", environment="uat", **pinned)
    uat = _stack_file("uat", **{"aws:allowedAccountIds": ["111122223333"]})
    directory = _directory(tmp_path, twin=twin)
    (directory / "Pulumi.uat.yaml").write_text(yaml.safe_dump(uat))
    assert _problems(directory, "twin") == []
    twin["config"][PROJECT + "buckets"] = {"dagBucketName": "acme-airflow-dags"}
    uat["config"][PROJECT + "buckets"] = {"dagBucketName": "acme-airflow-dags"}
    (directory / "Pulumi.twin.yaml").write_text(yaml.safe_dump(twin))
    (directory / "Pulumi.uat.yaml").write_text(yaml.safe_dump(uat))
    [line] = _problems(directory, "twin")
    assert line.startswith('airflow-platform:buckets.dagBucketName: given "acme-airflow-dags"; gives the S3 bucket')


def test_a_stack_file_with_an_invalid_config_is_left_to_its_own_run(tmp_path):
    broken = _stack_file("dev", environment="staging")
    assert _problems(_directory(tmp_path, broken=broken), "dev") == []


def test_without_a_project_file_there_is_nothing_to_compare(tmp_path):
    check_other_stacks(stack_settings("dev"), {}, "dev", tmp_path)


def test_the_plan_lists_the_names_with_where_each_must_be_unique():
    text = render_text("dev", stack_inventory("dev"))
    section = text.split("## Physical names", 1)[1].split("== stack outputs", 1)[0]
    rows = {" ".join(line.split()) for line in section.splitlines()}
    assert "IAM role etl-airflow-dev-worker (unique in the account)" in rows
    assert "namespace airflow-dev (unique in the cluster)" in rows
    assert "airflow-db-bootstrap" not in section, "objects inside the namespace are not listed one by one"
