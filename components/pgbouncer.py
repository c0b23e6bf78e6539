"""PgBouncer configuration the chart mounts from our own Secret (so no password sits in Helm values)."""

from __future__ import annotations

from dataclasses import dataclass

PGBOUNCER_TLS_DIR = "/etc/pgbouncer/client-tls"


@dataclass(frozen=True)
class PgBouncerPool:
    """How PgBouncer pools the metadata DB."""

    database_alias: str
    """Name Airflow connects to (the chart's `<release>-metadata`)."""
    listen_port: int
    """Port of the PgBouncer Service and pods (the chart's `ports.pgbouncer`)."""
    pool_size: int
    """Server connections per PgBouncer pod."""
    max_client_conn: int
    """Client connections each PgBouncer pod accepts."""


def pgbouncer_ini(pool: PgBouncerPool, db_name: str, db_host: str, db_port: int, db_user: str) -> str:
    """pgbouncer.ini: one pooled database; TLS required from Airflow and towards RDS."""
    lines = [
        "[databases]",
        f"{pool.database_alias} = host={db_host} dbname={db_name} port={int(db_port)} pool_size={pool.pool_size}",
        "",
        "[pgbouncer]",
        "pool_mode = transaction",
        f"listen_port = {pool.listen_port}",
        "listen_addr = *",
        "auth_type = scram-sha-256",
        "auth_file = /etc/pgbouncer/users.txt",
        f"stats_users = {db_user}",
        "ignore_startup_parameters = extra_float_digits",
        # Airflow 3's asyncpg engine uses protocol-level prepared statements; PgBouncer 1.21+ keeps
        # them working in transaction pooling when this is above 0 (the chart's image is 1.23).
        "max_prepared_statements = 200",
        f"max_client_conn = {pool.max_client_conn}",
        "verbose = 0",
        "log_disconnections = 0",
        "log_connections = 0",
        "server_tls_sslmode = require",
        "server_tls_ciphers = normal",
        "client_tls_sslmode = require",
        f"client_tls_cert_file = {PGBOUNCER_TLS_DIR}/tls.crt",
        f"client_tls_key_file = {PGBOUNCER_TLS_DIR}/tls.key",
        "",
    ]
    return "\n".join(lines)


def pgbouncer_users(db_user: str, password: str) -> str:
    """users.txt: the one user PgBouncer authenticates clients as (and logs in to RDS with)."""
    escaped = password.replace('"', '""')
    return f'"{db_user}" "{escaped}"\n'
