"""A task that reaches for the metadata DB directly: on Airflow 3 a task pod must not be able to."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, tags=["boot-test"])
def boot_needs_db():
    @task(retries=0)
    def query_metadata_db() -> int:
        from airflow.models.dag import DagModel
        from airflow.utils.session import create_session

        with create_session() as session:
            return session.query(DagModel).count()

    query_metadata_db()


boot_needs_db()
