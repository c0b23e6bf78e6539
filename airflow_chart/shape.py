"""The topology of one Airflow release, computed once: workloads, DAG readers, the chart's object names.

IRSA trust policies (`system:serviceaccount:<namespace>:<name>`) and the Helm values
(`<component>.serviceAccount.name`) both take service-account names from `AirflowShape.service_account`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

from airflow_chart.chart import API_PORT, PGBOUNCER_PORT, TRIGGERER_LOG_PORT
from components.release_types import GeneratedKey, ReleaseFeatures, ReleaseNames, SecretNames, TaskIsolation

# Namespaces next to the release's: task pods run in `<namespace>-tasks` (no platform Secret there),
# the DB bootstrap Job in `<namespace>-bootstrap` (no Airflow service account has any right there).
TASKS_SUFFIX = "-tasks"
BOOTSTRAP_SUFFIX = "-bootstrap"
NAMESPACE_MAX = 63 - max(len(TASKS_SUFFIX), len(BOOTSTRAP_SUFFIX))


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


TASK_CONTAINER = "base"
PGBOUNCER_CONTAINER = "pgbouncer"


@dataclass(frozen=True)
class AirflowShape:
    """What one release of chart 1.19.0 runs and how it names things, for an Airflow version."""

    version: str
    release_name: str
    namespace: str

    @cached_property
    def major(self) -> int:
        """Airflow major version."""
        return int(self.version.split(".")[0])

    @cached_property
    def workloads(self) -> tuple[Workload, ...]:
        """Components that run with their own service account.

        Airflow 3 splits the UI/API into the api-server and always runs a standalone
        dag-processor; Airflow 2 serves the UI from the webserver and parses DAGs in the scheduler.
        """
        ui = (Workload.API_SERVER, Workload.DAG_PROCESSOR) if self.major >= 3 else (Workload.WEBSERVER,)
        return (Workload.SCHEDULER, *ui, Workload.WORKER, Workload.TRIGGERER)

    @cached_property
    def dag_readers(self) -> tuple[Workload, ...]:
        """Components that need the DAG files on disk (and so a DAG sync).

        Airflow 3: the dag-processor parses, the triggerer and the task pods import DAG code.
        Airflow 2: the scheduler parses too. The api-server/webserver never reads DAG files.
        """
        parsers = (Workload.DAG_PROCESSOR,) if self.major >= 3 else (Workload.SCHEDULER,)
        return (*parsers, Workload.TRIGGERER, Workload.WORKER)

    @cached_property
    def connection_resolvers(self) -> tuple[Workload, ...]:
        """Components that resolve connections and variables (and so read the secrets backend).

        Airflow 3: the scheduler, the dag-processor (top-level DAG code), the triggerer, the task
        pods and the API server (connection and variable views, test connection). Airflow 2: the
        scheduler (which parses DAGs), the webserver, the task pods and the triggerer. That is every
        workload today; kept apart so a component that never resolves one stays without the grant.
        """
        if self.major >= 3:
            wanted = (
                Workload.SCHEDULER,
                Workload.TRIGGERER,
                Workload.DAG_PROCESSOR,
                Workload.WORKER,
                Workload.API_SERVER,
            )
        else:
            wanted = (Workload.SCHEDULER, Workload.WEBSERVER, Workload.WORKER, Workload.TRIGGERER)
        return tuple(workload for workload in self.workloads if workload in wanted)

    def main_container(self, workload: Workload) -> str:
        """The container that runs the component's own process (its logs are the component's logs).

        The chart names it after the component (`scheduler`, `api-server`, ...); KubernetesExecutor task
        pods run theirs as `base` (the pod template's, which Airflow requires by that name).
        """
        return TASK_CONTAINER if workload is Workload.WORKER else workload.value

    @cached_property
    def ui_workload(self) -> Workload:
        """The component serving the UI/API: api-server on Airflow 3, webserver on Airflow 2."""
        return Workload.API_SERVER if self.major >= 3 else Workload.WEBSERVER

    @cached_property
    def login_config_section(self) -> str:
        """airflow.cfg section of the UI login's proxy fix and session cookie.

        `[fab]` on Airflow 3 (FAB provider 2.4+ reads `cookie_secure` and `enable_proxy_fix` there),
        `[webserver]` on Airflow 2.
        """
        return "fab" if self.major >= 3 else "webserver"

    @cached_property
    def health_path(self) -> str:
        """What the chart's own probes (and a load balancer) check on the UI/API port."""
        return "/api/v2/monitor/health" if self.major >= 3 else "/health"

    def object_name(self, suffix: str) -> str:
        """Name the chart gives one of its objects (Service, Deployment, NetworkPolicy...).

        With `useStandardNaming` off (the chart's default, which we keep) `airflow.fullname` is the
        release name itself, whatever it contains: release `orchestrator` gives `orchestrator-pgbouncer`.
        """
        return f"{self.release_name}-{suffix}"

    @cached_property
    def service_account_base(self) -> str:
        """The chart's service-account prefix: the release name if it contains "airflow", else `<release>-airflow`.

        This is `airflow.serviceAccountName` in the chart's _helpers.yaml; unlike object names it
        ignores `useStandardNaming`.
        """
        return self.release_name if "airflow" in self.release_name else f"{self.release_name}-airflow"

    def service_account(self, workload: Workload) -> ServiceAccount:
        """The service account a workload runs under: the chart's own default name, set explicitly.

        Task pods (the worker account) run in the task namespace, where this program creates the account.
        """
        namespace = self.task_namespace if workload is Workload.WORKER else self.namespace
        return ServiceAccount(workload, namespace, f"{self.service_account_base}-{workload.value}")

    @cached_property
    def task_namespace(self) -> str:
        """Where KubernetesExecutor task pods run: a namespace that holds no platform Secret (Airflow 3)."""
        return f"{self.namespace}{TASKS_SUFFIX}"

    @cached_property
    def bootstrap_namespace(self) -> str:
        """Where the DB bootstrap Job and its master-password Secret live: no Airflow account can read it."""
        return f"{self.namespace}{BOOTSTRAP_SUFFIX}"

    @cached_property
    def tasks_use_database(self) -> bool:
        """Airflow 2 task processes talk to the metadata DB (and decrypt with the Fernet key) by design;
        Airflow 3 tasks reach only the API server's Execution API, with a short-lived token."""
        return self.major < 3

    @cached_property
    def execution_api_url(self) -> str | None:
        """`[core] execution_api_server_url` as task pods in their own namespace reach it (Airflow 3 only).

        The chart's default names the Service without its namespace, which resolves only inside the release's.
        """
        if self.major < 3:
            return None
        return f"http://{self.api_service_name}.{self.namespace}.svc.cluster.local:{API_PORT}/execution/"

    @cached_property
    def statsd_host(self) -> str:
        """The statsd exporter's Service as every pod reaches it, task pods in their namespace included."""
        return f"{self.object_name('statsd')}.{self.namespace}.svc.cluster.local"

    @cached_property
    def task_isolation(self) -> TaskIsolation:
        """Names the release needs to run task pods in their own namespace."""
        return TaskIsolation(
            namespace=self.task_namespace,
            worker_account=self.service_account(Workload.WORKER).name,
            launcher_account=self.service_account(Workload.SCHEDULER).name,
            log_reader_account=self.service_account(self.ui_workload).name,
            cleanup_account=f"{self.service_account_base}-cleanup",
            task_selector=self.selector("worker"),
            git_known_hosts=self.object_name("git-known-hosts"),
            shared_secrets=(self.secret_names.metadata, self.secret_names.fernet_key)
            if self.tasks_use_database
            else (),
        )

    @cached_property
    def api_service_name(self) -> str:
        """The Service in front of the UI/API pods."""
        return self.object_name(self.ui_workload.value)

    @property
    def api_service_port(self) -> int:
        """Port of that Service (and of the pods)."""
        return API_PORT

    @cached_property
    def pgbouncer_host(self) -> str:
        """PgBouncer's Service, as Airflow reaches it."""
        return f"{self.object_name('pgbouncer')}.{self.namespace}"

    @property
    def pgbouncer_port(self) -> int:
        """PgBouncer's port."""
        return PGBOUNCER_PORT

    @cached_property
    def pgbouncer_database(self) -> str:
        """The pooled database alias in pgbouncer.ini, as the chart names it."""
        return self.object_name("metadata")

    @cached_property
    def secret_names(self) -> SecretNames:
        """Names of every Secret shared between the Secret resources and the Helm values."""
        base = self.release_name
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
            oidc_client_secret=f"{base}-oidc-client-secret",
            break_glass_admin=f"{base}-break-glass-admin",
        )

    def selector(self, component: str) -> dict[str, str]:
        """Labels the chart puts on one component's pods."""
        return {"tier": "airflow", "component": component, "release": self.release_name}

    @cached_property
    def release_features(self) -> ReleaseFeatures:
        """What the release adds around the chart for this major."""
        names = self.secret_names
        if self.major >= 3:
            keys = (
                GeneratedKey("api-secret-key", names.api_secret_key, 48),
                GeneratedKey("jwt-secret", names.jwt_secret, 64),
            )
        else:
            keys = (GeneratedKey("webserver-secret-key", names.webserver_secret_key, 48),)
        airflow_3 = self.major >= 3
        return ReleaseFeatures(generated_keys=keys, async_metadata_url=airflow_3, api_reads_triggerer_logs=airflow_3)

    @cached_property
    def release_names(self) -> ReleaseNames:
        """Everything the release component needs to know about the chart's naming."""
        return ReleaseNames(
            api_service=self.api_service_name,
            api_service_port=self.api_service_port,
            api_server_selector=self.selector(self.ui_workload.value),
            triggerer_selector=self.selector("triggerer"),
            triggerer_log_port=TRIGGERER_LOG_PORT,
            pgbouncer_host=self.pgbouncer_host,
            pgbouncer_database=self.pgbouncer_database,
            statsd_service=self.object_name("statsd"),
            statsd_selector=self.selector("statsd"),
            object_prefix=self.release_name,
            secrets=self.secret_names,
            tasks=self.task_isolation,
            bootstrap_namespace=self.bootstrap_namespace,
        )
