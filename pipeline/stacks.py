"""The stacks of this repository, from its `Pulumi.<stack>.yaml` files: names, environments, matrices.

    python -m pipeline.stacks matrix          # key=JSON lines for $GITHUB_OUTPUT
    python -m pipeline.stacks check STACK [--backend URL]
        # one line when Pulumi.<STACK>.yaml is missing or names no AWS KMS secrets provider, or the
        # backend URL is not s3://... (standard library only: runs before anything is installed)

Adding a stack is adding its file: every workflow matrix comes from here.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROJECT = "airflow-platform"
ENVIRONMENT_ORDER = ("dev", "uat", "prod")  # promotion order of deploy.yml
PROD_WORDS = frozenset({"prod", "production"})
SECRETS_PROVIDER = re.compile(r"^secretsprovider:[ \t]*['\"]?([^'\"#\s]+)", re.MULTILINE)
KMS_PROVIDER = "awskms://"


def stack_names(repo: Path = REPO) -> list[str]:
    """Every stack with a file, dev/uat/prod first, then by name."""
    names = [path.name[len("Pulumi.") : -len(".yaml")] for path in repo.glob("Pulumi.*.yaml")]
    return sorted(names, key=lambda n: (ENVIRONMENT_ORDER.index(n) if n in ENVIRONMENT_ORDER else 99, n))


def stack_name_says_prod(stack: str) -> bool:
    """The rule of config.profiles.stack_name_says_prod (the loader) and the policy pack."""
    return any(part in PROD_WORDS for part in re.split(r"[-_.\s]+", stack.strip().lower()))


def stack_environment(stack: str, repo: Path = REPO) -> str:
    """`airflow-platform:environment` of the stack file, else the stack name (as the program reads it).

    A stack whose name says prod is prod whatever its file says (the loader refuses the mismatch).
    """
    import yaml

    document = yaml.safe_load((repo / f"Pulumi.{stack}.yaml").read_text()) or {}
    config = document.get("config") or {}
    configured = config.get(f"{PROJECT}:environment") or config.get("environment")
    if stack_name_says_prod(stack):
        return "prod"
    return str(configured or stack)


def is_prod(stack: str, repo: Path = REPO) -> bool:
    """Prod stacks never get a preview credential in a PR: they are previewed on main, before the gate."""
    return stack_environment(stack, repo) == "prod"


def policy_config(stack: str, repo: Path = REPO) -> str:
    """policy/config/<stack>.json, else the file of the stack's environment (a new stack needs one only if it differs)."""
    own = f"policy/config/{stack}.json"
    return own if (repo / own).is_file() else f"policy/config/{stack_environment(stack, repo)}.json"


def matrices(repo: Path = REPO) -> dict[str, list[str]]:
    """Stack names per list: every stack, the PR-previewable ones (not prod), and one list per deploy stage."""
    names = stack_names(repo)
    environments = {name: stack_environment(name, repo) for name in names}
    unknown = {n: e for n, e in environments.items() if e not in ENVIRONMENT_ORDER}
    if unknown:
        raise ValueError(
            "; ".join(
                f"Pulumi.{n}.yaml: environment {e!r} is not one of {', '.join(ENVIRONMENT_ORDER)} "
                f"(set {PROJECT}:environment)"
                for n, e in unknown.items()
            )
        )
    result = {
        "all": names,
        "preview": [n for n in names if environments[n] != "prod"],
        **{env: [n for n in names if environments[n] == env] for env in ENVIRONMENT_ORDER},
    }
    empty = [env for env in ENVIRONMENT_ORDER if not result[env]]
    if empty:
        raise ValueError(f"no stack file for environment {', '.join(empty)}: deploy.yml promotes dev -> uat -> prod")
    return result


def secrets_provider_problem(stack: str, repo: Path = REPO) -> str | None:
    """One line when Pulumi.<stack>.yaml is missing or names no AWS KMS secrets provider, else None.

    Without one the S3 backend falls back to a passphrase and every preview or up stops at
    "passphrase must be set".
    """
    name = f"Pulumi.{stack}.yaml"
    path = repo / name
    if not path.is_file():
        return f"{name}: no such stack file (stacks here: {', '.join(stack_names(repo)) or 'none'})"
    match = SECRETS_PROVIDER.search(path.read_text())
    if match is None:
        return (
            f"{name}: names no secrets provider; add `secretsprovider: {KMS_PROVIDER}alias/pulumi-airflow-{stack}"
            f"?region=<region>` (README, Deploying for real), or the S3 backend asks for a passphrase"
        )
    if not match[1].startswith(KMS_PROVIDER):
        return f"{name}: secretsprovider {match[1]} is not AWS KMS; use {KMS_PROVIDER}alias/... (one key per stack)"
    return None


def github_matrices(repo: Path = REPO) -> dict[str, dict[str, list[dict[str, str]]]]:
    """The same lists as GitHub matrices: {"include": [{"stack", "policyConfig"}, ...]}."""
    return {
        key: {"include": [{"stack": name, "policyConfig": policy_config(name, repo)} for name in names]}
        for key, names in matrices(repo).items()
    }


def matrix_lines(repo: Path = REPO) -> list[str]:
    """`key=JSON` per matrix, as the workflows read them from $GITHUB_OUTPUT."""
    return [f"{key}={json.dumps(matrix, separators=(',', ':'))}" for key, matrix in github_matrices(repo).items()]


def backend_problem(url: str) -> str | None:
    """The state backend the workflows support: a DIY S3 backend (no Pulumi Cloud login is wired)."""
    if url.startswith("s3://") and len(url) > len("s3://"):
        return None
    return (
        f"repository variable PULUMI_BACKEND_URL is {url or 'unset'}; set it to s3://<state-bucket> "
        "(the workflows log in to an S3 backend only)"
    )


def main(argv: list[str]) -> int:
    if argv == ["matrix"]:
        try:
            print("\n".join(matrix_lines()))
        except ValueError as error:
            print(f"::error::{error}", file=sys.stderr)
            return 1
        return 0
    if argv[:1] == ["check"] and len(argv) in (2, 4) and argv[2:3] in ([], ["--backend"]):
        problems = [secrets_provider_problem(argv[1]), *([backend_problem(argv[3])] if len(argv) == 4 else [])]
        for problem in filter(None, problems):
            print(f"::error file=Pulumi.{argv[1]}.yaml::{problem}", file=sys.stderr)
        if any(problems):
            return 1
        print(f"Pulumi.{argv[1]}.yaml names an AWS KMS secrets provider")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
