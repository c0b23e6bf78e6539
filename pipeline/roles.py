"""The AWS IAM roles CI assumes, per stack: who may assume them (GitHub OIDC subjects) and for how long.

    python -m pipeline.roles ORG/REPO    # JSON: role name -> trust policy, session, grants

The repository's OIDC subject template must include the ref (README, "PR checks and promotion"):
    gh api -X PUT repos/ORG/REPO/actions/oidc/customization/sub -F use_default=false \\
      -f 'include_claim_keys[]=repo' -f 'include_claim_keys[]=context' -f 'include_claim_keys[]=ref'
so a job in environment E on ref R presents `repo:ORG/REPO:environment:E:ref:R`, and a role can
trust "environment prod on main" instead of any run that manages to name environment prod.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.stacks import PROJECT, REPO, is_prod, stack_names

ISSUER = "token.actions.githubusercontent.com"
MAIN = "refs/heads/main"
PR_REFS = "refs/pull/*/merge"
# Sessions outlast the longest job that uses them (deploy 120 min, preview and drift 45 min).
DEPLOY_SESSION_SECONDS = 3 * 3600
PREVIEW_SESSION_SECONDS = 3600


def preview_environment(stack: str) -> str:
    """The GitHub environment holding the stack's preview role (PR previews, the prod preview, drift)."""
    return f"preview-{stack}"


def deploy_environment(stack: str) -> str:
    """The GitHub environment holding the stack's deploy role (prod: the one with required reviewers)."""
    return stack


@dataclass(frozen=True)
class CiRole:
    """One role: its name, the OIDC subjects it trusts, its maximum session and what it may do."""

    name: str
    stack: str
    kind: str  # "deploy" or "preview"
    environment: str
    subjects: tuple[str, ...]
    max_session_seconds: int
    grants: list[str] = field(default_factory=list)

    def trust_policy(self, repository: str) -> dict[str, Any]:
        subjects = [s.replace("ORG/REPO", repository) for s in self.subjects]
        exact = all("*" not in s for s in subjects)
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": f"arn:aws:iam::<account-id>:oidc-provider/{ISSUER}"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{ISSUER}:aud": "sts.amazonaws.com",
                            **({f"{ISSUER}:sub": subjects} if exact else {}),
                        },
                        **({} if exact else {"StringLike": {f"{ISSUER}:sub": subjects}}),
                    },
                }
            ],
        }


def subject(environment: str, ref: str) -> str:
    return f"repo:ORG/REPO:environment:{environment}:ref:{ref}"


def state_objects(stack: str) -> list[str]:
    """The stack's objects in the DIY backend's bucket (project mode), exactly: the checkpoint (and its `.bak`/`.gz`
    forms) and its own history, backups and journal folders. No `<stack>*`, which would also match `<stack>-eu`."""
    base = "s3://<state-bucket>/.pulumi"
    return [
        f"{base}/stacks/{PROJECT}/{stack}.json*",
        *(f"{base}/{folder}/{PROJECT}/{stack}/*" for folder in ("history", "backups", "journal")),
    ]


def lock_objects(stack: str) -> str:
    """The stack's lock folder: the DIY backend writes it under `.pulumi/locks/organization/<project>/<stack>/`."""
    return f"s3://<state-bucket>/.pulumi/locks/organization/{PROJECT}/{stack}/*"


def dr_target(stack: str, repo: Path = REPO) -> tuple[str, str] | None:
    """(dr.region, dr.kmsKeyArn) when the stack keeps a DR copy, read as the program reads its file; else None."""
    from config.loader import settings_from_flat_config
    from offline.stack_file import read_stack_config

    config = read_stack_config(repo, stack)
    dr = settings_from_flat_config(config.values, config.secret_keys, stack).dr
    return (dr.region, dr.kms_key_arn) if dr.enabled and dr.region and dr.kms_key_arn else None


def _dr_grants(kind: str, target: tuple[str, str] | None) -> list[str]:
    if target is None:
        return []
    region, key = target
    if kind == "deploy":
        return [
            f"in {region} (the DR copy): rds:StartDBInstanceAutomatedBackupsReplication, "
            "rds:StopDBInstanceAutomatedBackupsReplication, rds:DescribeDBInstanceAutomatedBackups, the replica "
            "buckets (create, configure, tag), iam:PassRole on the stack's replication role",
            f"kms:CreateGrant, kms:DescribeKey on {key} only (RDS encrypts the replicated backups with it)",
        ]
    return [
        f"read-only describe/list/get in {region} too (rds:DescribeDBInstanceAutomatedBackups, the replica buckets' "
        "configuration)",
        f"kms:DescribeKey on {key}",
    ]


def ci_roles(repo: Path = REPO) -> list[CiRole]:
    """Two roles per stack file: deploy (main only) and preview (prod: main only; others: PRs and main)."""
    roles = []
    for stack in stack_names(repo):
        prod = is_prod(stack, repo)
        state = ", ".join(state_objects(stack))
        lock = lock_objects(stack)
        dr = dr_target(stack, repo)
        roles.append(
            CiRole(
                name=f"airflow-ci-deploy-{stack}",
                stack=stack,
                kind="deploy",
                environment=deploy_environment(stack),
                subjects=(subject(deploy_environment(stack), MAIN),),
                max_session_seconds=DEPLOY_SESSION_SECONDS,
                grants=[
                    f"manage the {stack} stack's resources (Pulumi up)",
                    f"read/write {state} and {lock} (list it too: .ci/wait-for-lock)",
                    f"kms:Encrypt, kms:Decrypt, kms:GenerateDataKey on the key of alias/pulumi-airflow-{stack} only",
                    "an EKS access entry on the stack's cluster",
                    *_dr_grants("deploy", dr),
                ],
            )
        )
        preview_refs = (MAIN,) if prod else (PR_REFS, MAIN)
        roles.append(
            CiRole(
                name=f"airflow-ci-preview-{stack}",
                stack=stack,
                kind="preview",
                environment=preview_environment(stack),
                subjects=tuple(subject(preview_environment(stack), ref) for ref in preview_refs),
                max_session_seconds=PREVIEW_SESSION_SECONDS,
                grants=[
                    "read-only describe/list/get on the stack's services (no s3:GetObject outside the state prefix, "
                    "no secretsmanager:GetSecretValue)",
                    f"read {state}; no write anywhere (a DIY-backend preview takes no lock)",
                    f"kms:Decrypt on the key of alias/pulumi-airflow-{stack} only",
                    "a read-only EKS access entry on the stack's cluster",
                    *_dr_grants("preview", dr),
                ],
            )
        )
    return roles


def main(argv: list[str]) -> int:
    if len(argv) != 1 or "/" not in argv[0]:
        print(__doc__, file=sys.stderr)
        return 2
    document = {
        role.name: {
            "githubEnvironment": role.environment,
            "maxSessionDuration": role.max_session_seconds,
            "assumeRolePolicy": role.trust_policy(argv[0]),
            "grants": role.grants,
        }
        for role in ci_roles()
    }
    print(json.dumps(document, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
