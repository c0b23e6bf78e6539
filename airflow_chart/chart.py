"""The official chart this program installs, and the numbers the rest of the wiring relies on."""

from __future__ import annotations

CHART_NAME = "airflow"
HELM_REPOSITORY = "https://airflow.apache.org"
# Chart versions whose values.schema.json is vendored in charts/airflow/<version>/ (tests validate against it).
SUPPORTED_CHART_VERSIONS = ("1.19.0",)
DEFAULT_CHART_VERSION = "1.19.0"
DEFAULT_AIRFLOW_VERSION = "3.1.7"

API_PORT = 8080  # ports.apiServer (Airflow 3) and ports.airflowUI (Airflow 2)
PGBOUNCER_PORT = 6543
TRIGGERER_LOG_PORT = 8794
