"""The one place that names Airflow's Kubernetes service accounts.

IRSA trust policies (`system:serviceaccount:<namespace>:<name>`) and the Helm values
(`<component>.serviceAccount.name`) both come from `service_account`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from config.settings import Settings


class Workload(StrEnum):
    """An Airflow component that runs under its own service account."""

    SCHEDULER = "scheduler"
    API_SERVER = "api-server"
    WEBSERVER = "webserver"
    WORKER = "worker"
    TRIGGERER = "triggerer"
    DAG_PROCESSOR = "dag-processor"

    @property
    def values_key(self) -> str:
        """The chart's top-level values section for this component."""
        return _VALUES_KEY[self]

    @property
    def config_key(self) -> str:
        """The key used for this component in the stack config (camelCase)."""
        return _CONFIG_KEY[self]


_VALUES_KEY = {
    Workload.SCHEDULER: "scheduler",
    Workload.API_SERVER: "apiServer",
    Workload.WEBSERVER: "webserver",
    Workload.WORKER: "workers",
    Workload.TRIGGERER: "triggerer",
    Workload.DAG_PROCESSOR: "dagProcessor",
}
_CONFIG_KEY = {**_VALUES_KEY, Workload.WORKER: "worker"}


@dataclass(frozen=True)
class ServiceAccount:
    """A Kubernetes service account an IAM role trusts."""

    workload: Workload
    namespace: str
    name: str

    @property
    def subject(self) -> str:
        """The OIDC `sub` claim of tokens issued to this account."""
        return f"system:serviceaccount:{self.namespace}:{self.name}"


def airflow_workloads(settings: Settings) -> tuple[Workload, ...]:
    """Components that run with their own service account for this Airflow major.

    Airflow 3 splits the UI/API into the api-server and always runs a standalone
    dag-processor; Airflow 2 serves the UI from the webserver and parses DAGs in the
    scheduler.
    """
    ui = (Workload.API_SERVER, Workload.DAG_PROCESSOR) if settings.airflow.major >= 3 else (Workload.WEBSERVER,)
    return (Workload.SCHEDULER, *ui, Workload.WORKER, Workload.TRIGGERER)


def dag_reading_workloads(settings: Settings) -> tuple[Workload, ...]:
    """Components that need the DAG files on disk (and so a DAG sync).

    Airflow 3: the dag-processor parses, the triggerer and the task pods import DAG code.
    Airflow 2: the scheduler parses too. The api-server/webserver never reads DAG files.
    """
    parsers = (Workload.DAG_PROCESSOR,) if settings.airflow.major >= 3 else (Workload.SCHEDULER,)
    return (*parsers, Workload.TRIGGERER, Workload.WORKER)


def chart_object_name(settings: Settings, suffix: str) -> str:
    """Name the chart gives one of its objects (Service, Deployment, NetworkPolicy...).

    With `useStandardNaming` off (the chart's default, which we keep) `airflow.fullname` is the
    release name itself, whatever it contains: release `orchestrator` gives `orchestrator-pgbouncer`.
    """
    return f"{settings.airflow.release_name}-{suffix}"


def chart_service_account_base(settings: Settings) -> str:
    """The chart's service-account prefix: the release name if it contains "airflow", else `<release>-airflow`.

    This is `airflow.serviceAccountName` in the chart's _helpers.yaml; unlike object names it
    ignores `useStandardNaming`.
    """
    release = settings.airflow.release_name
    return release if "airflow" in release else f"{release}-airflow"


def service_account(settings: Settings, workload: Workload) -> ServiceAccount:
    """Name of the service account a workload runs under.

    Follows the chart's own default, `<sa-base>-<suffix>`, so `kubectl` output looks
    familiar; the Helm values set it explicitly from here all the same.
    """
    return ServiceAccount(workload, settings.namespace, f"{chart_service_account_base(settings)}-{workload.value}")


def ui_workload(settings: Settings) -> Workload:
    """The component serving the UI/API: api-server on Airflow 3, webserver on Airflow 2."""
    return Workload.API_SERVER if settings.airflow.major >= 3 else Workload.WEBSERVER


@dataclass(frozen=True)
class SecretNames:
    """Kubernetes Secrets this program creates and the chart reads by name."""

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


def secret_names(settings: Settings) -> SecretNames:
    """Names of every Secret shared between the Secret resources and the Helm values."""
    base = settings.airflow.release_name
    return SecretNames(
        metadata=f"{base}-metadata-connection",
        fernet_key=f"{base}-static-fernet-key",
        api_secret_key=f"{base}-static-api-secret-key",
        jwt_secret=f"{base}-static-jwt-secret",
        webserver_secret_key=f"{base}-static-webserver-secret-key",
        pgbouncer_config=f"{base}-pgbouncer-static-config",
        pgbouncer_stats=f"{base}-pgbouncer-static-stats",
        pgbouncer_tls=f"{base}-pgbouncer-client-tls",
        git_ssh_key=f"{base}-git-ssh-key",
        git_credentials=f"{base}-git-credentials",
        admin_password=f"{base}-admin-password",
        db_bootstrap=f"{base}-db-bootstrap",
    )


# -- AWS names -------------------------------------------------------------------------------
# Every AWS name this program derives comes from here, so the config rules can check each one
# against its service's limits before anything is created (config/rules.py `_aws_names`).

# An account id has exactly 12 digits: a stand-in of that length makes config-time checks exact.
ACCOUNT_ID_STAND_IN = "000000000000"
BucketKind = Literal["dags", "logs"]


def bucket_name(settings: Settings, kind: BucketKind, account_id: str) -> str:
    """The bucket's name: configured, else `<namePrefix>-<kind>-<environment>-<account>-<region>`.

    S3 names are global: account and region in the default keep two accounts' (or regions')
    stacks of the same environment from colliding.
    """
    configured = settings.buckets.dag_bucket_name if kind == "dags" else settings.buckets.log_bucket_name
    return configured or f"{settings.name_prefix}-{kind}-{settings.environment}-{account_id}-{settings.aws_region}"


@dataclass(frozen=True)
class AwsNames:
    """Names of the AWS resources the program names itself (others are auto-named)."""

    db_identifier: str
    db_final_snapshot: str
    db_security_group: str
    db_monitoring_role: str
    node_role: str | None
    irsa_roles: Mapping[Workload, str]


def aws_names(settings: Settings, workloads: tuple[Workload, ...]) -> AwsNames:
    """The AWS names of one stack (`<namePrefix>-<environment>-…`)."""
    prefix = f"{settings.name_prefix}-{settings.environment}"
    identifier = f"{prefix}-metadata"
    return AwsNames(
        db_identifier=identifier,
        db_final_snapshot=f"{identifier}-final",
        db_security_group=f"{identifier}-db",
        db_monitoring_role=f"{identifier}-rds-monitoring",
        node_role=f"{settings.cluster.name}-nodes" if settings.cluster.mode == "create" else None,
        irsa_roles={workload: f"{prefix}-{workload.value}" for workload in workloads},
    )
