"""A small DAG for local runs and the boot test: one task that logs where it runs and reads nothing secret."""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, tags=["example"])
def example_platform():
    @task
    def hello() -> str:
        # Airflow's task supervisor sets the DB URLs to `airflow-db-not-allowed:///` itself; anything else came
        # from the pod and would let DAG code reach the metadata DB.
        database_env = sorted(
            k
            for k, v in os.environ.items()
            if ("SQL_ALCHEMY" in k or k == "AIRFLOW_CONN_AIRFLOW_DB") and not v.startswith("airflow-db-not-allowed:")
        )
        print(f"hello from the platform example; database settings in this task's env: {database_env or 'none'}")
        return "done"

    hello()


example_platform()
