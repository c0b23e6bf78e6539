"""The workflows' shell scripts, run with stand-ins for `gh` and `pulumi` on PATH (no network)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from offline import REPO

CI = REPO / ".ci"


def fake(bin_dir: Path, name: str, script: str) -> None:
    """An executable `name` in bin_dir that runs the given bash (it sees "$@")."""
    path = bin_dir / name
    path.write_text(f"#!/usr/bin/env bash\n{script}\n")
    path.chmod(0o755)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "calls").write_text("")
    return {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "GITHUB_REPOSITORY": "acme/airflow",
        "GITHUB_SHA": "a" * 40,
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "CALLS": str(tmp_path / "calls"),
        "BIN": str(bin_dir),
    }


def run(script: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CI / script), *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=60)


def test_head_of_main_refuses_a_commit_main_has_left(env) -> None:
    fake(Path(env["BIN"]), "gh", f'echo "{"b" * 40}"')
    refused = run("head-of-main", env)
    assert refused.returncode == 1
    assert refused.stdout.count("\n") == 1 and "::error title=Not the head of main::" in refused.stdout
    fake(Path(env["BIN"]), "gh", f'echo "{"a" * 40}"')
    assert run("head-of-main", env).returncode == 0


def _github(
    env: dict[str, str],
    pulls: dict[int, tuple[str, list[str]]],
    commit_author: str = "merger",
    *,
    head_pulls: list[int] | None = None,
    deployed: str = "",
    earlier: dict[str, tuple[list[int], str]] | None = None,
) -> None:
    """A stand-in `gh api`: pull requests (number -> author, commit authors; "" = unlinked email), the head
    commit's pull requests and author, the commit last deployed to prod and the commits since (sha -> pull
    requests, author). It prints what `gh api --jq` prints for the scripts' filters, so no jq is needed."""
    head = "a" * 40
    commits = {head: (list(pulls) if head_pulls is None else head_pulls, commit_author), **(earlier or {})}
    routes = {"repos/acme/airflow/deployments?environment=prod&per_page=50": [f"1 {deployed}"] if deployed else []}
    routes["repos/acme/airflow/deployments/1/statuses?per_page=1"] = ["success"]
    routes[f"repos/acme/airflow/compare/{deployed}...{head}"] = [str(len(commits)), *commits]
    for sha, (numbers, author) in commits.items():
        routes[f"repos/acme/airflow/commits/{sha}/pulls"] = [str(n) for n in numbers]
        routes[f"repos/acme/airflow/commits/{sha}"] = [author or "-"]
    for number, (author, authors) in pulls.items():
        routes[f"repos/acme/airflow/pulls/{number}"] = [author or "-"]
        routes[f"repos/acme/airflow/pulls/{number}/commits"] = [a or "-" for a in authors]
    # One line each, newline-terminated, as gh prints them.
    cases = "\n".join(
        f"  '{path}') " + (f"printf '%s\\n' {' '.join(map(repr, lines))}" if lines else ":") + " ;;"
        for path, lines in routes.items()
    )
    fake(
        Path(env["BIN"]),
        "gh",
        f"""path=""
while [ $# -gt 0 ]; do case "$1" in --jq) shift 2;; api|--paginate) shift;; *) path=$1; shift;; esac; done
case "$path" in
{cases}
  *) echo "unexpected gh api $path" >&2; exit 9 ;;
esac""",
    )


BOBS_PR = {12: ("bob", ["bob", "bob"])}


@pytest.mark.parametrize(
    ("actor", "approvers", "pulls", "commit_author", "refusal"),
    [
        ("alice", "alice, carol", BOBS_PR, "alice", None),  # alice clicked merge: not an author by that alone
        ("Alice", "alice,carol", BOBS_PR, "merger", None),
        ("mallory", "alice carol", BOBS_PR, "merger", "Not a prod approver"),
        ("alice", "", BOBS_PR, "merger", "Not a prod approver"),
        ("alice", "alice carol", {12: ("alice", ["bob"])}, "merger", "Self-approval"),  # her pull request
        ("alice", "alice carol", {12: ("bob", ["bob", "Alice"])}, "merger", "Self-approval"),  # her commit in it
        ("alice", "alice carol", {12: ("bob", ["bob"]), 13: ("carol", ["alice"])}, "merger", "Self-approval"),
        ("alice", "alice carol", {12: ("bob", ["bob", ""])}, "merger", "Unknown author"),  # unlinked email
        ("alice", "alice carol", {}, "bob", None),  # pushed without a pull request: its author counts
        ("alice", "alice carol", {}, "alice", "Self-approval"),
        ("alice", "alice carol", {}, "", "Unknown author"),
    ],
)
def test_prod_approver_is_listed_and_wrote_none_of_the_change(
    env, actor, approvers, pulls, commit_author, refusal
) -> None:
    _github(env, pulls, commit_author)
    result = run("prod-approver", {**env, "ACTOR": actor, "APPROVERS": approvers, "STACK": "prod"})
    if refusal is None:
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.startswith(f"prod deploy of {'a' * 40} approved by {actor}")
    else:
        assert result.returncode == 1 and result.stdout.startswith(f"::error title={refusal}::"), result.stdout


def test_prod_approver_checks_every_commit_since_the_last_prod_deploy(env) -> None:
    """Alice's pull request #11 merged while prod waited; Bob's #12 is the head: Alice may not ship both."""
    base, earlier = "d" * 40, "c" * 40
    pulls = {11: ("alice", ["alice"]), 12: ("bob", ["bob"])}
    approver = {**env, "ACTOR": "alice", "APPROVERS": "alice carol", "STACK": "prod"}
    _github(env, pulls, head_pulls=[12], deployed=base, earlier={earlier: ([11], "alice")})
    refused = run("prod-approver", approver)
    assert refused.returncode == 1
    assert refused.stdout.startswith("::error title=Self-approval::alice wrote the 2 commits since " + base)
    assert "(pull requests #12, #11)" in refused.stdout
    _github(env, pulls, head_pulls=[12], deployed=earlier)  # prod already runs #11: only #12 is new
    allowed = run("prod-approver", approver)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


def _drift_issue(env: dict[str, str], result: str, open_issue: str = "") -> tuple[int, list[str], str]:
    fake(
        Path(env["BIN"]),
        "gh",
        f'echo "$*" >> "$CALLS"; if [ "$1 $2" = "issue list" ]; then echo "{open_issue}"; fi',
    )
    done = run("drift-issue", env, "prod", result, "https://github.com/acme/airflow/actions/runs/1")
    return done.returncode, Path(env["CALLS"]).read_text().splitlines(), done.stdout


def test_drift_opens_one_issue_per_stack_and_comments_while_it_lasts(env) -> None:
    code, calls, out = _drift_issue(env, "drift")
    assert code == 0 and "::warning title=Drift in prod::" in out
    assert any(
        c.startswith("issue create --repo acme/airflow --title Drift in stack prod --label drift") for c in calls
    )
    Path(env["CALLS"]).write_text("")
    code, calls, _ = _drift_issue(env, "drift", open_issue="7")
    assert code == 0 and [c for c in calls if c.startswith("issue ")][1].startswith("issue comment 7 ")
    assert not any("issue create" in c for c in calls)


def test_a_clean_run_closes_the_issue(env) -> None:
    code, calls, _ = _drift_issue(env, "clean", open_issue="7")
    assert code == 0 and any(c.startswith("issue close 7 ") for c in calls)


@pytest.mark.parametrize(
    ("result", "words"),
    [
        ("policy", "Policy failure in prod (not drift)"),
        ("error", "Drift check failed in prod (not drift)"),
        ("", "Drift check failed"),
    ],
)
def test_policy_and_runner_failures_fail_the_job_and_leave_the_issue_alone(env, result, words) -> None:
    code, calls, out = _drift_issue(env, result, open_issue="7")
    assert code == 1 and words in out
    assert not [c for c in calls if c.startswith(("issue create", "issue close", "issue comment"))]


def test_drift_script_classifies_the_preview_for_the_next_step(env, tmp_path: Path) -> None:
    preview = {
        "steps": [{"op": "update", "urn": "urn:pulumi:dev::airflow-platform::aws:s3/bucket:Bucket::dags"}],
        "changeSummary": {"update": 1, "same": 9},
    }
    fake(
        Path(env["BIN"]),
        "pulumi",
        f'echo "$*" >> "$CALLS"; if [ "$1" = preview ]; then echo \'{json.dumps(preview)}\'; fi',
    )
    done = run("drift", {**env, "PULUMI_BACKEND_URL": "s3://state"}, "dev", "policy/config/dev.json")
    assert done.returncode == 0, done.stderr
    assert Path(env["GITHUB_OUTPUT"]).read_text() == "result=drift\n"
    assert (
        "update urn:pulumi:dev::airflow-platform::aws:s3/bucket:Bucket::dags"
        in Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    )
    calls = Path(env["CALLS"]).read_text().splitlines()
    assert calls[0] == "login s3://state"
    assert calls[1].startswith(
        "preview --stack dev --refresh --json --non-interactive --policy-pack policy --policy-pack-config policy/config/dev.json"
    )


LOCKS = "s3://state/.pulumi/locks/organization/airflow-platform/dev/"
LOCK = '{"pid":7,"username":"ops","hostname":"laptop","timestamp":"2026-12-06T04:00:00Z"}'


def _aws(env: dict[str, str], locked_calls: int) -> None:
    """A stand-in `aws`: `s3 ls` lists a lock for the first locked_calls calls, then nothing (exit 1, as the CLI)."""
    fake(
        Path(env["BIN"]),
        "aws",
        f"""echo "$*" >> "$CALLS"
if [ "$2" = cp ]; then echo '{LOCK}'; exit 0; fi
n=$(grep -c '^s3 ls' "$CALLS")
if [ "$n" -le {locked_calls} ]; then echo "2026-12-06 04:00:00         95 0f1e-lock.json"; exit 0; fi
exit 1""",
    )


def test_wait_for_lock_waits_until_the_lock_is_gone(env) -> None:
    _aws(env, locked_calls=2)
    lock_env = {**env, "PULUMI_BACKEND_URL": "s3://state?region=eu-west-1", "LOCK_POLL_SECONDS": "0"}
    done = run("wait-for-lock", lock_env, "dev")
    assert done.returncode == 0, done.stdout
    assert Path(env["CALLS"]).read_text().splitlines() == [f"s3 ls {LOCKS}"] * 3
    assert done.stdout.count("is locked (0f1e-lock.json)") == 2


def test_wait_for_lock_gives_up_in_one_line_naming_the_holder(env) -> None:
    _aws(env, locked_calls=99)
    lock_env = {**env, "PULUMI_BACKEND_URL": "s3://state", "LOCK_WAIT_SECONDS": "0", "LOCK_POLL_SECONDS": "0"}
    done = run("wait-for-lock", lock_env, "dev")
    assert done.returncode == 1
    [line] = [line for line in done.stdout.splitlines() if line.startswith("::error")]
    assert line.startswith("::error title=Stack dev is locked::still locked after 0 s by 0f1e-lock.json: ")
    assert '"username":"ops","hostname":"laptop"' in line and f"delete {LOCKS}<id>.json" in line


def test_wait_for_lock_fails_on_an_aws_error_rather_than_deploying_blind(env) -> None:
    fake(Path(env["BIN"]), "aws", 'echo "An error occurred (AccessDenied) when calling ListObjectsV2" >&2; exit 254')
    done = run("wait-for-lock", {**env, "PULUMI_BACKEND_URL": "s3://state"}, "dev")
    assert done.returncode == 1 and "::error title=Lock check failed::" in done.stdout and "AccessDenied" in done.stdout


def _deploys(env: dict[str, str], running: str, deployments: list[tuple[int, str, str]]) -> None:
    """A stand-in `gh`: a deploy.yml run in progress (its URL or ""), and environment dev's deployments,
    newest first, as (id, sha, latest status); it prints what `--jq` would."""
    statuses = "\n".join(f'    *deployments/{i}/statuses*) echo "{state}" ;;' for i, _, state in deployments)
    listing = "".join(f"{i} {sha}\\n" for i, sha, _ in deployments)
    fake(
        Path(env["BIN"]),
        "gh",
        f"""echo "$*" >> "$CALLS"
case "$*" in
  "run list"*) echo "{running}" ;;
  "issue list"*) echo "7" ;;
  "api repos/acme/airflow/deployments?environment=dev&per_page=50"*) printf '{listing}' ;;
{statuses}
  issue*) ;;
  *) echo "unexpected gh $*" >&2; exit 9 ;;
esac""",
    )


def test_drift_targets_the_commit_last_deployed_to_the_stack(env) -> None:
    _deploys(env, "", [(3, "c" * 40, "failure"), (2, "b" * 40, "success"), (1, "9" * 40, "success")])
    done = run("drift-target", env, "dev")
    assert done.returncode == 0, done.stderr
    assert Path(env["GITHUB_OUTPUT"]).read_text() == f"sha={'b' * 40}\n"  # not main's head, not a failed up


@pytest.mark.parametrize(
    ("running", "deployments", "why"),
    [
        ("https://github.com/acme/airflow/actions/runs/5", [(2, "b" * 40, "success")], "a deploy is running"),
        ("", [(3, "c" * 40, "in_progress")], "no successful deployment of environment dev yet"),
        ("", [], "no successful deployment of environment dev yet"),
    ],
)
def test_drift_is_not_checked_during_a_deploy_or_before_the_first(env, running, deployments, why) -> None:
    _deploys(env, running, deployments)
    done = run("drift-target", env, "dev")
    assert done.returncode == 0 and not Path(env["GITHUB_OUTPUT"]).exists()  # the drift steps skip
    assert done.stdout.startswith("::notice title=Drift of dev not checked::") and why in done.stdout


def test_drift_found_while_a_deploy_started_is_not_reported(env) -> None:
    _deploys(env, "https://github.com/acme/airflow/actions/runs/6", [])
    done = run("drift-issue", env, "dev", "drift", "https://github.com/acme/airflow/actions/runs/1")
    assert done.returncode == 0 and "::notice title=Drift of dev not reported::" in done.stdout
    calls = Path(env["CALLS"]).read_text().splitlines()
    assert not [c for c in calls if c.startswith(("issue create", "issue comment", "issue close"))]
