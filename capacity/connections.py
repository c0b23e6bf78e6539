"""Metadata-DB connection budget: does the DB (and PgBouncer) hold the configured parallelism?

Model (documented in the README): every running task (up to `[core] parallelism` per scheduler)
may hold one metadata connection
(directly on Airflow 2, through the API server's pool on Airflow 3), and every long-running
Airflow pod keeps a SQLAlchemy pool of up to 15 (pool_size 5 + max_overflow 10).
10% of max_connections stays free for RDS maintenance, migrations and operators.
Behind PgBouncer the server side needs 5 connections per Airflow pod plus one per 4 running
tasks (transaction pooling), and must still fit in the DB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from capacity.rds import default_max_connections

POOL_PER_AIRFLOW_POD = 15
USABLE_FRACTION = 0.9
# Behind PgBouncer (transaction pooling) a pod keeps about its SQLAlchemy pool_size busy, and a
# running task is inside a transaction for at most a quarter of its time.
SERVER_CONNECTIONS_PER_AIRFLOW_POD = 5
TASKS_PER_SERVER_CONNECTION = 4


def effective_max_connections(instance_class: str, pinned: int | None = None) -> int:
    """The DB's max_connections: pinned in the parameter group, else the RDS default for the class."""
    return pinned or default_max_connections(instance_class)


@dataclass(frozen=True)
class ConnectionBudget:
    """Numbers behind the connection rules, for error messages and the README."""

    running_tasks: int
    airflow_pods: int
    client_connections: int
    server_connections_needed: int
    max_connections: int
    usable_connections: int


def connection_budget(running_tasks: int, airflow_pods: int, max_connections: int) -> ConnectionBudget:
    """Peak client connections of `running_tasks` tasks and `airflow_pods` long-running pods versus the DB.

    ``running_tasks`` is the stack's ceiling: `[core] parallelism` x the schedulers (each runs that many).
    """
    return ConnectionBudget(
        running_tasks=running_tasks,
        airflow_pods=airflow_pods,
        client_connections=running_tasks + POOL_PER_AIRFLOW_POD * airflow_pods,
        server_connections_needed=SERVER_CONNECTIONS_PER_AIRFLOW_POD * airflow_pods
        + math.ceil(running_tasks / TASKS_PER_SERVER_CONNECTION),
        max_connections=max_connections,
        usable_connections=int(max_connections * USABLE_FRACTION),
    )
