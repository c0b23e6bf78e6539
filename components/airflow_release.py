"""AirflowRelease: namespace, static secrets, the DB role bootstrap and the official chart as a Helm release."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import pulumi_tls as tls

from components.airflow_auth import CLIENT_SECRET_KEY
from components.common import DatabaseEndpoint, Protection, async_metadata_uri, keyed_checksum, metadata_uri
from components.db_bootstrap import (
    BOOTSTRAP_SQL,
    JOB_DEADLINE_SECONDS,
    SQL_FILE,
    bootstrap_checksum,
    bootstrap_pod_spec,
)
from components.namespace_guardrails import NamespaceGuardrails, NamespaceGuardrailsArgs, pod_security_labels
from components.pgbouncer import PgBouncerPool, pgbouncer_ini, pgbouncer_users
from components.release_types import ReleaseFeatures, ReleaseNames, ReleaseWiring
from components.task_namespace import (
    CLEANUP_RULES,
    LAUNCHER_RULES,
    LOG_READER_RULES,
    PlatformAccess,
    TaskNamespace,
    TaskNamespaceArgs,
)

# PgBouncer's client certificate: ten years, renewed by `pulumi up` in its last year.
PGBOUNCER_CERT_HOURS = 24 * 365 * 10
PGBOUNCER_CERT_RENEWAL_HOURS = 24 * 365


@dataclass(frozen=True)
class HelmChart:
    """Which chart to install."""

    name: str
    """Chart name in the repository."""
    version: str
    """Pinned chart version."""
    repository: str
    """Helm repository URL."""


@dataclass(frozen=True)
class GitHttpsCredentials:
    """User and token git-sync clones with over HTTPS."""

    username: str
    token: pulumi.Input[str]


@dataclass(frozen=True)
class AirflowReleaseArgs:
    """Inputs of AirflowRelease: the chart, the names it uses, the DB and what other components hand over."""

    release_name: str
    """Helm release name."""
    namespace: str
    """Namespace, created by the component (Pod Security `pod_security_level` enforced, restricted audited)."""
    chart: HelmChart
    """Chart coordinates."""
    names: ReleaseNames
    """The chart's object names and our Secrets' names."""
    values: Callable[[ReleaseWiring], Mapping[str, Any]]
    """Helm values as a pure function of the resolved wiring."""
    features: ReleaseFeatures
    """What this Airflow major needs around the chart (signing-key Secrets, async DB URL, log peers)."""
    role_arns: Mapping[str, pulumi.Input[str]]
    """IAM role ARN per workload (`scheduler`, `api-server`, ...), for the service-account annotations."""
    dag_bucket: pulumi.Input[str]
    log_bucket: pulumi.Input[str]
    database: DatabaseEndpoint
    """The metadata DB and its master credentials (used only by the bootstrap Job)."""
    app_username: str
    """Role Airflow and PgBouncer log in as; the bootstrap Job creates it."""
    bootstrap_image: str
    """Pinned PostgreSQL image whose psql runs the bootstrap (uid 70)."""
    pgbouncer: PgBouncerPool | None = None
    """PgBouncer pooling. Default: none (Airflow connects to RDS)."""
    admin_user: bool = False
    """Generate a password for the chart's create-user job. Default: no."""
    network_policies: bool = False
    """The chart renders network policies: add the ones it lacks. Default: no."""
    service_monitor: bool = False
    """Create a ServiceMonitor for the statsd exporter. Default: no."""
    git_ssh_private_key: pulumi.Input[str] | None = None
    """git-sync SSH key (a secret). Default: none."""
    git_https: GitHttpsCredentials | None = None
    """git-sync HTTPS credentials. Default: none."""
    timeout_seconds: int = 900
    """How long Helm waits for readiness. Default: 900."""
    max_history: int = 10
    """Release revisions kept. Default: 10."""
    protection: Protection = field(default_factory=Protection)
    """Protection of the generated keys. Default: retained on delete."""
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels of the namespace (such as a load balancer's readiness-gate label). Default: none."""
    pod_security_level: Literal["restricted", "baseline"] = "baseline"
    """Pod Security level the namespace enforces (restricted is always audited and warned). Default: baseline."""
    guardrails: NamespaceGuardrailsArgs | None = None
    """ResourceQuota and LimitRange of the namespace, created before the chart (their `namespace` is replaced
    by the one created here). Default: none."""
    oidc_client_secret: pulumi.Input[str] | None = None
    """OIDC client secret (a secret) for SSO: a Secret read by the API server / webserver. Default: none."""
    break_glass_admin: bool = False
    """Generate the break-glass admin's password (a Secret for the create-user job). Default: no."""
    api_peer_cidrs: pulumi.Input[Sequence[str]] = ()
    """CIDRs allowed to the API server besides Airflow's own pods (a load balancer's sources). Default: none."""
    base_url: pulumi.Input[str] | None = None
    """The URL users reach the UI at, for links in the UI and emails. Default: the chart's."""
    task_guardrails: NamespaceGuardrailsArgs | None = None
    """ResourceQuota and LimitRange of the task namespace (task pods only). Default: none."""
    git_known_hosts: str | None = None
    """git-sync's known_hosts (SSH), also needed by the task pods' git-sync in their namespace. Default: none."""


def fernet_key(random_base64: str) -> str:
    """A Fernet key (url-safe base64 of 32 bytes, padded) from standard base64 of 32 random bytes."""
    raw = base64.b64decode(random_base64)
    if len(raw) != 32:
        raise ValueError("a Fernet key needs exactly 32 random bytes")
    return base64.urlsafe_b64encode(raw).decode()


class AirflowRelease(pulumi.ComponentResource):
    """Airflow on Kubernetes: the official chart, with secrets that never rotate on upgrade."""

    namespace: pulumi.Output[str]
    release_name: pulumi.Output[str]
    api_service_name: pulumi.Output[str]
    api_service_port: pulumi.Output[int]

    def __init__(self, name: str, args: AirflowReleaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-platform:airflow:AirflowRelease", name, None, opts)
        self._name = name
        self._args = args
        self._names = args.names.secrets
        self.admin_password: pulumi.Output[str] | None = None
        self.break_glass_password: pulumi.Output[str] | None = None
        self.guardrails: NamespaceGuardrails | None = None
        self._oidc_checksum: pulumi.Output[str] | None = None
        self._protection = args.protection

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.namespace,
                labels={
                    "app.kubernetes.io/part-of": "airflow",
                    **args.namespace_labels,
                    **pod_security_labels(args.pod_security_level),
                },
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._namespace_name = namespace.metadata.name
        # Key of the checksum annotations that roll pods when their Secrets change (see `_checksum`).
        self._checksum_key = pulumi.Output.secret(
            random.RandomBytes(f"{name}-checksum-key", length=32, opts=self._protection.options(self)).base64
        )
        self._pgbouncer_checksum: pulumi.Output[str] | None = None
        self._secret_data: dict[str, Mapping[str, pulumi.Input[str]]] = {}
        self._app_password = self._random_password("db-app-password", 40)
        bootstrap = self._db_bootstrap()
        secrets = self._static_secrets()
        self.tasks = self._task_namespace()
        before_chart: list[pulumi.Resource] = [*secrets, bootstrap, *self.tasks.ready]
        if args.guardrails is not None:
            # Quota and container defaults must exist before the chart's first pod is admitted.
            self.guardrails = NamespaceGuardrails(
                f"{name}-guardrails",
                dataclasses.replace(args.guardrails, namespace=self._namespace_name),
                opts=pulumi.ResourceOptions(parent=self),
            )
            before_chart.append(self.guardrails)
        values = pulumi.Output.all(
            pulumi.Output.all(**dict(args.role_arns)),
            args.dag_bucket,
            args.log_bucket,
            self._pgbouncer_checksum,
            self._oidc_checksum,
            args.api_peer_cidrs,
            args.base_url,
        ).apply(
            lambda v: args.values(
                ReleaseWiring(
                    role_arns=v[0],
                    dag_bucket=v[1],
                    log_bucket=v[2],
                    pgbouncer_checksum=v[3],
                    oidc_checksum=v[4],
                    api_peer_cidrs=tuple(v[5]),
                    base_url=v[6],
                )
            )
        )
        if args.network_policies and args.features.api_reads_triggerer_logs:
            self._triggerer_logs_policy()
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            k8s.helm.v3.ReleaseArgs(
                name=args.release_name,
                chart=args.chart.name,
                version=args.chart.version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=args.chart.repository),
                namespace=self._namespace_name,
                create_namespace=False,
                values=values,
                atomic=True,
                cleanup_on_fail=True,
                timeout=args.timeout_seconds,
                max_history=args.max_history,
            ),
            # The application role must exist before the chart's migration job logs in with it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=before_chart),
        )
        if args.service_monitor:
            self._statsd_monitor()

        self.namespace = self._namespace_name
        self.release_name = self.release.name
        self.api_service_name = pulumi.Output.from_input(args.names.api_service)
        self.api_service_port = pulumi.Output.from_input(args.names.api_service_port)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "releaseName": self.release_name,
                "apiServiceName": self.api_service_name,
                "apiServicePort": self.api_service_port,
            }
        )

    # -- secrets ---------------------------------------------------------------------------
    def _metadata(self, name: str, namespace: pulumi.Input[str] | None = None) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(
            name=name,
            namespace=namespace if namespace is not None else self._namespace_name,
            labels={"app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "airflow"},
        )

    def _secret(
        self,
        suffix: str,
        secret_name: str,
        data: Mapping[str, pulumi.Input[str]],
        secret_type: str = "Opaque",
        namespace: pulumi.Input[str] | None = None,
    ) -> k8s.core.v1.Secret:
        if namespace is None:
            self._secret_data[secret_name] = data
        return k8s.core.v1.Secret(
            f"{self._name}-{suffix}",
            metadata=self._metadata(secret_name, namespace),
            type=secret_type,
            string_data={key: pulumi.Output.secret(value) for key, value in data.items()},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _checksum(self, *parts: pulumi.Input[str]) -> pulumi.Output[str]:
        """A keyed hash of secret ``parts`` for a pod annotation: plain text, so previews stay readable."""
        return pulumi.Output.unsecret(
            pulumi.Output.all(self._checksum_key, *parts).apply(lambda v: keyed_checksum(v[0], v[1:]))
        )

    def _random_password(self, suffix: str, length: int) -> pulumi.Output[str]:
        # Protected like the DB: regenerating these would log everyone out (API/JWT keys) or
        # make every encrypted connection and variable unreadable (Fernet key).
        password = random.RandomPassword(
            f"{self._name}-{suffix}", length=length, special=False, opts=self._protection.options(self)
        )
        return pulumi.Output.secret(password.result)

    def _static_secrets(self) -> list[k8s.core.v1.Secret]:
        """Secrets generated once (pulumi-random) and referenced by name, so upgrades never rotate them."""
        args, names = self._args, self._names
        fernet_bytes = random.RandomBytes(f"{self._name}-fernet-bytes", length=32, opts=self._protection.options(self))
        secrets = [
            self._secret("fernet-key", names.fernet_key, {"fernet-key": fernet_bytes.base64.apply(fernet_key)}),
            self._secret("metadata", names.metadata, self._metadata_connections()),
        ]
        for generated in args.features.generated_keys:
            value = self._random_password(generated.key, generated.length)
            secrets.append(self._secret(generated.key, generated.secret_name, {generated.key: value}))
        if args.pgbouncer is not None:
            secrets.extend(self._pgbouncer_secrets(args.pgbouncer))
        if args.admin_user:
            self.admin_password = self._random_password("admin-password", 24)
            secrets.append(self._secret("admin-password", names.admin_password, {"password": self.admin_password}))
        if args.break_glass_admin:
            self.break_glass_password = self._random_password("break-glass-admin-password", 32)
            secrets.append(
                self._secret("break-glass-admin", names.break_glass_admin, {"password": self.break_glass_password})
            )
        if args.oidc_client_secret is not None:
            client_secret = pulumi.Output.secret(args.oidc_client_secret)
            # Not secret: a hash in the API pods' annotations rolls them when the client secret rotates.
            self._oidc_checksum = self._checksum(client_secret)
            secrets.append(
                self._secret("oidc-client-secret", names.oidc_client_secret, {CLIENT_SECRET_KEY: client_secret})
            )
        if args.git_ssh_private_key is not None:
            secrets.append(self._secret("git-ssh-key", names.git_ssh_key, {"gitSshKey": args.git_ssh_private_key}))
        if args.git_https is not None:
            user, token = args.git_https.username, args.git_https.token
            credentials = {
                "GIT_SYNC_USERNAME": user,
                "GITSYNC_USERNAME": user,
                "GIT_SYNC_PASSWORD": token,
                "GITSYNC_PASSWORD": token,
            }
            secrets.append(self._secret("git-credentials", names.git_credentials, credentials))
        return secrets

    def _metadata_connections(self) -> dict[str, pulumi.Output[str]]:
        """Airflow's URIs as the application role (to PgBouncer when it runs, else to RDS), always secrets.

        `connection` is the psycopg2 URI the chart reads; on Airflow 3 `async-connection` is the
        asyncpg form (`sql_alchemy_conn_async`), which Airflow would otherwise derive with a
        `sslmode` that asyncpg refuses.
        """
        args, db, user = self._args, self._args.database, self._args.app_username
        if args.pgbouncer is not None:
            pool = args.pgbouncer
            target = pulumi.Output.all(args.names.pgbouncer_host, pool.listen_port, pool.database_alias)
        else:
            target = pulumi.Output.all(db.address, db.port, db.name)
        endpoint = pulumi.Output.all(self._app_password, target)
        uris = {"connection": endpoint.apply(lambda v: metadata_uri(user, v[0], *v[1], "require"))}
        if args.features.async_metadata_url:
            uris["async-connection"] = endpoint.apply(lambda v: async_metadata_uri(user, v[0], *v[1]))
        return {key: pulumi.Output.secret(uri) for key, uri in uris.items()}

    def _pgbouncer_secrets(self, pool: PgBouncerPool) -> list[k8s.core.v1.Secret]:
        """PgBouncer's config, users, stats connection and the TLS key pair it serves Airflow with.

        The chart only checksums Secrets it renders itself, so the hash of everything here goes
        into a pod annotation: a new endpoint, port, password, pool size or certificate rolls PgBouncer.
        """
        names, db, user = self._names, self._args.database, self._args.app_username
        ini = pulumi.Output.all(db.address, db.port).apply(lambda v: pgbouncer_ini(pool, db.name, v[0], v[1], user))
        users = self._app_password.apply(lambda password: pgbouncer_users(user, password))
        stats = self._app_password.apply(
            lambda password: metadata_uri(user, password, "127.0.0.1", pool.listen_port, "pgbouncer", "require")
        )
        certificate, key = self._pgbouncer_tls()
        self._pgbouncer_checksum = self._checksum(ini, users, stats, certificate, key)
        return [
            self._secret("pgbouncer-config", names.pgbouncer_config, {"pgbouncer.ini": ini, "users.txt": users}),
            self._secret("pgbouncer-stats", names.pgbouncer_stats, {"connection": stats}),
            self._secret(
                "pgbouncer-tls",
                names.pgbouncer_tls,
                {"tls.crt": certificate, "tls.key": key},
                secret_type="kubernetes.io/tls",
            ),
        ]

    def _pgbouncer_tls(self) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """Self-signed server certificate: Airflow connects with sslmode=require (encrypted, unverified)."""
        host = self._args.names.pgbouncer_host
        service = host.split(".", 1)[0]
        key = tls.PrivateKey(
            f"{self._name}-pgbouncer-tls-key",
            algorithm="ECDSA",
            ecdsa_curve="P256",
            opts=pulumi.ResourceOptions(parent=self),
        )
        certificate = tls.SelfSignedCert(
            f"{self._name}-pgbouncer-tls-cert",
            private_key_pem=key.private_key_pem,
            subject=tls.SelfSignedCertSubjectArgs(common_name=service, organization="airflow-platform"),
            dns_names=[service, host, f"{host}.svc"],
            validity_period_hours=PGBOUNCER_CERT_HOURS,
            early_renewal_hours=PGBOUNCER_CERT_RENEWAL_HOURS,
            allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        return certificate.cert_pem, key.private_key_pem

    # -- task pods ---------------------------------------------------------------------------
    def _task_namespace(self) -> TaskNamespace:
        """The task pods' namespace: their account, the Secrets they need by design, and who may act there."""
        args, tasks = self._args, self._args.names.tasks
        shared = set(tasks.shared_secrets)
        if args.git_ssh_private_key is not None or args.git_https is not None:
            shared |= {self._names.git_ssh_key if args.git_ssh_private_key is not None else self._names.git_credentials}
        known_hosts = (
            {tasks.git_known_hosts: {"known_hosts": args.git_known_hosts}}
            if args.git_ssh_private_key is not None and args.git_known_hosts
            else {}
        )
        return TaskNamespace(
            f"{self._name}-tasks",
            TaskNamespaceArgs(
                namespace=tasks.namespace,
                platform_namespace=self._namespace_name,
                worker_account=tasks.worker_account,
                worker_role_arn=args.role_arns["worker"],
                access=(
                    PlatformAccess("airflow-task-launcher", tasks.launcher_account, LAUNCHER_RULES),
                    PlatformAccess("airflow-task-log-reader", tasks.log_reader_account, LOG_READER_RULES),
                    PlatformAccess("airflow-task-cleanup", tasks.cleanup_account, CLEANUP_RULES),
                ),
                task_selector=tasks.task_selector,
                pod_security_level=args.pod_security_level,
                labels={"app.kubernetes.io/part-of": "airflow"},
                secrets={name: self._secret_data[name] for name in sorted(shared)},
                config_maps=known_hosts,
                deny_ingress=args.network_policies,
                guardrails=args.task_guardrails,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    # -- DB role, policies, monitors ---------------------------------------------------------
    def _db_bootstrap(self) -> k8s.batch.v1.Job:
        """The Job that creates the application role with the master credentials (the only user of them)."""
        args, db = self._args, self._args.database
        data = {
            "PGHOST": pulumi.Output.from_input(db.address),
            "PGPORT": pulumi.Output.from_input(db.port).apply(lambda port: str(int(port))),
            "PGDATABASE": pulumi.Output.from_input(db.name),
            "PGUSER": pulumi.Output.from_input(db.username),
            "PGPASSWORD": pulumi.Output.from_input(db.password),
            "APP_USER": pulumi.Output.from_input(args.app_username),
            "APP_PASSWORD": self._app_password,
        }
        name = self._names.db_bootstrap
        # Its own namespace: no Airflow service account has any right there, so the master password in
        # this Secret is out of reach of every Airflow pod (and of every pod Airflow creates).
        namespace = k8s.core.v1.Namespace(
            f"{self._name}-bootstrap-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.names.bootstrap_namespace,
                labels={"app.kubernetes.io/part-of": "airflow", **pod_security_labels("restricted")},
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        where = namespace.metadata.name
        secret = self._secret("db-bootstrap", name, data, namespace=where)
        sql = k8s.core.v1.ConfigMap(
            f"{self._name}-db-bootstrap-sql",
            metadata=self._metadata(name, where),
            data={SQL_FILE: BOOTSTRAP_SQL},
            opts=pulumi.ResourceOptions(parent=self),
        )
        keys = sorted(data)
        checksum = pulumi.Output.unsecret(
            pulumi.Output.all(self._checksum_key, *(data[key] for key in keys)).apply(
                lambda v: bootstrap_checksum(dict(zip(keys, v[1:], strict=True)), v[0])
            )
        )
        return k8s.batch.v1.Job(
            f"{self._name}-db-bootstrap",
            metadata=self._metadata(name, where),
            spec={
                "backoffLimit": 6,
                "activeDeadlineSeconds": JOB_DEADLINE_SECONDS,
                "template": {
                    "metadata": {
                        "labels": {"app.kubernetes.io/part-of": "airflow", "component": "db-bootstrap"},
                        # A new password or endpoint changes the template: the Job is replaced and runs again.
                        "annotations": {"checksum/db-bootstrap": checksum},
                    },
                    "spec": bootstrap_pod_spec(args.bootstrap_image, name, name),
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[secret, sql], delete_before_replace=True),
        )

    def _triggerer_logs_policy(self) -> k8s.networking.v1.NetworkPolicy:
        """Let the API server read live triggerer logs.

        Chart 1.19.0's triggerer NetworkPolicy admits only `component: webserver` on the log port,
        which Airflow 3 no longer runs; policies add up, so this one admits the API server too.
        """
        names = self._args.names
        return k8s.networking.v1.NetworkPolicy(
            f"{self._name}-triggerer-logs-policy",
            metadata=self._metadata(f"{names.object_prefix}-triggerer-logs-from-api-server"),
            spec={
                "podSelector": {"matchLabels": dict(names.triggerer_selector)},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"podSelector": {"matchLabels": dict(names.api_server_selector)}}],
                        "ports": [{"protocol": "TCP", "port": names.triggerer_log_port}],
                    }
                ],
            },
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _statsd_monitor(self) -> None:
        names = self._args.names
        k8s.apiextensions.CustomResource(
            f"{self._name}-statsd-monitor",
            api_version="monitoring.coreos.com/v1",
            kind="ServiceMonitor",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=names.statsd_service, namespace=self._namespace_name),
            spec={
                "selector": {"matchLabels": dict(names.statsd_selector)},
                "endpoints": [{"port": "statsd-scrape", "interval": "30s"}],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.release]),
        )
