"""GitHub workflows: pinned actions, the Pulumi CLI matching the SDK, promotion order and safety.

.ci/run lints the same files with the workflow schema, actionlint and zizmor; these tests check
what is particular to this repo.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import yaml

from offline import REPO
from pipeline.roles import DEPLOY_SESSION_SECONDS, PREVIEW_SESSION_SECONDS, ci_roles
from pipeline.stacks import github_matrices, is_prod
from tests.support import STACKS

WORKFLOWS = REPO / ".github" / "workflows"
PINNED = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)$")


@cache
def workflow(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job.get("steps", []) if str(s.get("uses", "")).startswith(action + "@")]


def test_every_action_is_pinned_to_a_commit_with_one_version_comment_per_commit() -> None:
    versions: dict[str, set[str]] = {}
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for line in path.read_text().splitlines():
            if re.match(r"^\s*(- )?uses:", line):
                match = PINNED.match(line)
                assert match, f"{path.name}: {line.strip()} is not <action>@<40-hex sha> # vX.Y.Z"
                versions.setdefault(f"{match[1]}@{match[2]}", set()).add(match[3])
    assert versions and all(len(v) == 1 for v in versions.values()), versions


def test_the_pulumi_cli_is_pinned_to_the_sdk_version() -> None:
    sdk = re.search(r"^pulumi==(\S+)$", (REPO / "requirements.txt").read_text(), re.MULTILINE)
    assert sdk
    for name in ("pull-request.yml", "deploy.yml", "drift.yml"):
        for job in workflow(name)["jobs"].values():
            for step in steps_using(job, "pulumi/actions"):
                assert str(step["with"]["pulumi-version"]) == sdk[1], name


CREDENTIALS = "aws-actions/configure-aws-credentials"
DEPLOY_ROLE = "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
PREVIEW_ROLE = "${{ vars.AWS_PREVIEW_ROLE_ARN }}"
# The GitHub environment each role variable lives in (environment-scoped variables).
ENVIRONMENT_OF_ROLE = {DEPLOY_ROLE: "${{ matrix.stack }}", PREVIEW_ROLE: "preview-${{ matrix.stack }}"}
PULUMI_WORKFLOWS = ("pull-request.yml", "deploy.yml", "drift.yml")


def credentialed_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    """(workflow, job id, job) of every job that can ask for an OIDC token."""
    return [
        (path.name, job_id, job)
        for path in sorted(WORKFLOWS.glob("*.yml"))
        for job_id, job in workflow(path.name)["jobs"].items()
        if (job.get("permissions") or {}).get("id-token") == "write"
    ]


def step_index(job: dict[str, Any], predicate) -> int:
    return next(i for i, step in enumerate(job["steps"]) if predicate(step))


def test_every_credentialed_job_runs_in_the_environment_of_its_role_for_longer_than_its_timeout() -> None:
    jobs = credentialed_jobs()
    assert {(name, job_id) for name, job_id, _ in jobs} == {
        ("pull-request.yml", "preview"),
        ("deploy.yml", "deploy-dev"),
        ("deploy.yml", "deploy-uat"),
        ("deploy.yml", "preview-prod"),
        ("deploy.yml", "deploy-prod"),
        ("drift.yml", "drift"),
    }
    sessions = {"deploy": DEPLOY_SESSION_SECONDS, "preview": PREVIEW_SESSION_SECONDS}
    for name, job_id, job in jobs:
        [step] = steps_using(job, CREDENTIALS)
        role = step["with"]["role-to-assume"]
        assert job["environment"] == ENVIRONMENT_OF_ROLE[role], (name, job_id)
        duration = int(step["with"]["role-duration-seconds"])
        assert job["timeout-minutes"] * 60 < duration <= sessions["deploy" if role == DEPLOY_ROLE else "preview"]


def test_pull_request_jobs_never_reach_a_prod_or_deploy_credential() -> None:
    jobs = workflow("pull-request.yml")["jobs"]
    assert workflow("pull-request.yml")[True] == {"pull_request": {"branches": ["main"]}}  # `on:` parses as True
    preview = jobs["preview"]
    assert preview["strategy"]["matrix"] == "${{ fromJSON(needs.stacks.outputs.preview) }}"
    assert jobs["stacks"]["outputs"] == {"preview": "${{ steps.stacks.outputs.preview }}"}
    assert steps_using(preview, CREDENTIALS)[0]["with"]["role-to-assume"] == PREVIEW_ROLE
    assert "AWS_DEPLOY_ROLE_ARN" not in (WORKFLOWS / "pull-request.yml").read_text()
    previewed = [entry["stack"] for entry in github_matrices()["preview"]["include"]]
    assert previewed and not any(is_prod(stack) for stack in previewed)
    # The roles behind those environments: no PR ref may assume a prod stack's role or any deploy role.
    for role in ci_roles():
        pr_subjects = [s for s in role.subjects if ":ref:refs/pull/" in s]
        if role.kind == "deploy" or is_prod(role.stack):
            assert role.subjects == (f"repo:ORG/REPO:environment:{role.environment}:ref:refs/heads/main",), role
        else:
            assert pr_subjects == [f"repo:ORG/REPO:environment:preview-{role.stack}:ref:refs/pull/*/merge"], role


def test_every_pulumi_job_first_checks_its_stack_file_and_every_deploy_first_checks_the_head_of_main() -> None:
    """Checkout, then setup-python (a self-hosted runner may have no python3), then the stack-file check."""
    for name in PULUMI_WORKFLOWS:
        for job_id, job in workflow(name)["jobs"].items():
            if not steps_using(job, "pulumi/actions"):
                continue
            first = [str(step.get("uses", "")).split("@")[0] for step in job["steps"][:2]]
            assert first == ["actions/checkout", "actions/setup-python"], (name, job_id)
            check = step_index(job, lambda s: "pipeline.stacks check" in str(s.get("run", "")))
            credentials = step_index(job, lambda s: str(s.get("uses", "")).startswith(CREDENTIALS + "@"))
            assert check == 2 and check < credentials, (name, job_id)  # before any install or credential
            if name == "deploy.yml":
                guard = step_index(job, lambda s: s.get("run") == ".ci/head-of-main")
                assert guard == 3, job_id  # next: before the install, the credentials and Pulumi


def test_deploy_promotes_dev_uat_then_previews_prod_before_the_gate() -> None:
    jobs = workflow("deploy.yml")["jobs"]
    assert jobs["deploy-dev"]["needs"] == ["tests", "stacks"]
    assert jobs["deploy-uat"]["needs"] == ["stacks", "deploy-dev"]
    assert jobs["preview-prod"]["needs"] == ["stacks", "deploy-uat"]
    assert jobs["deploy-prod"]["needs"] == ["stacks", "preview-prod"]
    for job_id, stage in (("deploy-dev", "dev"), ("deploy-uat", "uat"), ("deploy-prod", "prod")):
        job = jobs[job_id]
        assert job["strategy"] == {"fail-fast": False, "matrix": f"${{{{ fromJSON(needs.stacks.outputs.{stage}) }}}}"}
        assert job["environment"] == "${{ matrix.stack }}"
        assert job["concurrency"] == {"group": "pulumi-${{ matrix.stack }}", "cancel-in-progress": False}
        [up] = steps_using(job, "pulumi/actions")
        assert up["with"]["command"] == "up" and up["with"]["stack-name"] == "${{ matrix.stack }}"
    preview = jobs["preview-prod"]
    assert preview["strategy"]["matrix"] == "${{ fromJSON(needs.stacks.outputs.prod) }}"
    assert preview["concurrency"]["group"] == "pulumi-${{ matrix.stack }}"
    [step] = steps_using(preview, "pulumi/actions")
    assert step["with"]["command"] == "preview" and step["with"]["comment-on-summary"] is True
    assert preview["permissions"] == {"contents": "read", "id-token": "write"}


def test_every_up_first_waits_for_the_stacks_lock_with_its_credentials() -> None:
    """A lock held outside CI (or left by a killed run) makes `up` wait, bounded, instead of failing at once."""
    ups = 0
    for job_id, job in workflow("deploy.yml")["jobs"].items():
        for step in steps_using(job, "pulumi/actions"):
            if step["with"].get("command") != "up":
                continue
            ups += 1
            up = job["steps"].index(step)
            wait = job["steps"][up - 1]
            assert wait["run"] == '.ci/wait-for-lock "$STACK"', job_id
            assert wait["env"] == {
                "STACK": "${{ matrix.stack }}",
                "PULUMI_BACKEND_URL": "${{ vars.PULUMI_BACKEND_URL }}",
            }
            assert step_index(job, lambda s: str(s.get("uses", "")).startswith(CREDENTIALS + "@")) < up - 1, job_id
    assert ups == 3


def test_the_dispatch_gate_replaces_required_reviewers_when_asked() -> None:
    """PROD_GATE=dispatch: no prod deploy on push; a manual run by a listed approver, checked before credentials."""
    deploy = workflow("deploy.yml")
    assert set(deploy[True]) == {"push", "workflow_dispatch"}
    prod = deploy["jobs"]["deploy-prod"]
    assert prod["if"] == "vars.PROD_GATE != 'dispatch' || github.event_name == 'workflow_dispatch'"
    approver = step_index(prod, lambda s: s.get("run") == ".ci/prod-approver")
    assert prod["steps"][approver]["if"] == "github.event_name == 'workflow_dispatch'"
    assert prod["steps"][approver]["env"]["APPROVERS"] == "${{ vars.PROD_APPROVERS }}"
    assert prod["steps"][approver]["env"]["STACK"] == "${{ matrix.stack }}"
    # Who wrote the change: pull requests and their commits since the commit last deployed to the stack.
    assert prod["permissions"]["pull-requests"] == "read" and prod["permissions"]["deployments"] == "read"
    assert approver < step_index(prod, lambda s: str(s.get("uses", "")).startswith(CREDENTIALS + "@"))
    for job_id in ("deploy-dev", "deploy-uat", "preview-prod"):
        assert "if" not in deploy["jobs"][job_id]


def test_matrices_come_from_the_stack_files_and_every_stack_has_a_policy_config() -> None:
    stack_files = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in REPO.glob("Pulumi.*.yaml"))
    assert sorted(STACKS) == stack_files
    for name in PULUMI_WORKFLOWS:
        text = (WORKFLOWS / name).read_text()
        assert not re.search(r"stack: \[|stack-name: (dev|uat|prod)\b|config/(dev|uat|prod)\.json", text), name
        for job in workflow(name)["jobs"].values():
            matrix = (job.get("strategy") or {}).get("matrix")
            if matrix is not None:
                assert re.fullmatch(r"\$\{\{ fromJSON\(needs\.stacks\.outputs\.\w+\) \}\}", matrix)
                [step] = steps_using(job, "pulumi/actions") or [None]
                if step and step["with"].get("command"):
                    assert step["with"]["policyPacks"] == "policy"
                    assert step["with"]["policyPackConfigs"] == "${{ matrix.policyConfig }}"
    every = github_matrices()["all"]["include"]
    assert [e["stack"] for e in every] == list(STACKS)
    assert all((REPO / e["policyConfig"]).is_file() for e in every)


def test_drift_checks_the_last_deployed_commit_apart_from_deploys_and_reports_through_one_issue_per_stack() -> None:
    job = workflow("drift.yml")["jobs"]["drift"]
    # Its own group: a newer pending job cancels an older pending one in a group, cancel-in-progress or not.
    assert job["concurrency"] == {"group": "drift-${{ matrix.stack }}", "cancel-in-progress": False}
    deploy_groups = {j["concurrency"]["group"] for j in workflow("deploy.yml")["jobs"].values() if "concurrency" in j}
    assert deploy_groups == {"pulumi-${{ matrix.stack }}"}
    assert job["permissions"] == {
        "contents": "read",
        "id-token": "write",
        "issues": "write",
        "actions": "read",
        "deployments": "read",
    }
    assert job["strategy"]["matrix"] == "${{ fromJSON(needs.stacks.outputs.all) }}"
    steps = job["steps"]
    target = step_index(job, lambda s: s.get("run") == '.ci/drift-target "$STACK"')
    assert steps[target]["id"] == "target"
    # Everything after it runs only with a deployed commit: the checkout of it, the install, credentials, drift.
    checkout = target + 1
    assert steps[checkout]["uses"].startswith("actions/checkout@")
    assert steps[checkout]["with"] == {
        "ref": "${{ steps.target.outputs.sha }}",
        "path": "deployed",
        "persist-credentials": False,
    }
    assert all(step["if"] == "steps.target.outputs.sha != ''" for step in steps[checkout:])
    assert steps[checkout + 1]["run"] == "deployed/.ci/pulumi-venvs"
    assert target < step_index(job, lambda s: str(s.get("uses", "")).startswith(CREDENTIALS + "@"))
    drift = step_index(job, lambda s: str(s.get("run", "")).startswith(".ci/drift "))
    issue = step_index(job, lambda s: str(s.get("run", "")).startswith(".ci/drift-issue "))
    assert steps[drift]["run"] == '.ci/drift "$STACK" "$POLICY_CONFIG" deployed'
    assert drift + 1 == issue and steps[drift]["id"] == "drift"
    assert steps[issue]["env"]["RESULT"] == "${{ steps.drift.outputs.result }}"
    script = (REPO / ".ci" / "drift-issue").read_text()
    assert all(word in script for word in ("drift)", "clean)", "policy)", "gh issue close", "gh issue create"))
    assert "deploy-running" in script  # drift found while a deploy started is not reported


def test_codeowners_guard_what_judges_and_deploys_the_program() -> None:
    owned = {
        line.split()[0]
        for line in (REPO / ".github" / "CODEOWNERS").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"/policy/", "/.github/", "/Pulumi.prod.yaml", "/config/rules.py", "/.ci/", "/pipeline/"} <= owned


def test_no_long_lived_credentials_and_empty_default_permissions() -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        text = path.read_text()
        assert "secrets." not in text and "aws-access-key-id" not in text, path.name
        assert workflow(path.name)["permissions"] == {}, path.name
