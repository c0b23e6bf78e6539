"""Pytest fixtures only; the helpers themselves live in tests/support.py."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from typing import Any

import pytest

from offline import Inventory, offline_engine, run_program
from offline.cloud import FakeCluster
from tests.support import REGION, SUBNETS, VPC

# The suite builds many short-lived object graphs (whole-program runs); collecting them in
# generation 0 every 700 allocations costs more than it saves. Collect rarely instead.
gc.set_threshold(200_000, 50, 100)
_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave as soon as pytest has reported: the cached whole-program runs hold a large object graph (and their
    thread pools), whose teardown at interpreter exit took about 3 s of the suite's wall time and checks nothing."""
    if _EXIT_STATUS:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[-1])


@pytest.fixture
def run_components() -> Callable[..., Inventory]:
    """Run a program body (building components directly) under the offline engine."""

    def run(program: Callable[[], Any], stack: str = "dev", clusters: list[FakeCluster] | None = None) -> Inventory:
        default_clusters = [FakeCluster(name="data-test", vpc_id=VPC, subnet_ids=list(SUBNETS))]
        with offline_engine(stack, {"aws:region": REGION}, [], clusters or default_clusters, REGION) as inventory:
            return run_program(inventory, program)

    return run
