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


def test_previews_and_drift_cover_every_stack_file_with_the_policy_pack() -> None:
    stack_files = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in REPO.glob("Pulumi.*.yaml"))
    assert stack_files == sorted(STACKS)
    for name, job_id in (("pull-request.yml", "preview"), ("drift.yml", "drift")):
        job = workflow(name)["jobs"][job_id]
        assert sorted(job["strategy"]["matrix"]["stack"]) == stack_files
        [step] = steps_using(job, "pulumi/actions")
        assert step["with"]["policyPacks"] == "policy"
    drift = steps_using(workflow("drift.yml")["jobs"]["drift"], "pulumi/actions")[0]["with"]
    assert drift["expect-no-changes"] is True and drift["refresh"] is True


def test_deploy_promotes_dev_uat_prod_in_their_environments_without_cancelling() -> None:
    jobs = workflow("deploy.yml")["jobs"]
    assert [jobs[s]["needs"] for s in ("dev", "uat", "prod")] == ["tests", "dev", "uat"]
    for stack in ("dev", "uat", "prod"):
        job = jobs[stack]
        assert job["environment"] == stack
        assert job["concurrency"] == {"group": f"pulumi-up-{stack}", "cancel-in-progress": False}
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        [up] = steps_using(job, "pulumi/actions")
        assert up["with"]["command"] == "up" and up["with"]["stack-name"] == stack


def test_no_long_lived_credentials_and_empty_default_permissions() -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        text = path.read_text()
        assert "secrets." not in text and "aws-access-key-id" not in text, path.name
        assert workflow(path.name)["permissions"] == {}, path.name
