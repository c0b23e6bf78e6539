"""The application DB role Airflow logs in as, created by an idempotent in-cluster Job.

RDS only gives us a master user (`rds_superuser`). Airflow and PgBouncer get a role of their own
that owns the Airflow database and nothing else; the master password is used by this Job alone.
The Job runs psql from a pinned PostgreSQL image before the Helm release (and so before the
chart's migration job), and can be re-run at any time: every statement is idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.common import keyed_checksum

# The postgres:*-alpine images' postgres user and group.
POSTGRES_CLIENT_IDS = (70, 70)
SQL_DIR = "/etc/db-bootstrap"
SQL_FILE = "bootstrap.sql"
JOB_DEADLINE_SECONDS = 600

# psql reads the names and the password from the environment (\getenv), so no secret ever sits
# in the Job spec or on a command line; `:'x'` is a quoted literal, `:"x"` a quoted identifier.
BOOTSTRAP_SQL = r"""\set ON_ERROR_STOP on
\getenv app_user APP_USER
\getenv app_password APP_PASSWORD
\getenv db_name PGDATABASE
SELECT format('CREATE ROLE %I', :'app_user')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') \gexec
ALTER ROLE :"app_user" WITH LOGIN NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
-- Changing a database's owner needs membership of the new owner (PostgreSQL 16+: ADMIN on it, which
-- the creating role holds).
GRANT :"app_user" TO CURRENT_USER;
ALTER DATABASE :"db_name" OWNER TO :"app_user";
-- Objects an earlier deploy created as the master user move to the application role.
SELECT format('ALTER TABLE public.%I OWNER TO %I', tablename, :'app_user')
  FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user \gexec
SELECT format('ALTER SEQUENCE public.%I OWNER TO %I', sequencename, :'app_user')
  FROM pg_sequences WHERE schemaname = 'public' AND sequenceowner = current_user \gexec
SELECT format('ALTER VIEW public.%I OWNER TO %I', viewname, :'app_user')
  FROM pg_views WHERE schemaname = 'public' AND viewowner = current_user \gexec
"""


def bootstrap_checksum(secret_data: Mapping[str, str], key_base64: str) -> str:
    """Keyed hash of everything the Job acts on: a new password or endpoint re-runs it."""
    return keyed_checksum(key_base64, [BOOTSTRAP_SQL, *(f"{k}={secret_data[k]}" for k in sorted(secret_data))])


def bootstrap_pod_spec(image: str, secret_name: str, config_map_name: str) -> dict[str, Any]:
    """Pod template spec of the Job: restricted-compliant, no service-account token."""
    uid, gid = POSTGRES_CLIENT_IDS
    return {
        "restartPolicy": "OnFailure",
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": uid,
            "runAsGroup": gid,
            "fsGroup": gid,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "psql",
                "image": image,
                "command": ["psql", "--no-psqlrc", "--file", f"{SQL_DIR}/{SQL_FILE}"],
                "envFrom": [{"secretRef": {"name": secret_name}}],
                "env": [
                    {"name": "PGSSLMODE", "value": "require"},  # rds.force_ssl refuses anything else
                    {"name": "PGCONNECT_TIMEOUT", "value": "10"},
                    {"name": "HOME", "value": "/tmp"},
                ],
                "volumeMounts": [
                    {"name": "sql", "mountPath": SQL_DIR, "readOnly": True},
                    {"name": "tmp", "mountPath": "/tmp"},
                ],
                "resources": {
                    "requests": {"cpu": "50m", "memory": "64Mi"},
                    "limits": {"cpu": "250m", "memory": "128Mi"},
                },
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                    "readOnlyRootFilesystem": True,
                    "runAsNonRoot": True,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
            }
        ],
        "volumes": [
            {"name": "sql", "configMap": {"name": config_map_name}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
        ],
    }
