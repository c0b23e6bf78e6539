"""The README's runbook commands are valid as written for every stack: namespaces, RDS identifiers, stack names.

Each command is read from the README (code blocks and inline code), its shell variables and `pulumi stack
output` substitutions are filled in with what each example stack's plan outputs, and the result is checked
against the rule of the system that receives it.
"""

from __future__ import annotations

import re

import pytest

from offline import REPO
from plan import available_stacks
from tests.support import STACKS, stack_inventory, stack_settings

README = (REPO / "README.md").read_text()
NAMESPACE_OUTPUT = '"$(pulumi stack output namespace)"'
# What `-n` may be given: the stack's namespace as the stack reports it, or the controller's.
# The task and bootstrap namespaces are the stack's namespace with a suffix (airflow_chart/shape.py).
NAMESPACE_ARGUMENTS = {
    NAMESPACE_OUTPUT,
    '"$(pulumi stack output namespace)-tasks"',
    '"$(pulumi stack output namespace)-bootstrap"',
    '"$NS"',
    "kube-system",
}
RDS_FLAGS = (
    "--db-instance-identifier",
    "--db-snapshot-identifier",
    "--new-db-instance-identifier",
    "--source-db-instance-identifier",
    "--target-db-instance-identifier",
    "--db-subnet-group-name",
)
DB_FROM_OUTPUT = re.compile(r"\$\(pulumi stack output dbEndpoint(?: --stack \w+)? \| cut -d\. -f1\)")


def commands() -> list[str]:
    """Every shell fragment of the README: lines of ```bash blocks and inline code spans, whitespace joined."""
    blocks = re.findall(r"```bash\n(.*?)```", README, re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    prose = re.sub(r"```.*?```", "", README, flags=re.S)
    spans = [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose)]
    return [c for c in lines + spans if c]


def assignments(name: str) -> set[str]:
    return {match for command in commands() for match in re.findall(rf"(?:^|\s){name}=(\$\([^)]*\)|\S+)", command)}


def rds_identifier_problem(value: str, limit: int) -> str | None:
    """RDS's rule for instance and snapshot identifiers (and what a subnet group named like the DB must meet)."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", value):
        return "letters, digits and hyphens only, starting with a letter"
    if "--" in value or value.endswith("-"):
        return "no two hyphens in a row, no trailing hyphen"
    return f"at most {limit} characters" if len(value) > limit else None


def expand(argument: str, stack: str) -> str:
    """An argument with the README's variables filled in as the shell would for this stack."""
    identifier = stack_inventory(stack).outputs["dbEndpoint"].split(".")[0]
    [version] = assignments("VERSION") or {"3.1.8"}
    value = DB_FROM_OUTPUT.sub(identifier, argument.strip('"'))
    value = value.replace("${VERSION//./-}", version.replace(".", "-")).replace("$VERSION", version)
    return value.replace("$DB", identifier)


def test_the_rds_rule_here_refuses_what_rds_refuses():
    assert rds_identifier_problem("pre-3.1.8", 255) is not None  # the old runbook's snapshot id
    assert rds_identifier_problem("etl-airflow-prod-metadata-pre-3-1-8", 255) is None


@pytest.mark.parametrize("stack", STACKS)
def test_every_rds_identifier_in_the_runbooks_is_valid_for_the_stack(stack):
    checked = 0
    for command in commands():
        for flag, argument in re.findall(rf"({'|'.join(RDS_FLAGS)})\s+(\"[^\"]+\"|\S+)", command):
            if argument.startswith("<"):
                continue  # a placeholder the reader fills in (a snapshot they chose)
            value = expand(argument, stack)
            limit = 255 if "snapshot" in flag else 63
            assert rds_identifier_problem(value, limit) is None, f"{flag} {argument} -> {value!r}"
            checked += 1
    assert checked >= 10, "the runbooks name the DB through the stack's output"


def test_kubectl_reads_the_namespace_from_the_stack():
    found = [arg for command in commands() for arg in re.findall(r"kubectl\s+-n\s+(\"[^\"]+\"|\S+)", command)]
    assert found and set(found) <= NAMESPACE_ARGUMENTS, set(found) - NAMESPACE_ARGUMENTS
    assert assignments("NS") == {"$(pulumi stack output namespace)"}
    for command in commands():
        assert not re.search(r"-n\s+airflow(-\w+)?\b", command), command


@pytest.mark.parametrize("stack", STACKS)
def test_objects_the_runbooks_name_exist_in_every_stack(stack):
    inventory = stack_inventory(stack)
    release = inventory.outputs["releaseName"]
    jobs = {r.inputs["metadata"]["name"] for r in inventory.of_type("kubernetes:batch/v1:Job")}
    assert f"{release}-db-bootstrap" in jobs
    shape = stack_settings(stack).shape
    for deployment in ("scheduler", "dag-processor"):
        assert f'"deploy/$(pulumi stack output releaseName)-{deployment}"' in README
        assert shape.object_name(deployment) == f"{release}-{deployment}"
    [urn_pattern] = re.findall(r"grep -o '([^']+)'", README)
    assert any(re.fullmatch(urn_pattern.replace("[^ ]*", ".*"), r.urn) for r in inventory.resources)


def test_stack_names_in_commands_are_stack_files_or_placeholders():
    known = {*available_stacks(), "all"}
    for command in commands():
        for stack in re.findall(r"--stack[ =](\S+)", command):
            assert stack in known or stack.startswith("<"), command
        for stack in re.findall(r"pulumi stack (?:select|rm|init) ([^-\s]\S*)", command):
            assert stack in known or stack.startswith("<"), command
