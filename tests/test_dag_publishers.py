"""DAG publisher roles: GitHub OIDC trust pinned to one repository and ref/environment, one folder each."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from components.dag_publishers import (
    DagPublishers,
    DagPublishersArgs,
    Publisher,
    github_subject,
    publisher_statements,
)
from offline import Inventory

BUCKET = "arn:aws:s3:::etl-airflow-dags-prod-111122223333-eu-west-1"
KEY = "arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-0000-4000-8000-000000000001"
PROVIDER_ARN = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
TEAM_A = Publisher("team-a", "etl-airflow-prod-publish-team-a", "acme/team-a-dags", "team-a", ref="refs/heads/main")
TEAM_B = Publisher("team-b", "etl-airflow-prod-publish-team-b", "acme/team-b-dags", "team-b/etl", environment="prod")


def publishers(inventory: Inventory) -> dict[str, Any]:
    roles = {r.inputs["name"]: r for r in inventory.of_type("aws:iam/role:Role")}
    policies = {r.name: json.loads(r.inputs["policy"]) for r in inventory.of_type("aws:iam/rolePolicy:RolePolicy")}
    return {"roles": roles, "policies": policies}


def build(seen: dict[str, Any], oidc_provider: str = "create", kms_key_arn: str | None = KEY) -> Callable[[], Any]:
    """A program building the component; its provider and role ARNs land in ``seen``."""

    def program() -> Any:
        component = DagPublishers(
            "dag-publishers",
            DagPublishersArgs(
                bucket_arn=BUCKET,
                dags_prefix="dags",
                publishers=[TEAM_A, TEAM_B],
                oidc_provider=oidc_provider,  # type: ignore[arg-type]
                kms_key_arn=kms_key_arn,
            ),
        )
        return pulumi.Output.all(component.oidc_provider_arn, component.role_arns).apply(lambda v: seen.update(arns=v))

    return program


def test_subjects_are_exact_per_ref_or_environment() -> None:
    assert github_subject("acme/dags", ref="refs/heads/main") == "repo:acme/dags:ref:refs/heads/main"
    assert github_subject("acme/dags", ref="refs/tags/v1") == "repo:acme/dags:ref:refs/tags/v1"
    assert github_subject("acme/dags", environment="prod") == "repo:acme/dags:environment:prod"
    assert github_subject("acme@59/dags@84", environment="prod") == "repo:acme@59/dags@84:environment:prod"
    with pytest.raises(ValueError, match="exactly one"):
        github_subject("acme/dags", ref="refs/heads/main", environment="prod")
    with pytest.raises(ValueError, match="full git ref"):
        github_subject("acme/dags", ref="main")
    with pytest.raises(ValueError, match="ORG/REPO"):
        github_subject("acme/*", environment="prod")


def test_publisher_policy_writes_and_lists_only_its_folder() -> None:
    statements = publisher_statements(BUCKET, "dags/team-a/", None)
    assert statements == [
        {
            "Sid": "ListOwnFolder",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [BUCKET],
            "Condition": {"StringLike": {"s3:prefix": ["dags/team-a/", "dags/team-a/*"]}},
        },
        {
            "Sid": "WriteOwnFolder",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject", "s3:PutObject"],
            "Resource": [f"{BUCKET}/dags/team-a/*"],
        },
    ]


def test_roles_trust_one_subject_and_write_one_folder(run_components: Callable[..., Inventory]) -> None:
    seen: dict[str, Any] = {}
    inventory = run_components(build(seen))
    provider = inventory.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert "thumbprintLists" not in provider.inputs
    assert provider.retain_on_delete  # shared by the account's other stacks: a destroy leaves it
    found = publishers(inventory)
    assert set(found["roles"]) == {TEAM_A.role_name, TEAM_B.role_name}
    for publisher, folder, subject in (
        (TEAM_A, "dags/team-a", "repo:acme/team-a-dags:ref:refs/heads/main"),
        (TEAM_B, "dags/team-b/etl", "repo:acme/team-b-dags:environment:prod"),
    ):
        [trust] = json.loads(found["roles"][publisher.role_name].inputs["assumeRolePolicy"])["Statement"]
        assert trust["Principal"] == {"Federated": PROVIDER_ARN}
        assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert trust["Condition"] == {
            "StringEquals": {
                "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                "token.actions.githubusercontent.com:sub": subject,
            }
        }
        policy = found["policies"][f"dag-publishers-{publisher.key}-publish-dags"]
        assert policy["Statement"] == publisher_statements(BUCKET, folder, KEY)
        assert policy["Statement"][-1]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert seen["arns"] == [
        PROVIDER_ARN,
        {key: f"arn:aws:iam::111122223333:role/{p.role_name}" for key, p in (("team-a", TEAM_A), ("team-b", TEAM_B))},
    ]


def test_an_existing_github_provider_is_looked_up(run_components: Callable[..., Inventory]) -> None:
    seen: dict[str, Any] = {}
    inventory = run_components(build(seen, oidc_provider="existing", kms_key_arn=None))
    assert inventory.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    assert seen["arns"][0] == PROVIDER_ARN
    policy = publishers(inventory)["policies"]["dag-publishers-team-a-publish-dags"]
    assert not any(a.startswith("kms:") for s in policy["Statement"] for a in s["Action"])


def test_publishers_are_checked_before_any_resource() -> None:
    with pytest.raises(ValueError, match="IAM allows 1-64"):
        Publisher(key="x", role_name="r" * 65, repository="acme/dags", folder="x", ref="refs/heads/main")
    with pytest.raises(ValueError, match="must not be empty"):
        Publisher(key="x", role_name="r", repository="acme/dags", folder="/", ref="refs/heads/main")
    nested = Publisher(key="c", role_name="c", repository="acme/c", folder="team-b", environment="prod")
    with pytest.raises(ValueError, match="equal or nested"):
        DagPublishersArgs(bucket_arn=BUCKET, dags_prefix="dags", publishers=[TEAM_A, TEAM_B, nested])
