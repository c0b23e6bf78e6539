"""AirflowRelease: namespace, static secrets and the official chart as a Helm release."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import pulumi_tls as tls

from components.airflow_values import API_PORT, ReleaseWiring, airflow_values
from components.common import DatabaseEndpoint, Protection, metadata_uri
from components.pgbouncer import PGBOUNCER_PORT, pgbouncer_ini, pgbouncer_users
from config.airflow_models import HELM_REPOSITORY
from config.naming import Workload, chart_object_name, secret_names, ui_workload
from config.settings import Settings

CHART = "airflow"
# PgBouncer's client certificate: ten years, renewed by `pulumi up` in its last year.
PGBOUNCER_CERT_HOURS = 24 * 365 * 10
PGBOUNCER_CERT_RENEWAL_HOURS = 24 * 365


@dataclass(frozen=True)
class AirflowReleaseArgs:
    """Inputs of AirflowRelease."""

    settings: Settings
    role_arns: Mapping[Workload, pulumi.Input[str]]
    dag_bucket: pulumi.Input[str]
    log_bucket: pulumi.Input[str]
    database: DatabaseEndpoint
    protection: Protection
    git_ssh_private_key: pulumi.Input[str] | None = None
    git_https_token: pulumi.Input[str] | None = None


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
        settings = args.settings
        self._name = name
        self._names = secret_names(settings)
        self.admin_password: pulumi.Output[str] | None = None
        self._protection = args.protection
        child = pulumi.ResourceOptions(parent=self)

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=settings.namespace,
                labels={
                    "app.kubernetes.io/part-of": "airflow",
                    "pod-security.kubernetes.io/enforce": "baseline",
                    "pod-security.kubernetes.io/warn": "restricted",
                    "pod-security.kubernetes.io/audit": "restricted",
                },
            ),
            opts=child,
        )
        self._namespace_name = namespace.metadata.name
        secrets = self._static_secrets(settings, args)
        values = pulumi.Output.all(
            pulumi.Output.all(**{w.value: arn for w, arn in args.role_arns.items()}), args.dag_bucket, args.log_bucket
        ).apply(
            lambda v: airflow_values(
                settings,
                ReleaseWiring(
                    role_arns={Workload(k): arn for k, arn in v[0].items()}, dag_bucket=v[1], log_bucket=v[2]
                ),
            )
        )
        helm = settings.airflow.helm
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            k8s.helm.v3.ReleaseArgs(
                name=settings.airflow.release_name,
                chart=CHART,
                version=settings.airflow.chart_version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=HELM_REPOSITORY),
                namespace=self._namespace_name,
                create_namespace=False,
                values=values,
                atomic=True,
                cleanup_on_fail=True,
                timeout=helm.timeout_seconds,
                max_history=helm.max_history,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=secrets),
        )
        if settings.airflow.metrics.service_monitor:
            self._service_monitor(name, settings)

        self.namespace = self._namespace_name
        self.release_name = self.release.name
        self.api_service_name = pulumi.Output.from_input(chart_object_name(settings, ui_workload(settings).value))
        self.api_service_port = pulumi.Output.from_input(API_PORT)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "releaseName": self.release_name,
                "apiServiceName": self.api_service_name,
                "apiServicePort": self.api_service_port,
            }
        )

    # -- secrets ---------------------------------------------------------------------------
    def _secret(
        self, suffix: str, secret_name: str, data: Mapping[str, pulumi.Input[str]], secret_type: str = "Opaque"
    ) -> k8s.core.v1.Secret:
        return k8s.core.v1.Secret(
            f"{self._name}-{suffix}",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=secret_name,
                namespace=self._namespace_name,
                labels={"app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "airflow"},
            ),
            type=secret_type,
            string_data={key: pulumi.Output.secret(value) for key, value in data.items()},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _random_password(self, suffix: str, length: int) -> pulumi.Output[str]:
        # Protected like the DB: regenerating these would log everyone out (API/JWT keys) or
        # make every encrypted connection and variable unreadable (Fernet key).
        password = random.RandomPassword(
            f"{self._name}-{suffix}", length=length, special=False, opts=self._protection.options(self)
        )
        return pulumi.Output.secret(password.result)

    def _static_secrets(self, settings: Settings, args: AirflowReleaseArgs) -> list[k8s.core.v1.Secret]:
        """Secrets generated once (pulumi-random) and referenced by name, so upgrades never rotate them."""
        names = self._names
        db = args.database
        fernet_bytes = random.RandomBytes(f"{self._name}-fernet-bytes", length=32, opts=self._protection.options(self))
        secrets = [
            self._secret("fernet-key", names.fernet_key, {"fernet-key": fernet_bytes.base64.apply(fernet_key)}),
            self._secret("metadata", names.metadata, {"connection": self._metadata_connection(settings, db)}),
        ]
        if settings.airflow.major >= 3:
            secrets.append(
                self._secret(
                    "api-secret-key",
                    names.api_secret_key,
                    {"api-secret-key": self._random_password("api-secret-key", 48)},
                )
            )
            secrets.append(
                self._secret("jwt-secret", names.jwt_secret, {"jwt-secret": self._random_password("jwt-secret", 64)})
            )
        else:
            secrets.append(
                self._secret(
                    "webserver-secret-key",
                    names.webserver_secret_key,
                    {"webserver-secret-key": self._random_password("webserver-secret-key", 48)},
                )
            )
        if settings.airflow.pgbouncer.enabled:
            secrets.extend(self._pgbouncer_secrets(settings, db))
        if settings.airflow.admin_user.create:
            self.admin_password = self._random_password("admin-password", 24)
            secrets.append(self._secret("admin-password", names.admin_password, {"password": self.admin_password}))
        git = settings.dags.git_sync
        if settings.dags.source == "gitSync" and git is not None:
            if git.auth == "ssh" and args.git_ssh_private_key is not None:
                secrets.append(self._secret("git-ssh-key", names.git_ssh_key, {"gitSshKey": args.git_ssh_private_key}))
            elif git.auth == "https" and args.git_https_token is not None:
                user, token = git.username or "", args.git_https_token
                credentials = {
                    "GIT_SYNC_USERNAME": user,
                    "GITSYNC_USERNAME": user,
                    "GIT_SYNC_PASSWORD": token,
                    "GITSYNC_PASSWORD": token,
                }
                secrets.append(self._secret("git-credentials", names.git_credentials, credentials))
        return secrets

    def _metadata_connection(self, settings: Settings, db: DatabaseEndpoint) -> pulumi.Output[str]:
        """Airflow's SQLAlchemy URI (to PgBouncer when it runs, else to RDS), always a secret."""
        if settings.airflow.pgbouncer.enabled:
            host = f"{chart_object_name(settings, 'pgbouncer')}.{settings.namespace}"
            uri = pulumi.Output.all(db.password).apply(
                lambda v: metadata_uri(
                    db.username, v[0], host, PGBOUNCER_PORT, chart_object_name(settings, "metadata"), "require"
                )
            )
        else:
            uri = pulumi.Output.all(db.password, db.address, db.port).apply(
                lambda v: metadata_uri(db.username, v[0], v[1], v[2], db.name, "require")
            )
        return pulumi.Output.secret(uri)

    def _pgbouncer_secrets(self, settings: Settings, db: DatabaseEndpoint) -> list[k8s.core.v1.Secret]:
        """PgBouncer's config, users, stats connection and the TLS key pair it serves Airflow with."""
        names = self._names
        ini = pulumi.Output.all(db.address, db.port).apply(
            lambda v: pgbouncer_ini(settings, db.name, v[0], v[1], db.username)
        )
        users = pulumi.Output.all(db.password).apply(lambda v: pgbouncer_users(db.username, v[0]))
        stats = pulumi.Output.all(db.password).apply(
            lambda v: metadata_uri(db.username, v[0], "127.0.0.1", PGBOUNCER_PORT, "pgbouncer", "require")
        )
        return [
            self._secret("pgbouncer-config", names.pgbouncer_config, {"pgbouncer.ini": ini, "users.txt": users}),
            self._secret("pgbouncer-stats", names.pgbouncer_stats, {"connection": stats}),
            self._pgbouncer_tls(settings),
        ]

    def _pgbouncer_tls(self, settings: Settings) -> k8s.core.v1.Secret:
        """Self-signed server certificate: Airflow connects with sslmode=require (encrypted, unverified)."""
        host = chart_object_name(settings, "pgbouncer")
        key = tls.PrivateKey(
            f"{self._name}-pgbouncer-tls-key",
            algorithm="ECDSA",
            ecdsa_curve="P256",
            opts=pulumi.ResourceOptions(parent=self),
        )
        certificate = tls.SelfSignedCert(
            f"{self._name}-pgbouncer-tls-cert",
            private_key_pem=key.private_key_pem,
            subject=tls.SelfSignedCertSubjectArgs(common_name=host, organization="airflow-platform"),
            dns_names=[host, f"{host}.{settings.namespace}", f"{host}.{settings.namespace}.svc"],
            validity_period_hours=PGBOUNCER_CERT_HOURS,
            early_renewal_hours=PGBOUNCER_CERT_RENEWAL_HOURS,
            allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        return self._secret(
            "pgbouncer-tls",
            self._names.pgbouncer_tls,
            {"tls.crt": certificate.cert_pem, "tls.key": key.private_key_pem},
            secret_type="kubernetes.io/tls",
        )

    def _service_monitor(self, name: str, settings: Settings) -> None:
        k8s.apiextensions.CustomResource(
            f"{name}-statsd-monitor",
            api_version="monitoring.coreos.com/v1",
            kind="ServiceMonitor",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=chart_object_name(settings, "statsd"), namespace=self._namespace_name
            ),
            spec={
                "selector": {
                    "matchLabels": {"tier": "airflow", "component": "statsd", "release": settings.airflow.release_name}
                },
                "endpoints": [{"port": "statsd-scrape", "interval": "30s"}],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.release]),
        )
