"""Helpers for Helm-values tests: build values for a stack variant, validate against the chart schema."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema

from airflow_chart.values import ReleaseWiring, airflow_values
from config import Settings
from config.naming import bucket_name
from offline import REPO
from tests.support import PROJECT_PREFIX as P
from tests.support import stack_object, stack_settings

# Vendored chart files (schema, Chart.yaml, license), one folder per supported chart version.
CHARTS = REPO / "charts" / "airflow"

GIT_SSH = {
    P + "dags": {
        "source": "gitSync",
        "gitSync": {
            "repo": "git@github.com:acme/airflow-dags.git",
            "auth": "ssh",
            "ref": "release",
            "subPath": "dags",
            "knownHosts": "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
        },
    },
    P + "gitSshPrivateKey": {"secure": "v1:encrypted"},
}
GIT_HTTPS = {
    P + "dags": {
        "source": "gitSync",
        "gitSync": {"repo": "https://github.com/acme/airflow-dags.git", "auth": "https", "username": "dag-bot"},
    },
    P + "gitHttpsToken": {"secure": "v1:encrypted"},
}
AIRFLOW_2 = {"version": "2.10.5"}


def airflow_override(stack: str, **fields: Any) -> dict[str, Any]:
    """An `airflow-platform:airflow` override that keeps the stack file's own airflow keys."""
    return {P + "airflow": {**stack_object(stack, "airflow"), **fields}}


def fake_wiring(settings: Settings) -> ReleaseWiring:
    """Role ARNs and bucket names as the other components would hand them over."""
    return ReleaseWiring(
        role_arns={w: f"arn:aws:iam::111122223333:role/test-{w.value}" for w in settings.shape.workloads},
        dag_bucket=f"wired-{bucket_name(settings, 'dags', '111122223333')}",
        log_bucket=f"wired-{bucket_name(settings, 'logs', '111122223333')}",
        pgbouncer_checksum="0f" * 32 if settings.airflow.pgbouncer.enabled else None,
        oidc_checksum="0c" * 32 if settings.airflow.auth.type == "oidc" else None,
        api_peer_cidrs=("10.0.1.0/24", "10.0.2.0/24"),
        base_url="https://airflow.example.com",
    )


def values_for(stack: str, overrides: dict[str, Any] | None = None) -> tuple[Settings, dict[str, Any]]:
    """Settings from the real stack file (plus overrides) and the values built from them."""
    settings = stack_settings(stack, overrides)
    return settings, airflow_values(settings, fake_wiring(settings))


@cache
def chart_schema(version: str) -> dict[str, Any]:
    """The official chart's values.schema.json, vendored in charts/airflow/<version>/."""
    return json.loads((CHARTS / version / "values.schema.json").read_text())


def schema_errors(values: dict[str, Any], chart_version: str) -> list[str]:
    """Every schema violation as `path: message`."""
    validator = jsonschema.Draft7Validator(chart_schema(chart_version))
    return [f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(values)]
