"""Metadata-DB connection budget: does the DB (and PgBouncer) hold the configured parallelism?

Model (documented in the README): every running task may hold one metadata connection
(directly on Airflow 2, through the API server's pool on Airflow 3), and every long-running
Airflow pod keeps a SQLAlchemy pool of up to 15 (pool_size 5 + max_overflow 10).
10% of max_connections stays free for RDS maintenance, migrations and operators.
Behind PgBouncer the server side needs 5 connections per Airflow pod plus one per 4 running
tasks (transaction pooling), and must still fit in the DB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from config.models import DatabaseConfig
from config.rds_sizing import default_max_connections
from config.settings import Settings

POOL_PER_AIRFLOW_POD = 15
USABLE_FRACTION = 0.9
# Behind PgBouncer (transaction pooling) a pod keeps about its SQLAlchemy pool_size busy, and a
# running task is inside a transaction for at most a quarter of its time.
SERVER_CONNECTIONS_PER_AIRFLOW_POD = 5
TASKS_PER_SERVER_CONNECTION = 4


def effective_max_connections(database: DatabaseConfig) -> int:
    """The DB's max_connections: pinned in config, else the RDS default for the class."""
    return database.max_connections or default_max_connections(database.instance_class)


@dataclass(frozen=True)
class ConnectionBudget:
    """Numbers behind the connection rules, for error messages and the README."""

    parallelism: int
    airflow_pods: int
    client_connections: int
    server_connections_needed: int
    max_connections: int
    usable_connections: int


def connection_budget(settings: Settings) -> ConnectionBudget:
    """Peak client connections versus what the DB allows."""
    airflow = settings.airflow
    api_pods = airflow.api_server.hpa.max_replicas if airflow.api_server.hpa.enabled else airflow.api_server.replicas
    pods = airflow.scheduler.replicas + api_pods + airflow.triggerer.replicas
    if airflow.major >= 3:
        pods += airflow.dag_processor.replicas
    maximum = effective_max_connections(settings.database)
    return ConnectionBudget(
        parallelism=airflow.parallelism,
        airflow_pods=pods,
        client_connections=airflow.parallelism + POOL_PER_AIRFLOW_POD * pods,
        server_connections_needed=SERVER_CONNECTIONS_PER_AIRFLOW_POD * pods
        + math.ceil(airflow.parallelism / TASKS_PER_SERVER_CONNECTION),
        max_connections=maximum,
        usable_connections=int(maximum * USABLE_FRACTION),
    )
