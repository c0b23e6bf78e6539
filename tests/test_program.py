"""The whole program per stack file: outputs, secrecy, determinism, component structure and the plan text."""

from __future__ import annotations

import json

import pytest

from offline import Inventory, run_stack
from offline.engine import unwrap
from offline.report import render_json, render_text
from tests.support import STACKS, bucket_of, environment_of, name_stem, namespace_of, stack_inventory, stack_object

OWN_COMPONENTS = {
    "airflow-platform:cluster:ClusterAccess",
    "airflow-platform:database:MetadataDatabase",
    "airflow-platform:storage:AirflowBuckets",
    "airflow-platform:iam:IrsaRole",
}
WORKLOADS = {"scheduler", "api-server", "dag-processor", "worker", "triggerer"}


def db_password(inventory: Inventory) -> str:
    return unwrap(inventory.one("aws:rds/instance:Instance").inputs["password"])


def top_level(inventory: Inventory) -> list:
    """Resources whose parent is the stack itself."""
    return [r for r in inventory.resources if inventory.by_urn(r.parent) is None]


@pytest.mark.parametrize("stack", STACKS)
def test_whole_program_outputs(stack: str) -> None:
    inventory = stack_inventory(stack)
    outputs = inventory.outputs
    assert outputs["environment"] == environment_of(stack)
    assert outputs["clusterName"] == stack_object(stack, "cluster")["name"]
    assert outputs["namespace"] == namespace_of(stack)
    assert outputs["dbEndpoint"].startswith(f"{name_stem(stack)}-metadata.")
    assert outputs["dbEndpoint"].endswith(".rds.amazonaws.com")
    assert outputs["dbPort"] == 5432
    # S3 names are global: the default names carry the account id and the region.
    assert outputs["dagBucketName"] == bucket_of(stack, "dags")
    assert outputs["logBucketName"] == bucket_of(stack, "logs")
    role_arns = outputs["roleArns"]
    assert set(role_arns) == WORKLOADS
    assert all(arn.startswith("arn:aws:iam::111122223333:role/") for arn in role_arns.values())
    assert len(set(role_arns.values())) == 5


@pytest.mark.parametrize("stack", STACKS)
def test_no_output_is_secret_or_leaks_the_password(stack: str) -> None:
    inventory = stack_inventory(stack)
    # The only deliberately secret output is the generated Airflow admin password (not in prod).
    assert inventory.secret_outputs <= {"adminPassword"}
    assert ("adminPassword" in inventory.outputs) == ("adminPassword" in inventory.secret_outputs)
    assert "adminPassword" not in stack_inventory("prod").outputs
    password = db_password(inventory)
    assert len(password) >= 16
    assert password not in json.dumps(inventory.outputs, default=str)


@pytest.mark.parametrize("stack", STACKS)
def test_two_runs_render_byte_identical_json(stack: str) -> None:
    first = render_json(stack, stack_inventory(stack))  # an earlier run in this process
    second = render_json(stack, run_stack(stack))
    assert first == second
    assert json.loads(first)["resources"]


@pytest.mark.parametrize("stack", STACKS)
def test_plan_json_masks_the_password(stack: str) -> None:
    inventory = stack_inventory(stack)
    rendered = render_json(stack, inventory)
    assert db_password(inventory) not in rendered
    [instance] = [r for r in json.loads(rendered)["resources"] if r["type"] == "aws:rds/instance:Instance"]
    assert instance["inputs"]["password"] == "[secret]"


@pytest.mark.parametrize("stack", STACKS)
def test_every_custom_resource_lives_inside_a_project_component(stack: str) -> None:
    inventory = stack_inventory(stack)
    custom = [r for r in inventory.resources if r.custom]
    assert custom
    for resource in custom:
        assert inventory.by_urn(resource.parent) is not None, f"{resource.name} is registered at stack top level"
        current = resource
        while (parent := inventory.by_urn(current.parent)) is not None:
            current = parent
        assert not current.custom
        assert current.type.startswith("airflow-platform:"), (resource.name, current.type)


@pytest.mark.parametrize("stack", STACKS)
def test_top_level_components_are_project_components(stack: str) -> None:
    inventory = stack_inventory(stack)
    types = {r.type for r in top_level(inventory)}
    assert types >= OWN_COMPONENTS
    assert all(t.startswith("airflow-platform:") for t in types), types
    assert all(not r.custom for r in top_level(inventory))


@pytest.mark.parametrize("stack", STACKS)
def test_component_counts(stack: str) -> None:
    inventory = stack_inventory(stack)
    assert len([r for r in top_level(inventory) if r.type == "airflow-platform:iam:IrsaRole"]) == 5
    for token in OWN_COMPONENTS - {"airflow-platform:iam:IrsaRole"}:
        assert len(inventory.of_type(token)) == 1, token


@pytest.mark.parametrize("stack", STACKS)
def test_every_aws_resource_with_tags_is_tagged_with_the_environment(stack: str) -> None:
    for resource in stack_inventory(stack).resources:
        tags = resource.inputs.get("tags")
        if resource.type.startswith("aws:") and tags is not None:
            assert tags["environment"] == environment_of(stack), resource.name
            assert tags["managed-by"] == "pulumi", resource.name


def test_render_text_of_prod_masks_the_password_and_lists_protection() -> None:
    inventory = stack_inventory("prod")
    text = render_text("prod", inventory)
    assert db_password(inventory) not in text
    assert 'password: "[secret]"' in text
    assert "aws:rds/instance:Instance  metadata-db-instance  [protect]" in text
    assert "aws:s3/bucket:Bucket  buckets-dags  [protect]" in text
    assert "== metadata-db (airflow-platform:database:MetadataDatabase)" in text
    assert "== stack outputs" in text
    assert "(stack)" not in text


def test_render_text_of_uat_lists_retain_on_delete() -> None:
    text = render_text("uat", stack_inventory("uat"))
    assert "aws:rds/instance:Instance  metadata-db-instance  [retainOnDelete]" in text
    assert "[protect]" not in text


def test_render_text_of_dev_has_no_protection_flags() -> None:
    text = render_text("dev", stack_inventory("dev"))
    assert "[protect" not in text
    assert "[retainOnDelete]" not in text
