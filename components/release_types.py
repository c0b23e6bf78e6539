"""Plain data the AirflowRelease component exchanges with its caller (no Pulumi resources)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class SecretNames:
    """Kubernetes Secrets the release creates and the chart reads by name."""

    metadata: str
    fernet_key: str
    api_secret_key: str
    jwt_secret: str
    webserver_secret_key: str
    pgbouncer_config: str
    pgbouncer_stats: str
    pgbouncer_tls: str
    git_ssh_key: str
    git_credentials: str
    admin_password: str
    db_bootstrap: str
    oidc_client_secret: str
    """The OIDC client secret (env of the API server / webserver)."""
    break_glass_admin: str
    """The break-glass admin's generated password (mounted into the create-user job)."""


@dataclass(frozen=True)
class TaskIsolation:
    """The namespace KubernetesExecutor task pods run in, and who may do what there."""

    namespace: str
    """The task namespace (created by the release component, Pod Security like Airflow's own)."""
    worker_account: str
    """Service account of the task pods (created there, IRSA-annotated, no Kubernetes API token, no RBAC)."""
    launcher_account: str
    """Service account (in Airflow's namespace) that creates, watches and deletes task pods: the scheduler's."""
    log_reader_account: str
    """Service account (in Airflow's namespace) that reads running tasks' logs: the API server's / webserver's."""
    cleanup_account: str
    """Service account (in Airflow's namespace) of the chart's cleanup CronJob (lists and deletes finished pods)."""
    task_selector: Mapping[str, str]
    """Labels of the task pods (the pod template's)."""
    git_known_hosts: str
    """ConfigMap of the task namespace with git-sync's `known_hosts` (git-sync over SSH)."""
    shared_secrets: tuple[str, ...] = ()
    """Secrets of Airflow's namespace copied into the task namespace (Airflow 2: metadata URL and Fernet key,
    which its task processes need by design). Default: none."""


@dataclass(frozen=True)
class ReleaseNames:
    """What the chart names (or reads) in this release, so no name is spelled twice."""

    api_service: str
    """Service in front of the UI/API pods (`<release>-api-server`, Airflow 2: `<release>-webserver`)."""
    api_service_port: int
    """Its port (the chart's `ports.apiServer` / `ports.airflowUI`)."""
    api_server_selector: Mapping[str, str]
    """Labels of the UI/API pods."""
    triggerer_selector: Mapping[str, str]
    """Labels of the triggerer pods."""
    triggerer_log_port: int
    """The triggerer's log-serving port (`ports.triggererLogs`)."""
    pgbouncer_host: str
    """PgBouncer's Service as Airflow reaches it (`<release>-pgbouncer.<namespace>`)."""
    pgbouncer_database: str
    """The pooled database alias Airflow connects to."""
    statsd_service: str
    """The statsd exporter's Service (for a ServiceMonitor)."""
    statsd_selector: Mapping[str, str]
    """Labels of the statsd Service."""
    object_prefix: str
    """Prefix of objects this program adds next to the chart's (`<release>`)."""
    secrets: SecretNames
    """Our Secrets."""
    tasks: TaskIsolation
    """The task namespace and its access."""
    bootstrap_namespace: str
    """Namespace of the DB bootstrap Job (holds the master password; no Airflow account has rights there)."""


@dataclass(frozen=True)
class GeneratedKey:
    """A random key the chart reads from a Secret this program creates once (upgrades never rotate it)."""

    key: str
    """The Secret's data key (also names the Pulumi resources)."""
    secret_name: str
    """The Kubernetes Secret the chart reads it from."""
    length: int
    """Characters of the generated value."""


@dataclass(frozen=True)
class ReleaseFeatures:
    """What the release adds around the chart for one Airflow major (computed by the caller, never guessed)."""

    generated_keys: tuple[GeneratedKey, ...]
    """Signing keys the chart reads by Secret name (Airflow 3: API secret key and JWT secret; 2: webserver key)."""
    async_metadata_url: bool
    """Also store the asyncpg metadata URI (`async-connection`), which Airflow 3.1 reads."""
    api_reads_triggerer_logs: bool
    """Admit the API pods to the triggerer's log port (Airflow 3's UI reads live triggerer logs; the chart
    admits only its webserver)."""


@dataclass(frozen=True)
class ReleaseWiring:
    """Values that come from other components (resolved Outputs), handed to the values function."""

    role_arns: Mapping[str, str]
    """IAM role ARN per workload (`scheduler`, `api-server`, ...)."""
    dag_bucket: str
    log_bucket: str
    pgbouncer_checksum: str | None = None
    """Hash of PgBouncer's Secrets (when it runs): rolls PgBouncer on any change."""
    oidc_checksum: str | None = None
    """Hash of the OIDC client-secret Secret (with SSO): rolls the API server / webserver when it rotates."""
    api_peer_cidrs: tuple[str, ...] = ()
    """Where traffic to the API server comes from outside Airflow (the front door's source CIDRs)."""
    base_url: str | None = None
    """The URL users reach the UI at (`[api] base_url` / `[webserver] base_url`); none: the chart's default."""
