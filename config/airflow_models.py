"""Config models of the Airflow release: version, sizing/HA, PgBouncer, DAG delivery, access."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from airflow_chart.chart import DEFAULT_AIRFLOW_VERSION, DEFAULT_CHART_VERSION, SUPPORTED_CHART_VERSIONS
from config.identity import AuthConfig, DagPublisherConfig, GithubOidcProvider, GuardrailsConfig, SecretsBackendConfig
from config.models import Model
from config.quantities import Resources
from config.types import (
    AirflowUserName,
    DnsLabel,
    EmailAddress,
    GitRef,
    HelmReleaseName,
    ImageRepository,
    ImageTagSuffix,
    LogPrefix,
    PinnedImage,
    RepositoryFolder,
    S3Prefix,
    SemVer,
)

# Pinned AWS CLI image used by the S3 DAG sync containers.
DEFAULT_SYNC_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.22.35"


class ComponentConfig(Model):
    """A long-running Airflow component."""

    replicas: int = Field(ge=1, le=20, description="pods, 1-20")
    resources: Resources = Field(description="requests and limits of the main container")


class HpaConfig(Model):
    """API-server autoscaling."""

    enabled: bool = Field(description="scale the API server on CPU")
    min_replicas: int = Field(default=2, ge=1, le=50, description="HPA minimum, 1-50")
    max_replicas: int = Field(default=5, ge=1, le=50, description="HPA maximum, 1-50")
    target_cpu_percent: int = Field(default=70, ge=10, le=100, description="target average CPU, 10-100 %")


class ApiServerConfig(ComponentConfig):
    """The API server (Airflow 3) or webserver (Airflow 2)."""

    hpa: HpaConfig = Field(description="autoscaling")


class WorkerConfig(Model):
    """KubernetesExecutor task pods."""

    resources: Resources = Field(description="requests and limits of each task pod")


class PgBouncerConfig(Model):
    """Connection pooling between Airflow and the metadata DB."""

    enabled: bool = Field(description="run PgBouncer in front of the DB")
    replicas: int = Field(default=2, ge=1, le=10, description="PgBouncer pods, 1-10")
    max_client_conn: int = Field(default=1000, ge=10, le=100000, description="client connections PgBouncer accepts")
    metadata_pool_size: int = Field(default=20, ge=1, le=1000, description="server connections per PgBouncer pod")


class AdminUserConfig(Model):
    """The initial Airflow admin (FAB) user, created by the chart's create-user job."""

    create: bool = Field(description="run the create-user job (never in prod)")
    username: AirflowUserName = Field(default="platform-admin", description="user name")
    email: EmailAddress = Field(default="airflow-admins@example.com", description="e-mail")
    first_name: str = Field(default="Platform", min_length=1, description="first name")
    last_name: str = Field(default="Admin", min_length=1, description="last name")


class MetricsConfig(Model):
    """How Prometheus finds the statsd exporter.

    The chart always puts prometheus.io/scrape annotations on the statsd Service (adding
    them again would duplicate YAML keys), so the choice here is a ServiceMonitor or not.
    """

    service_monitor: bool = Field(default=False, description="create a ServiceMonitor (needs Prometheus Operator CRDs)")
    prometheus_namespace: DnsLabel | None = Field(
        default=None,
        description="namespace of Prometheus, admitted to statsd/PgBouncer metrics by network policy; needed when "
        "metrics are scraped (required with serviceMonitor), else nothing outside the namespace reaches them",
    )


class HelmConfig(Model):
    """How the Helm release is applied."""

    timeout_seconds: int = Field(default=900, ge=300, le=3600, description="wait for readiness, 300-3600 s")
    max_history: int = Field(default=10, ge=1, le=50, description="release revisions kept, 1-50")


class ImageConfig(Model):
    """The Airflow image; its tag is always <airflow.version><tagSuffix>."""

    repository: ImageRepository = Field(
        default="apache/airflow", description="image repository without tag or digest; the registry may carry a :port"
    )
    tag_suffix: ImageTagSuffix = Field(default="", description="suffix after the version, e.g. -python3.12")


class AirflowConfig(Model):
    """The Airflow release: identity, sizing, HA and access."""

    namespace: DnsLabel | None = Field(default=None, description="Kubernetes namespace; default airflow-<instanceName>")
    release_name: HelmReleaseName = Field(default="airflow", description="Helm release name")
    version: SemVer = Field(
        default=DEFAULT_AIRFLOW_VERSION, description="Airflow version (airflowVersion and image tag)"
    )
    chart_version: SemVer = Field(
        default=DEFAULT_CHART_VERSION, description="official chart version: " + ", ".join(SUPPORTED_CHART_VERSIONS)
    )
    image: ImageConfig = Field(default_factory=ImageConfig, description="Airflow image")
    parallelism: int = Field(
        ge=1,
        le=10000,
        description="max task instances each scheduler runs at once ([core] parallelism); the stack runs up to "
        "parallelism x scheduler.replicas, which the connection budget, the quota and the default pool are sized for",
    )
    scheduler: ComponentConfig = Field(description="scheduler replicas and resources")
    api_server: ApiServerConfig = Field(description="API server (webserver on Airflow 2) replicas, resources, HPA")
    triggerer: ComponentConfig = Field(description="triggerer replicas and resources")
    dag_processor: ComponentConfig = Field(description="dag-processor replicas and resources (Airflow 3)")
    worker: WorkerConfig = Field(description="task pod resources")
    pod_disruption_budgets: bool = Field(description="PDBs on scheduler, API server, triggerer, dag-processor")
    spread_across_zones: bool = Field(description="topology spread of each component across zones")
    pgbouncer: PgBouncerConfig = Field(description="PgBouncer")
    network_policies: bool = Field(description="chart network policies on")
    expose_config: Literal["True", "False", "non-sensitive-only"] = Field(
        description="show airflow.cfg in the UI: True, False or non-sensitive-only"
    )
    admin_user: AdminUserConfig = Field(description="initial admin user")
    metrics: MetricsConfig = Field(default_factory=MetricsConfig, description="statsd exporter discovery")
    helm: HelmConfig = Field(default_factory=HelmConfig, description="Helm release behaviour")
    log_prefix: LogPrefix = Field(default="task-logs", description="key prefix of task logs")
    auth: AuthConfig = Field(default_factory=AuthConfig, description="UI login: oidc (SSO) or password")
    secrets_backend: SecretsBackendConfig = Field(
        default_factory=SecretsBackendConfig, description="connections and variables from AWS Secrets Manager"
    )
    guardrails: GuardrailsConfig = Field(
        default_factory=GuardrailsConfig, description="namespace ResourceQuota, LimitRange and Pod Security level"
    )

    @field_validator("chart_version")
    @classmethod
    def _supported_chart(cls, value: str) -> str:
        if value not in SUPPORTED_CHART_VERSIONS:
            raise ValueError(
                "expected a chart version this program's values are validated against: "
                + ", ".join(SUPPORTED_CHART_VERSIONS)
            )
        return value

    @field_validator("version")
    @classmethod
    def _supported_airflow(cls, value: str) -> str:
        major, minor, _ = (int(p) for p in value.split("."))
        if not ((major == 2 and minor >= 10) or (major == 3 and minor <= 1)):
            raise ValueError("expected Airflow 2.10+ (webserver shape) or 3.0/3.1 (api-server shape) for chart 1.19.0")
        return value

    @property
    def major(self) -> int:
        """Airflow major version."""
        return int(self.version.split(".")[0])

    @property
    def max_running_tasks(self) -> int:
        """Task instances running at once at most: `[core] parallelism` holds per scheduler."""
        return self.parallelism * self.scheduler.replicas

    @property
    def image_tag(self) -> str:
        """The image tag, derived from the version so both always agree."""
        return f"{self.version}{self.image.tag_suffix}"


class S3SyncConfig(Model):
    """DAGs copied from the DAG bucket by an AWS CLI container."""

    interval_seconds: int = Field(default=30, ge=5, le=3600, description="seconds between syncs, 5-3600")
    image: PinnedImage = Field(default=DEFAULT_SYNC_IMAGE, description="AWS CLI image pinned by version tag or digest")


class GitSyncConfig(Model):
    """DAGs cloned by the chart's git-sync containers."""

    repo: str = Field(description="git@host:org/repo.git / ssh://… (auth ssh) or https://… (auth https)")
    ref: GitRef = Field(default="main", description="branch, tag or commit")
    sub_path: RepositoryFolder = Field(default="", description="DAG folder in the repo; empty for its root")
    period_seconds: int = Field(default=60, ge=5, le=3600, description="seconds between pulls, 5-3600")
    auth: Literal["ssh", "https"] = Field(description="ssh (key from secret gitSshPrivateKey) or https (token)")
    known_hosts: str | None = Field(default=None, description="known_hosts lines of the git server (required for ssh)")
    username: str | None = Field(default=None, description="HTTPS user name (token from secret gitHttpsToken)")


class DagsConfig(Model):
    """How DAGs reach the pods."""

    source: Literal["s3", "gitSync"] = Field(default="s3", description="s3 (sync from the DAG bucket) or gitSync")
    s3_prefix: S3Prefix = Field(default="dags", description="key prefix of DAGs in the DAG bucket")
    s3_sync: S3SyncConfig = Field(default_factory=S3SyncConfig, description="S3 sync container")
    git_sync: GitSyncConfig | None = Field(default=None, description="git-sync settings (source gitSync)")
    publishers: list[DagPublisherConfig] = Field(
        default=[], max_length=50, description="GitHub repositories allowed to publish one DAG folder each (source s3)"
    )
    github_oidc_provider: GithubOidcProvider = Field(
        default="existing",
        description="GitHub's IAM OIDC provider for publishers: existing (made once per account with the CI "
        'set-up, README "PR checks and promotion"), or create (an account where nothing else made it; IAM '
        "refuses a second one for the URL)",
    )
