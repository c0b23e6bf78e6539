"""The operator documentation: placeholder notices, the deploy walkthrough, outputs and flags it names."""

from __future__ import annotations

import re

import pytest

import plan
from offline import REPO
from tests.support import STACKS, stack_inventory, stack_settings
from tests.variants import break_glass_airflow_2

README = (REPO / "README.md").read_text()


def section(title: str) -> str:
    """One `## ` or `### ` section of the README, up to the next heading of its level or above."""
    match = re.search(rf"\n(#{{2,3}}) {re.escape(title)}\n", README)
    assert match, f"README has no section {title!r}"
    level = len(match.group(1))
    end = re.compile(rf"\n#{{2,{level}}} ").search(README, match.end())
    return README[match.start() : end.start() if end else None]


@pytest.mark.parametrize("stack", STACKS)
def test_stack_file_says_its_ids_are_placeholders(stack: str) -> None:
    text = (REPO / f"Pulumi.{stack}.yaml").read_text()
    header = text[: text.index("config:")]
    assert "placeholders" in header
    assert "Deploying for real" in header


def test_deploy_walkthrough_covers_the_operator_steps() -> None:
    walkthrough = section("Deploying for real")
    for step in (
        '--secrets-provider "awskms://alias/',
        "NAT gateway",
        "https://airflow.apache.org",
        'port-forward \\\n  "svc/$(pulumi stack output apiServiceName)"',
        "pulumi stack output adminPassword --show-secrets",
        'aws s3 sync ./dags "s3://$(pulumi stack output dagBucketName)/',
        "pulumi destroy",
        "pulumi state unprotect",
        "--no-deletion-protection",
    ):
        assert step in walkthrough, step


def test_the_first_prod_admin_never_types_a_password_on_the_command_line() -> None:
    walkthrough = section("Deploying for real")
    command = walkthrough[walkthrough.index("airflow users create") :].split("```")[0]
    assert not re.search(r"(^|\s)(-p|--password|--use-random-password)(\s|=|$)", command)


def test_every_stack_output_the_readme_names_exists() -> None:
    exported = set().union(*(stack_inventory(stack).outputs for stack in STACKS), break_glass_airflow_2().outputs)
    named = set(re.findall(r"pulumi stack output (\w+)", README))
    assert named, "the README names no outputs"
    assert named <= exported, named - exported


def test_plan_flags_in_the_readme_exist() -> None:
    options = {option for action in plan.build_parser()._actions for option in action.option_strings}
    documented = set(re.findall(r"`(?:plan\.py )?[^`]*?(--[a-z]+)", README[: README.index("## What it creates")]))
    assert {"--stack", "--json", "--values"} <= documented <= options


# The reference folder beside the checkout (the class [a] keeps this file from matching itself).
OUTSIDE = re.compile(r'\.\./sh[a]red|"sh[a]red"')


def test_nothing_points_outside_the_repository() -> None:
    for path in [REPO / "README.md", REPO / ".ci" / "run", *REPO.glob("*.py"), *REPO.glob("*/*.py")]:
        if ".venv" not in path.parts:
            assert not OUTSIDE.search(path.read_text()), path


def test_following_the_readme_in_order_never_creates_githubs_oidc_provider_twice() -> None:
    """The CI set-up makes GitHub's IAM OIDC provider by hand (IAM holds one per URL); no stack creates it."""
    ci_setup = section("PR checks and promotion")
    assert "aws iam create-open-id-connect-provider --url https://token.actions.githubusercontent.com" in ci_setup
    walkthrough = section("Deploying for real")
    assert "looks up GitHub's\nIAM OIDC provider: create it first, once per account" in walkthrough
    assert stack_settings("prod").dags.publishers, "prod's example publishes DAGs from CI"
    for stack in STACKS:
        assert stack_settings(stack).dags.github_oidc_provider == "existing"
        providers = stack_inventory(stack).of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
        assert not [p for p in providers if "token.actions.githubusercontent.com" in str(p.inputs.get("url"))]
