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


def connections(*conn_ids: str) -> dict:
    """Resolve connections through the configured chain (env, then the secrets backend, then the DB)."""
    from airflow.models.connection import Connection

    resolved = {}
    for conn_id in conn_ids:
        conn = Connection.get_connection_from_secrets(conn_id)
        resolved[conn_id] = {
            "conn_type": conn.conn_type,
            "host": conn.host,
            "login": conn.login,
            "extra": conn.extra_dejson,
        }
    return resolved


def run_dags(*dag_ids: str, timeout: float = 300) -> dict:
    """Wait for the DAGs to be parsed, unpause and trigger each, and wait for every run to finish."""
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunTriggeredByType

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with create_session() as session:
            if all(session.get(DagModel, dag_id) is not None for dag_id in dag_ids):
                break
        time.sleep(1)
    else:
        return {dag_id: {"error": f"not parsed within {timeout}s"} for dag_id in dag_ids}
    with create_session() as session:
        session.query(DagModel).filter(DagModel.dag_id.in_(dag_ids)).update({DagModel.is_paused: False})
    run_ids = {dag_id: trigger_dag(dag_id, triggered_by=DagRunTriggeredByType.CLI).run_id for dag_id in dag_ids}
    results: dict = {}
    while time.monotonic() < deadline and len(results) < len(dag_ids):
        with create_session() as session:
            for dag_id, run_id in run_ids.items():
                run = session.query(DagRun).filter(DagRun.dag_id == dag_id, DagRun.run_id == run_id).one()
                if dag_id not in results and str(run.state) in ("success", "failed"):
                    tis = session.query(TaskInstance).filter(
                        TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id
                    )
                    results[dag_id] = {
                        "run_id": run_id,
                        "state": str(run.state),
                        "tasks": {ti.task_id: str(ti.state) for ti in tis},
                    }
        time.sleep(1)
    for dag_id, run_id in run_ids.items():
        results.setdefault(dag_id, {"run_id": run_id, "state": "running", "error": f"not finished within {timeout}s"})
    return results


CHECKS = {"async-session": async_session, "connections": connections, "run-dags": run_dags}

if __name__ == "__main__":
    name, *args = sys.argv[1:]
    print("BOOT-CHECK " + json.dumps(CHECKS[name](*args), default=str))
