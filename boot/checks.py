"""Checks run with the Airflow venv's Python in a component's env: `python boot/checks.py NAME [ARG]`.

Each prints one JSON line; the boot test asserts on it. Kept free of project imports (it runs in
the Airflow venv, which has none of them).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


def async_session() -> dict:
    """`sql_alchemy_conn_async` through Airflow's own async session (asyncpg, prepared statements, PgBouncer)."""
    from airflow import settings
    from airflow.utils.session import create_session_async
    from sqlalchemy import text

    async def query() -> list:
        async with create_session_async() as session:
            # Twice: the second run reuses asyncpg's prepared statement across pooled server connections.
            first = (await session.execute(text("SELECT current_user, count(*) FROM dag"))).all()
            second = (await session.execute(text("SELECT current_user, count(*) FROM dag"))).all()
            return [list(first[0]), list(second[0])]

    rows = asyncio.run(query())
    return {"driver": settings.async_engine.url.drivername, "rows": rows}


def connection(conn_id: str) -> dict:
    """Resolve a connection through the configured chain (env, then the secrets backend, then the DB)."""
    from airflow.models.connection import Connection

    conn = Connection.get_connection_from_secrets(conn_id)
    return {"conn_type": conn.conn_type, "host": conn.host, "login": conn.login, "extra": conn.extra_dejson}


def run_dag(dag_id: str, timeout: float = 240) -> dict:
    """Wait for the DAG to be parsed, unpause and trigger it, and wait for the run to finish."""
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunTriggeredByType

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with create_session() as session:
            if session.get(DagModel, dag_id) is not None:
                break
        time.sleep(1)
    else:
        return {"error": f"{dag_id} was not parsed within {timeout}s"}
    DagModel.get_dagmodel(dag_id)
    with create_session() as session:
        session.query(DagModel).filter(DagModel.dag_id == dag_id).update({DagModel.is_paused: False})
    run = trigger_dag(dag_id, triggered_by=DagRunTriggeredByType.CLI)
    run_id = run.run_id if run else None
    state = None
    while time.monotonic() < deadline:
        with create_session() as session:
            dag_run = session.query(DagRun).filter(DagRun.dag_id == dag_id, DagRun.run_id == run_id).one()
            state = str(dag_run.state)
            if state in ("success", "failed"):
                tis = session.query(TaskInstance).filter(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
                return {"run_id": run_id, "state": state, "tasks": {ti.task_id: str(ti.state) for ti in tis}}
        time.sleep(1)
    return {"run_id": run_id, "state": state, "error": "timed out"}


CHECKS = {"async-session": async_session, "connection": connection, "run-dag": run_dag}

if __name__ == "__main__":
    name, *args = sys.argv[1:]
    print("BOOT-CHECK " + json.dumps(CHECKS[name](*args), default=str))
