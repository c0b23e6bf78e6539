"""CI helpers: stacks from the files (a fourth stack joins every matrix), secrets-provider check, CI roles, drift."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from offline import REPO, read_stack_config
from pipeline import drift, fourth_stack
from pipeline.fourth_stack import staging_stack_file
from pipeline.roles import ci_roles
from pipeline.stacks import (
    github_matrices,
    main,
    matrices,
    matrix_lines,
    secrets_provider_problem,
    stack_environment,
)


@pytest.fixture
def repo_with_staging(tmp_path: Path) -> Path:
    """The stack files and policy configs of the repository plus Pulumi.staging.yaml (environment uat)."""
    for path in [REPO / "Pulumi.yaml", *REPO.glob("Pulumi.*.yaml")]:
        shutil.copy(path, tmp_path / path.name)
    shutil.copytree(REPO / "policy" / "config", tmp_path / "policy" / "config")
    # A second uat stack in uat's account and cluster: its own name prefix, namespace and secret prefixes.
    (tmp_path / "Pulumi.staging.yaml").write_text(staging_stack_file((REPO / "Pulumi.uat.yaml").read_text()))
    return tmp_path


def test_a_fourth_stack_file_joins_the_preview_drift_and_deploy_matrices(repo_with_staging: Path) -> None:
    found = matrices(repo_with_staging)
    assert found["all"] == ["dev", "uat", "prod", "staging"]
    assert found["preview"] == ["dev", "uat", "staging"] and found["uat"] == ["uat", "staging"]
    assert found["prod"] == ["prod"]
    [entry] = [e for e in github_matrices(repo_with_staging)["preview"]["include"] if e["stack"] == "staging"]
    assert entry == {"stack": "staging", "policyConfig": "policy/config/uat.json"}  # no file of its own needed
    assert {r.name for r in ci_roles(repo_with_staging)} >= {"airflow-ci-deploy-staging", "airflow-ci-preview-staging"}
    assert secrets_provider_problem("staging", repo_with_staging) is None
    config = read_stack_config(repo_with_staging, "staging")  # the program reads it as a uat stack
    assert config.values["airflow-platform:environment"] == "uat"


def test_the_fourth_stack_check_copies_what_a_clone_holds_and_adds_the_stack_file(tmp_path: Path) -> None:
    clone, copy = tmp_path / "clone", tmp_path / "copy"
    (clone / "tests").mkdir(parents=True)
    for name in ("Pulumi.yaml", "Pulumi.uat.yaml"):
        shutil.copy(REPO / name, clone / name)
    for name in ("tests/new_test.py", "tests/deleted.py", ".venv/bin/python", "notes.tmp"):
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        (clone / name).write_text("x\n")
    (clone / ".gitignore").write_text(".venv/\n*.tmp\n")
    git = ["git", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q"], cwd=clone, check=True)
    subprocess.run(
        [*git, "add", "Pulumi.yaml", "Pulumi.uat.yaml", ".gitignore", "tests/deleted.py"], cwd=clone, check=True
    )
    (clone / "tests/deleted.py").unlink()
    copy.mkdir()
    fourth_stack.copy_with_fourth_stack(clone, copy)
    copied = {str(p.relative_to(copy)) for p in copy.rglob("*") if p.is_file()}
    # Tracked and new files, not ignored ones nor ones deleted since.
    assert copied == {"Pulumi.yaml", "Pulumi.uat.yaml", ".gitignore", "tests/new_test.py", "Pulumi.staging.yaml"}
    staging = (copy / "Pulumi.staging.yaml").read_text()
    assert "alias/pulumi-airflow-staging?" in staging and "placeholders" in staging.split("config:")[0]
    settings = _settings(copy, "staging")  # names of its own, none derived from the word "staging"
    assert (settings.environment, settings.name_prefix, settings.namespace) == ("uat", "etl-stg", "airflow-stg")


def test_the_fourth_stack_check_reports_the_matrices_that_leave_it_out(repo_with_staging: Path) -> None:
    assert fourth_stack.matrix_problems(0, "\n".join(matrix_lines(repo_with_staging))) == []
    (repo_with_staging / "Pulumi.staging.yaml").unlink()
    assert fourth_stack.matrix_problems(0, "\n".join(matrix_lines(repo_with_staging))) == [
        "the 'all' matrix leaves out staging",
        "the 'preview' matrix leaves out staging",
        "the 'uat' matrix leaves out staging",
    ]
    [problem] = fourth_stack.matrix_problems(1, "::error::Pulumi.staging.yaml: environment 'x' is not one of ...")
    assert problem.startswith("pipeline.stacks matrix exits 1") and "Pulumi.staging.yaml" in problem


def test_the_fourth_stack_check_names_the_failing_tests_in_one_line() -> None:
    output = (
        "..F.E\n=== short test summary info ===\n"
        "FAILED tests/test_irsa.py::test_subjects[staging] - AssertionError: ...\n"
        "ERROR tests/test_x.py::test_y[staging] - KeyError\n2 failed, 1 error in 3.1s\n"
    )
    assert fourth_stack.suite_problems(0, output) == []
    assert fourth_stack.suite_problems(1, output) == [
        "2 tests fail: tests/test_irsa.py::test_subjects[staging], tests/test_x.py::test_y[staging]"
    ]
    assert fourth_stack.suite_problems(4, "ERROR: file or directory not found: tests\n\n") == [
        "the test suite exits 4: ERROR: file or directory not found: tests"
    ]


def test_a_prod_named_stack_is_prod_whatever_its_file_says(repo_with_staging: Path) -> None:
    text = (
        (repo_with_staging / "Pulumi.prod.yaml")
        .read_text()
        .replace("config:\n", "config:\n  airflow-platform:environment: uat\n", 1)
    )
    (repo_with_staging / "Pulumi.prod-eu.yaml").write_text(text)
    assert stack_environment("prod-eu", repo_with_staging) == "prod"
    assert "prod-eu" not in matrices(repo_with_staging)["preview"]


def test_a_stack_with_an_unknown_environment_stops_the_matrix_in_one_line(repo_with_staging: Path) -> None:
    (repo_with_staging / "Pulumi.sandbox.yaml").write_text((REPO / "Pulumi.dev.yaml").read_text())
    with pytest.raises(ValueError, match=r"Pulumi\.sandbox\.yaml: environment 'sandbox' is not one of dev, uat, prod"):
        matrices(repo_with_staging)


def test_every_stack_file_names_its_own_kms_secrets_provider() -> None:
    for path in REPO.glob("Pulumi.*.yaml"):
        stack = path.name[len("Pulumi.") : -len(".yaml")]
        assert secrets_provider_problem(stack) is None
        assert f"alias/pulumi-airflow-{stack}?" in path.read_text()


def test_a_missing_secrets_provider_fails_in_one_line_naming_the_stack_file(repo_with_staging: Path, capsys) -> None:
    path = repo_with_staging / "Pulumi.staging.yaml"
    path.write_text("\n".join(line for line in path.read_text().splitlines() if not line.startswith("secretsprovider")))
    problem = secrets_provider_problem("staging", repo_with_staging)
    assert problem and problem.startswith("Pulumi.staging.yaml: names no secrets provider") and "\n" not in problem
    assert main(["check", "dev", "--backend", "https://api.pulumi.com"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "PULUMI_BACKEND_URL is https://api.pulumi.com" in err
    assert main(["check", "dev", "--backend", "s3://state-bucket"]) == 0


PREVIEW_CLEAN = {"steps": [{"op": "same", "urn": "urn:a"}], "changeSummary": {"same": 40}}
PREVIEW_DRIFT = {
    "steps": [{"op": "update", "urn": "urn:pulumi:prod::airflow-platform::aws:rds/instance:Instance::db"}],
    "changeSummary": {"same": 39, "update": 1},
}


@pytest.mark.parametrize(
    ("code", "stdout", "stderr", "expected"),
    [
        (0, json.dumps(PREVIEW_CLEAN), "", "clean"),
        (0, json.dumps(PREVIEW_DRIFT), "", "drift"),
        (255, "", "error: preview failed: 1 mandatory policy violation", "policy"),
        (255, "", "error: failed to get credentials: ExpiredToken", "error"),
        (0, "not json", "", "error"),
    ],
)
def test_drift_is_told_apart_from_policy_and_runner_failures(code, stdout, stderr, expected) -> None:
    assert drift.classify(code, stdout, stderr) == expected


def test_drift_lists_the_resources_that_would_change() -> None:
    assert drift.changes(json.dumps(PREVIEW_DRIFT)) == [
        "update urn:pulumi:prod::airflow-platform::aws:rds/instance:Instance::db"
    ]


def _settings(directory: Path, stack: str):
    """The stack's validated settings, read from the stack file in directory (no program run)."""
    from config.loader import settings_from_flat_config

    config = read_stack_config(directory, stack)
    return settings_from_flat_config(config.values, config.secret_keys, stack)


def _unique_names(directory: Path, stack: str) -> set[str]:
    """What must be unique in one account and cluster, from the stack's validated settings (no program run)."""
    from config.naming import aws_names, bucket_name

    settings = _settings(directory, stack)
    names = aws_names(settings)
    return {
        names.db_identifier,
        names.db_security_group,
        names.db_monitoring_role,
        names.load_balancer,
        *names.irsa_roles.values(),
        *(bucket_name(settings, kind, "111122223333") for kind in ("dags", "logs")),
        f"namespace/{settings.namespace}",
        *(f"secret/{p}" for p in settings.airflow.secrets_backend.prefixes(settings.environment)),
    }


def test_a_second_uat_stack_set_up_as_the_readme_says_collides_with_nothing(repo_with_staging: Path) -> None:
    ours, uat = _unique_names(repo_with_staging, "staging"), _unique_names(repo_with_staging, "uat")
    assert len(ours) == len(uat) and not ours & uat, ours & uat


def test_only_deploy_roles_may_write_the_stack_lock_where_the_diy_backend_puts_it() -> None:
    for role in ci_roles():
        grants = " ".join(role.grants)
        lock = f".pulumi/locks/organization/airflow-platform/{role.stack}/"
        if role.kind == "deploy":
            assert f"read/write s3://<state-bucket>/.pulumi/stacks/airflow-platform/{role.stack}.json*" in grants
            assert lock in grants
        else:  # `pulumi preview` takes no lock: a PR's role that could write one could block deploys
            assert "no write anywhere" in grants and "/.pulumi/locks/" not in grants


def test_a_stacks_state_grant_matches_its_own_objects_and_not_a_longer_named_stacks() -> None:
    from fnmatch import fnmatchcase

    from pipeline.roles import state_objects
    from pipeline.stacks import PROJECT

    def key(path: str) -> str:
        return f"s3://<state-bucket>/.pulumi/{path}"

    own = [
        key(f"stacks/{PROJECT}/prod.json"),
        key(f"stacks/{PROJECT}/prod.json.bak"),
        key(f"history/{PROJECT}/prod/prod-1733450000000000000.history.json"),
        key(f"backups/{PROJECT}/prod/prod.1733450000000000000.json"),
        key(f"journal/{PROJECT}/prod/0001.json"),
    ]
    other = [p.replace("/prod", "/prod-eu").replace("prod.json", "prod-eu.json") for p in own]
    patterns = state_objects("prod")
    assert all(any(fnmatchcase(path, p) for p in patterns) for path in own)
    assert not any(fnmatchcase(path, p) for path in other for p in patterns)


def test_the_roles_of_a_stack_with_a_dr_copy_reach_the_dr_region_and_key() -> None:
    from pipeline.roles import dr_target
    from tests.support import STACKS, stack_settings

    for stack in STACKS:
        roles = {r.kind: " ".join(r.grants) for r in ci_roles() if r.stack == stack}
        dr = stack_settings(stack).dr
        assert dr_target(stack) == ((dr.region, dr.kms_key_arn) if dr.enabled else None)
        if not dr.enabled:
            assert "StartDBInstanceAutomatedBackupsReplication" not in roles["deploy"]
            continue
        assert f"in {dr.region}" in roles["deploy"] and f"in {dr.region}" in roles["preview"]
        for action in (
            "rds:StartDBInstanceAutomatedBackupsReplication",
            "rds:StopDBInstanceAutomatedBackupsReplication",
        ):
            assert action in roles["deploy"] and action not in roles["preview"]
        assert f"kms:CreateGrant, kms:DescribeKey on {dr.kms_key_arn} only" in roles["deploy"]
        assert f"kms:DescribeKey on {dr.kms_key_arn}" in roles["preview"] and "CreateGrant" not in roles["preview"]
    assert any(stack_settings(stack).dr.enabled for stack in STACKS)
