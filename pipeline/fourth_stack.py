"""Adding a stack file keeps CI green: the suite and the matrices on a copy with Pulumi.staging.yaml added.

    python -m pipeline.fourth_stack [--keep]     # .ci/run runs it (as .ci/fourth-stack) after the suite

Copies the repository's files (`git ls-files`, untracked but not ignored files included) to a temporary
directory, adds `Pulumi.staging.yaml`: a second uat stack made from `Pulumi.uat.yaml` as the README's
"Adding a stack" says (its own KMS alias, `environment: uat`, its own name prefix, namespace and secret
prefixes, none of them derived from the word "staging", so a test that guesses names from the stack name
fails). Then runs the README's test command there, and the workflows' matrix computation and stack-file
check. Prints one line: what broke (exit 1), or that the fourth stack passed. `--keep` keeps the copy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pipeline.stacks import PROJECT, REPO

STACK = "staging"
BASE = "uat"
# Names a second stack of an environment must set (README, "Adding a stack"); deliberately not "staging".
NAME_PREFIX = "etl-stg"
NAMESPACE = "airflow-stg"
SECRET_PREFIXES = {"connectionsPrefix": "airflow/stg/connections", "variablesPrefix": "airflow/stg/variables"}
# The matrices the stack must join: every stack (drift), PR previews, and its environment's deploy stage.
EXPECTED_MATRICES = ("all", "preview", BASE)


def staging_stack_file(base_text: str) -> str:
    """The text of Pulumi.staging.yaml: Pulumi.uat.yaml as a second uat stack with names of its own."""
    import yaml

    document = yaml.safe_load(base_text)
    provider = str(document.get("secretsprovider", ""))
    alias = f"alias/pulumi-airflow-{BASE}?"
    if alias not in provider:
        raise ValueError(f"Pulumi.{BASE}.yaml: secretsprovider {provider!r} does not name {alias}...")
    config: dict[str, Any] = document["config"]
    airflow = dict(config.get(f"{PROJECT}:airflow") or {})
    airflow["namespace"] = NAMESPACE
    airflow["secretsBackend"] = {**(airflow.get("secretsBackend") or {}), **SECRET_PREFIXES}
    document["secretsprovider"] = provider.replace(alias, f"alias/pulumi-airflow-{STACK}?")
    document["config"] = {
        f"{PROJECT}:environment": BASE,
        f"{PROJECT}:namePrefix": NAME_PREFIX,
        **config,
        f"{PROJECT}:airflow": airflow,
    }
    # The base file's comments (the placeholder notice), as an operator copying it would keep them.
    notes = [line for line in base_text.split("config:", 1)[0].splitlines() if line.startswith("#")]
    heading = f"# {STACK}: a second {BASE} stack in {BASE}'s account and cluster, with names of its own."
    return "\n".join([heading, *notes, yaml.safe_dump(document, sort_keys=False)])


def repository_files(repo: Path) -> list[str]:
    """What a clone holds (plus untracked files not ignored, so a local run sees new files too)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=repo,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted({name for name in listed.split("\0") if name and (repo / name).is_file()})


def copy_with_fourth_stack(repo: Path, target: Path) -> None:
    for name in repository_files(repo):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, target / name, follow_symlinks=False)
    (target / f"Pulumi.{STACK}.yaml").write_text(staging_stack_file((repo / f"Pulumi.{BASE}.yaml").read_text()))


FAILED_TEST = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)


def suite_problems(returncode: int, output: str) -> list[str]:
    """The failing tests of a `pytest -q -rfE` run, or its last line when it failed without naming one."""
    if returncode == 0:
        return []
    failed = FAILED_TEST.findall(output)
    if failed:
        shown = ", ".join(failed[:8]) + (f" and {len(failed) - 8} more" if len(failed) > 8 else "")
        return [f"{len(failed)} tests fail: {shown}"]
    last = next((line for line in reversed(output.splitlines()) if line.strip()), "no output")
    return [f"the test suite exits {returncode}: {last.strip()}"]


def matrix_problems(returncode: int, output: str) -> list[str]:
    """What `python -m pipeline.stacks matrix` printed wrong for the fourth stack (it feeds every workflow)."""
    if returncode != 0:
        return [f"pipeline.stacks matrix exits {returncode}: {output.strip().splitlines()[-1:] or 'no output'}"]
    found = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    problems = []
    for key in EXPECTED_MATRICES:
        entries = json.loads(found.get(key, '{"include": []}'))["include"]
        entry = next((e for e in entries if e.get("stack") == STACK), None)
        if entry is None:
            problems.append(f"the {key!r} matrix leaves out {STACK}")
        elif entry.get("policyConfig") != f"policy/config/{BASE}.json":
            problems.append(f"the {key!r} matrix gives {STACK} policy config {entry.get('policyConfig')!r}")
    leaked = [key for key in ("dev", "prod") if STACK in found.get(key, "")]
    problems += [f"the {key!r} matrix lists {STACK}" for key in leaked]
    return problems


def _run(command: list[str], cwd: Path) -> tuple[int, str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    return done.returncode, done.stdout + done.stderr


def check(repo: Path, copy: Path) -> list[str]:
    copy_with_fourth_stack(repo, copy)
    if sys.prefix != sys.base_prefix:  # the workflows' scripts the tests run call .venv/bin/python
        (copy / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    python = sys.executable
    problems = suite_problems(*_run([python, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider"], copy))
    problems += matrix_problems(*_run([python, "-m", "pipeline.stacks", "matrix"], copy))
    code, output = _run([python, "-m", "pipeline.stacks", "check", STACK, "--backend", "s3://state-bucket"], copy)
    if code != 0:
        problems.append(f"pipeline.stacks check {STACK}: {output.strip()}")
    return problems


def main(argv: list[str]) -> int:
    if argv not in ([], ["--keep"]):
        print(__doc__, file=sys.stderr)
        return 2
    start = time.monotonic()
    copy = Path(tempfile.mkdtemp(prefix="fourth-stack-"))
    try:
        problems = check(REPO, copy)
    finally:
        if argv != ["--keep"]:
            shutil.rmtree(copy, ignore_errors=True)
    where = f" (copy kept in {copy})" if argv == ["--keep"] else " (.ci/fourth-stack --keep keeps the copy)"
    if problems:
        print(
            f"::error::adding Pulumi.{STACK}.yaml (a second {BASE} stack) breaks CI: {'; '.join(problems)}{where}",
            file=sys.stderr,
        )
        return 1
    print(
        f"fourth stack: with Pulumi.{STACK}.yaml added the suite passes and the PR preview, drift and {BASE} deploy "
        f"matrices list it ({time.monotonic() - start:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
