"""The DB bootstrap Job connects at once: it must not exist before the rule admitting the workloads."""

from __future__ import annotations

import pytest

from offline import Inventory
from tests.support import STACKS, stack_inventory

JOB = "kubernetes:batch/v1:Job"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def waits_for(inventory: Inventory, urn: str) -> set[str]:
    """Every URN the resource waits for: its dependencies and its inputs' sources, transitively."""
    seen: set[str] = set()
    todo = [urn]
    while todo:
        registration = inventory.by_urn(todo.pop())
        if registration is None:
            continue
        direct = {*registration.dependencies, *(u for us in registration.property_dependencies.values() for u in us)}
        todo += sorted(direct - seen)
        seen |= direct
    return seen


@pytest.mark.parametrize("stack", STACKS)
def test_the_bootstrap_job_waits_for_the_dbs_rule_admitting_the_workloads(stack: str) -> None:
    inventory = stack_inventory(stack)
    rule = inventory.one(INGRESS, "metadata-db-from-workloads")
    job = inventory.one(JOB, "airflow-db-bootstrap")
    assert rule.urn in waits_for(inventory, job.urn)
