"""Helm values for the official Airflow chart: a pure function of settings and wiring.

No Pulumi resources in here: tests call `airflow_values` directly and validate the result
against the chart's own values.schema.json. Chart facts behind each key are summarised in
the README ("How the Helm values are wired").
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any

import yaml

from airflow_chart.chart import API_PORT, PGBOUNCER_PORT, TRIGGERER_LOG_PORT
from airflow_chart.shape import Workload
from airflow_chart.task_pod import SecretEnv, TaskPodSpec, pod_template_text
from components.airflow_auth import (
    BreakGlassAdmin,
    OidcLogin,
    SecretKeyRef,
    auth_values,
    create_user_command,
    create_user_job_values,
    render_oidc_webserver_config,
    render_password_webserver_config,
)
from components.pgbouncer import PGBOUNCER_TLS_DIR
from components.release_types import ReleaseWiring, SecretNames
from components.secrets_backend import backend_config
from config.airflow_models import ComponentConfig, Resources
from config.front_door_rules import API_DRAIN_SECONDS
from config.settings import Settings

IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
AIRFLOW_UID = 50000
AIRFLOW_GID = 0  # the official image's airflow user is 50000 with primary group root (OpenShift-style)
AIRFLOW_HOME = "/opt/airflow"
DAGS_FOLDER = f"{AIRFLOW_HOME}/dags"
LOGS_CONNECTION_ID = "aws_task_logs"
ASYNC_CONNECTION_ENV = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"
# The user each non-Airflow image is built to run as. PgBouncer (`pgbouncer -u nobody`) must start
# with nobody's own group: a gid-0 process cannot setgid to nobody and PgBouncer exits.
NOBODY = (65534, 65534)  # chart PgBouncer + exporter images, prometheus statsd-exporter (USER nobody)
GIT_SYNC = (65533, 65533)  # registry.k8s.io/git-sync (user git-sync)
ADMIN_PASSWORD_DIR = f"{AIRFLOW_HOME}/secrets/admin"
S3_DAGS_VOLUME = "dags-s3"


def pod_security(uid: int, gid: int) -> dict[str, Any]:
    """Pod security context for an image built to run as uid:gid."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": gid,
        "fsGroup": gid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


POD_SECURITY = pod_security(AIRFLOW_UID, AIRFLOW_GID)
CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}
SIDECAR_RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "250m", "memory": "256Mi"}}


def _hardened(pod: Mapping[str, Any] | None = POD_SECURITY) -> dict[str, Any]:
    contexts: dict[str, Any] = {"container": dict(CONTAINER_SECURITY)}
    if pod is not None:
        contexts["pod"] = dict(pod)
    return {"securityContexts": contexts}


def _container_only() -> dict[str, Any]:
    return _hardened(pod=None)


def _resources(resources: Resources) -> dict[str, Any]:
    return resources.model_dump(mode="json")


def _service_account(settings: Settings, wiring: ReleaseWiring, workload: Workload) -> dict[str, Any]:
    account = settings.shape.service_account(workload)
    return {"create": True, "name": account.name, "annotations": {IRSA_ANNOTATION: wiring.role_arns[workload]}}


def _spread(settings: Settings, workload: Workload) -> list[dict[str, Any]]:
    if not settings.airflow.spread_across_zones:
        return []
    labels = {"tier": "airflow", "component": workload.value, "release": settings.airflow.release_name}
    return [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": labels},
        }
    ]


def _pdb(settings: Settings) -> dict[str, Any]:
    return {"enabled": settings.airflow.pod_disruption_budgets, "config": {"maxUnavailable": 1}}


def _component(
    settings: Settings, wiring: ReleaseWiring, workload: Workload, sizing: ComponentConfig
) -> dict[str, Any]:
    """Replicas, resources, IRSA service account, PDB, zone spread and security contexts."""
    section = {
        "replicas": sizing.replicas,
        "resources": _resources(sizing.resources),
        "serviceAccount": _service_account(settings, wiring, workload),
        "podDisruptionBudget": _pdb(settings),
        "topologySpreadConstraints": _spread(settings, workload),
        "waitForMigrations": _container_only(),
        **_hardened(),
    }
    return section


def _s3_sync_containers(settings: Settings, dag_bucket: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(init container, sidecar) copying s3://<DAG bucket>/<prefix> into the DAGs folder."""
    sync = settings.dags.s3_sync
    source = f"s3://{dag_bucket}/{settings.dags.s3_prefix}"
    command = (
        f"aws s3 sync {shlex.quote(source)} {DAGS_FOLDER} --delete --only-show-errors --region {settings.aws_region}"
    )
    base = {
        "image": sync.image,
        "env": [{"name": "HOME", "value": "/tmp"}, {"name": "AWS_REGION", "value": settings.aws_region}],
        "resources": SIDECAR_RESOURCES,
        # The AWS CLI image defaults to root; run it as Airflow's user so the DAG files it writes
        # belong to the user that reads them.
        "securityContext": {**CONTAINER_SECURITY, "runAsUser": AIRFLOW_UID, "runAsGroup": AIRFLOW_GID},
        "volumeMounts": [{"name": S3_DAGS_VOLUME, "mountPath": DAGS_FOLDER}],
    }
    init = {**base, "name": "s3-dag-sync-init", "command": ["/bin/sh", "-c", f"exec {command}"]}
    # The shell is PID 1 of its container: it must handle TERM itself, and a foreground `sleep`
    # would hold the signal until the sleep ends. Run both steps in the background and `wait`,
    # which a trapped signal interrupts at once, so rollouts don't wait out the grace period.
    loop = (
        "trap 'exit 0' TERM INT; "
        f"while true; do {command} & wait $! || echo 'DAG sync failed' >&2; "
        f"sleep {sync.interval_seconds} & wait $!; done"
    )
    sidecar = {**base, "name": "s3-dag-sync", "command": ["/bin/sh", "-c", loop]}
    return init, sidecar


def _dag_delivery(settings: Settings, wiring: ReleaseWiring, values: dict[str, Any]) -> None:
    """Wire DAGs into every component that reads DAG files (git-sync or S3 sync)."""
    names = settings.shape.secret_names
    if settings.dags.source == "gitSync":
        git = settings.dags.git_sync
        if git is None:
            raise ValueError("dags.source gitSync needs dags.gitSync (the config rules enforce it)")
        git_values: dict[str, Any] = {
            "enabled": True,
            "repo": git.repo,
            "branch": git.ref,
            "ref": git.ref,
            "rev": "HEAD",
            "depth": 1,
            "subPath": git.sub_path,
            "period": f"{git.period_seconds}s",
            "maxFailures": 3,
            "resources": SIDECAR_RESOURCES,
            "securityContexts": {
                "container": {**CONTAINER_SECURITY, "runAsUser": GIT_SYNC[0], "runAsGroup": GIT_SYNC[1]}
            },
        }
        if git.auth == "ssh":
            git_values.update(sshKeySecret=names.git_ssh_key, knownHosts=git.known_hosts or "")
        else:
            git_values["credentialsSecret"] = names.git_credentials
        values["dags"] = {"mountPath": DAGS_FOLDER, "persistence": {"enabled": False}, "gitSync": git_values}
        return

    init, sidecar = _s3_sync_containers(settings, wiring.dag_bucket)
    volume = {"name": S3_DAGS_VOLUME, "emptyDir": {"sizeLimit": "2Gi"}}
    mount = {"name": S3_DAGS_VOLUME, "mountPath": DAGS_FOLDER, "readOnly": True}
    values["dags"] = {"mountPath": DAGS_FOLDER, "persistence": {"enabled": False}, "gitSync": {"enabled": False}}
    values["config"]["core"]["dags_folder"] = DAGS_FOLDER
    for workload in settings.shape.dag_readers:
        section = values[workload.values_key]
        section["extraInitContainers"] = [init]
        section["extraVolumes"] = [volume]
        section["extraVolumeMounts"] = [mount]
        if workload is not Workload.WORKER:
            section["extraContainers"] = [sidecar]


def _airflow_config(settings: Settings, wiring: ReleaseWiring) -> dict[str, dict[str, Any]]:
    """`config:` sections rendered into airflow.cfg (scalar values only)."""
    airflow = settings.airflow
    ui_section = "api" if settings.shape.major >= 3 else "webserver"
    execution_api = settings.shape.execution_api_url
    config: dict[str, dict[str, Any]] = {
        "core": {
            # The chart's default names the API Service without its namespace: task pods live in another one.
            **({"execution_api_server_url": execution_api} if execution_api else {}),
            "parallelism": airflow.parallelism,  # per scheduler
            # Tasks without a pool run in default_pool (128 slots unless set): size it for every
            # scheduler's parallelism. Read only when `airflow db migrate` first creates the pool.
            "default_pool_task_slot_count": airflow.max_running_tasks,
            "load_examples": "False",
        },
        "logging": {
            "remote_logging": "True",
            "remote_base_log_folder": f"s3://{wiring.log_bucket}/{airflow.log_prefix}",
            "remote_log_conn_id": LOGS_CONNECTION_ID,
            "encrypt_s3_logs": "False",
            "delete_local_logs": "True",
        },
        ui_section: {
            "expose_config": airflow.expose_config,
            # A bare scheme://host[:port] (no path): the chart's probes and its default
            # execution_api_server_url take the path of base_url, and stay on / this way.
            **({"base_url": wiring.base_url} if wiring.base_url else {}),
        },
        # Task pods run in their own namespace (no platform Secret there); the deprecated `[kubernetes]`
        # section the chart also renders says the same.
        "kubernetes": {"namespace": settings.shape.task_namespace},
        # The chart's default statsd host is the Service's short name, unknown in the task namespace.
        "metrics": {"statsd_host": settings.shape.statsd_host},
        "kubernetes_executor": {
            "namespace": settings.shape.task_namespace,
            "delete_worker_pods": "True",
            "delete_worker_pods_on_failure": "False",
            # A task pod the namespace quota refuses ("exceeded quota") is queued again instead of failing.
            "task_publish_max_retries": -1,
        },
    }
    # Behind the load balancer: the login builds its https callback from X-Forwarded-Proto (the
    # chart's default, kept explicitly), and with TLS the session cookie is marked Secure. The ALB keeps
    # the Host header and passes a client's X-Forwarded-Host/-Prefix through untouched: trusting them
    # (ProxyFix's default, 1) would only let a client choose the host and path of the URLs FAB builds.
    login = config.setdefault(settings.shape.login_config_section, {})
    login.update(
        enable_proxy_fix="True", cookie_secure=str(settings.front_door.tls), proxy_fix_x_host=0, proxy_fix_x_prefix=0
    )
    return config


def _logs_connection(settings: Settings) -> dict[str, str]:
    """An AWS connection with no keys: IRSA supplies the credentials."""
    extra = {"region_name": settings.aws_region}
    return {
        "name": f"AIRFLOW_CONN_{LOGS_CONNECTION_ID.upper()}",
        "value": json.dumps({"conn_type": "aws", "extra": extra}, sort_keys=True),
    }


def _create_user_job(settings: Settings, names: SecretNames) -> dict[str, Any]:
    admin = settings.airflow.admin_user
    job: dict[str, Any] = {"enabled": admin.create, "useHelmHooks": False, "applyCustomEnv": False, **_hardened()}
    if not admin.create:
        return job
    command = create_user_command(
        role="Admin",
        username=admin.username,
        email=admin.email,
        first_name=admin.first_name,
        last_name=admin.last_name,
        password_file=f"{ADMIN_PASSWORD_DIR}/password",
    )
    job.update(
        defaultUser={
            "role": "Admin",
            "username": admin.username,
            "email": admin.email,
            "firstName": admin.first_name,
            "lastName": admin.last_name,
            "password": "",
        },
        args=["bash", "-c", command],
        extraVolumes=[{"name": "admin-password", "secret": {"secretName": names.admin_password}}],
        extraVolumeMounts=[{"name": "admin-password", "mountPath": ADMIN_PASSWORD_DIR, "readOnly": True}],
    )
    return job


def task_pods_peer(settings: Settings) -> dict[str, Any]:
    """Network-policy peer of the task pods, in their own namespace."""
    tasks = settings.shape.task_isolation
    return {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": tasks.namespace}},
        "podSelector": {"matchLabels": dict(tasks.task_selector)},
    }


def _prometheus_peers(settings: Settings) -> list[dict[str, Any]]:
    """Network-policy peers that may scrape statsd and PgBouncer metrics."""
    namespace = settings.airflow.metrics.prometheus_namespace
    if not namespace:
        return []
    return [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}]


def _pgbouncer(settings: Settings, names: SecretNames, checksum: str | None) -> dict[str, Any]:
    pgbouncer = settings.airflow.pgbouncer
    if not pgbouncer.enabled:
        return {"enabled": False}
    if checksum is None:
        raise ValueError("PgBouncer needs the checksum of its Secrets in the wiring")
    return {
        "enabled": True,
        "replicas": pgbouncer.replicas,
        "maxClientConn": pgbouncer.max_client_conn,
        "metadataPoolSize": pgbouncer.metadata_pool_size,
        "sslmode": "require",
        "configSecretName": names.pgbouncer_config,
        "extraVolumes": [{"name": "client-tls", "secret": {"secretName": names.pgbouncer_tls, "defaultMode": 0o440}}],
        "extraVolumeMounts": [{"name": "client-tls", "mountPath": PGBOUNCER_TLS_DIR, "readOnly": True}],
        # The chart checksums only Secrets it renders: this hash of ours rolls PgBouncer on any change.
        "podAnnotations": {"checksum/pgbouncer-secrets": checksum},
        # Airflow 3 tasks never reach the DB; Airflow 2 tasks use it by design.
        "extraNetworkPolicies": _prometheus_peers(settings)
        + ([task_pods_peer(settings)] if settings.shape.tasks_use_database else []),
        "podDisruptionBudget": {"enabled": pgbouncer.replicas > 1, "config": {"maxUnavailable": 1}},
        "resources": SIDECAR_RESOURCES,
        "metricsExporterSidecar": {
            "statsSecretName": names.pgbouncer_stats,
            "statsSecretKey": "connection",
            "resources": SIDECAR_RESOURCES,
            **_container_only(),
        },
        **_hardened(pod_security(*NOBODY)),
    }


def _ui_access(settings: Settings, wiring: ReleaseWiring) -> dict[str, Any]:
    """HPA, network-policy ingress and drain-on-stop of the API server (webserver on Airflow 2)."""
    airflow = settings.airflow
    hpa = airflow.api_server.hpa
    # The front door's source addresses (its subnets, or its clients when it preserves their IPs).
    peers: list[dict[str, Any]] = [{"ipBlock": {"cidr": cidr}} for cidr in wiring.api_peer_cidrs]
    # Airflow's own pods (task pods call the Execution API); an empty list would deny all.
    peers.append({"podSelector": {"matchLabels": {"tier": "airflow", "release": airflow.release_name}}})
    if settings.shape.execution_api_url:
        peers.append(task_pods_peer(settings))  # Airflow 3 tasks call the Execution API
    return {
        "hpa": {
            "enabled": hpa.enabled,
            "minReplicaCount": hpa.min_replicas,
            "maxReplicaCount": hpa.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": hpa.target_cpu_percent},
                    },
                }
            ],
        },
        "networkPolicy": {"ingress": {"from": peers, "ports": [{"port": API_PORT}]}},
        # Keep serving while the front door deregisters the pod, then stop (SIGTERM) within the grace period.
        "containerLifecycleHooks": {"preStop": {"exec": {"command": ["sleep", str(API_DRAIN_SECONDS)]}}},
    }


def airflow_values(settings: Settings, wiring: ReleaseWiring) -> dict[str, Any]:
    """The complete values document for one stack."""
    airflow = settings.airflow
    names = settings.shape.secret_names
    ui = settings.shape.ui_workload
    image = {"repository": airflow.image.repository, "tag": airflow.image_tag, "pullPolicy": "IfNotPresent"}

    values: dict[str, Any] = {
        "airflowVersion": airflow.version,
        "defaultAirflowRepository": airflow.image.repository,
        "defaultAirflowTag": airflow.image_tag,
        "images": {"airflow": image, "pod_template": {k: image[k] for k in ("repository", "tag", "pullPolicy")}},
        "executor": "KubernetesExecutor",
        # The ports other wiring relies on (network policy, outputs, PgBouncer ini), stated once.
        "ports": {
            "apiServer": API_PORT,
            "airflowUI": API_PORT,
            "pgbouncer": PGBOUNCER_PORT,
            "triggererLogs": TRIGGERER_LOG_PORT,
        },
        "postgresql": {"enabled": False},
        "redis": {"enabled": False},
        "data": {"metadataSecretName": names.metadata},
        # The deprecated `[core] sql_alchemy_conn` copy: Airflow 3.1 does not mask it on the config page.
        # AIRFLOW_CONN_AIRFLOW_DB (the metadata URL, password included) is a connection the API server
        # resolves from its environment, and the Execution API serves a task any connection it resolves;
        # nothing of ours uses `airflow_db` (the chart reads it only for KEDA, which is off).
        "enableBuiltInSecretEnvVars": {"AIRFLOW__CORE__SQL_ALCHEMY_CONN": False, "AIRFLOW_CONN_AIRFLOW_DB": False},
        # No service account in Airflow's namespace may create pods (the chart would let the worker account
        # and the triggerer); the scheduler launches task pods in the task namespace through our Role there.
        "allowPodLaunching": False,
        "fernetKeySecretName": names.fernet_key,
        "env": [_logs_connection(settings)],
        "config": _airflow_config(settings, wiring),
        "securityContexts": {"pod": dict(POD_SECURITY), "containers": dict(CONTAINER_SECURITY)},
        "logs": {"persistence": {"enabled": False}},
        "networkPolicies": {"enabled": airflow.network_policies},
        "migrateDatabaseJob": {"useHelmHooks": False, "applyCustomEnv": False, **_hardened()},
        "createUserJob": _create_user_job(settings, names),
        "scheduler": {
            **_component(settings, wiring, Workload.SCHEDULER, airflow.scheduler),
            "logGroomerSidecar": _container_only(),
        },
        "triggerer": {
            **_component(settings, wiring, Workload.TRIGGERER, airflow.triggerer),
            "persistence": {"enabled": False},
            "logGroomerSidecar": _container_only(),
        },
        "workers": {
            "resources": _resources(airflow.worker.resources),
            # The task pods' account lives in the task namespace (created there by the release component).
            "serviceAccount": {"create": False, "name": settings.shape.task_isolation.worker_account},
            "kubernetes": _hardened(),
            "waitForMigrations": _container_only(),
            "logGroomerSidecar": _container_only(),
            **_hardened(),
        },
        "statsd": {
            "enabled": True,
            "extraNetworkPolicies": [*_prometheus_peers(settings), task_pods_peer(settings)],  # task metrics
            **_hardened(pod_security(*NOBODY)),
        },
        "pgbouncer": _pgbouncer(settings, names, wiring.pgbouncer_checksum),
        "cleanup": {
            "enabled": True,
            "args": ["bash", "-c", f"exec airflow kubernetes cleanup-pods --namespace={settings.shape.task_namespace}"],
            **_hardened(),
        },
        "databaseCleanup": _hardened(),
        ui.values_key: {**_component(settings, wiring, ui, airflow.api_server), **_ui_access(settings, wiring)},
    }
    if settings.shape.major >= 3:
        values["apiSecretKeySecretName"] = names.api_secret_key
        values["jwtSecretName"] = names.jwt_secret
        values["dagProcessor"] = {
            **_component(settings, wiring, Workload.DAG_PROCESSOR, airflow.dag_processor),
            "enabled": True,
            "logGroomerSidecar": _container_only(),
        }
        # Running tasks' logs are read in the task namespace (our Role there), not in Airflow's.
        values["apiServer"]["allowPodLogReading"] = False
        values["webserver"] = {"allowPodLogReading": False}
    else:
        values["webserverSecretKeySecretName"] = names.webserver_secret_key
        values["webserver"]["allowPodLogReading"] = False
        values["dagProcessor"] = {"enabled": False}
    _dag_delivery(settings, wiring, values)
    values["podTemplate"] = pod_template_text(task_pod_spec(settings, values))
    _identity(settings, wiring, values)
    if settings.shape.major >= 3:
        _async_metadata_url(values, names)
    return values


def _async_metadata_url(values: dict[str, Any], names: SecretNames) -> None:
    """Airflow 3.1+ reads its asyncpg URL from `[database] sql_alchemy_conn_async` instead of deriving it
    (with `sslmode`, which asyncpg refuses) from sql_alchemy_conn.

    Through `extraEnv`, which reaches the chart's Airflow containers (the `custom_airflow_environment` they
    include) and never a task pod (our template does not include it). Not the `secret` list (the chart's
    template would add it to task pods) nor a component's `env` (the chart copies those, value and all,
    into `[kubernetes_environment_variables]`, which the config page shows unmasked).
    """
    entry = [
        {
            "name": ASYNC_CONNECTION_ENV,
            "valueFrom": {"secretKeyRef": {"name": names.metadata, "key": "async-connection"}},
        }
    ]
    values["extraEnv"] = yaml.safe_dump(entry, sort_keys=False)


def task_pod_spec(settings: Settings, values: Mapping[str, Any]) -> TaskPodSpec:
    """The task pod: image, resources and DAG delivery as the values give the workers, in the task namespace."""
    workers, shape = values["workers"], settings.shape
    names = shape.secret_names
    git = settings.dags.git_sync if settings.dags.source == "gitSync" else None
    secret_env: tuple[SecretEnv, ...] = ()
    if shape.tasks_use_database:
        secret_env = (
            SecretEnv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", names.metadata, "connection"),
            SecretEnv("AIRFLOW__CORE__FERNET_KEY", names.fernet_key, "fernet-key"),
        )
    image = values["images"]["pod_template"]
    return TaskPodSpec(
        release=settings.airflow.release_name,
        image=f"{image['repository']}:{image['tag']}",
        pull_policy=image["pullPolicy"],
        service_account=shape.task_isolation.worker_account,
        logs_folder=f"{AIRFLOW_HOME}/logs",
        resources=workers["resources"],
        pod_security=POD_SECURITY,
        container_security=CONTAINER_SECURITY,
        env=[{"name": "AIRFLOW_HOME", "value": AIRFLOW_HOME}, *values["env"]],  # the executor: from `config`
        secret_env=secret_env,
        init_containers=workers.get("extraInitContainers", ()),
        volumes=workers.get("extraVolumes", ()),
        volume_mounts=workers.get("extraVolumeMounts", ()),
        git_sync=git is not None,
        git_ssh=git is not None and git.auth == "ssh",
        git_known_hosts_config_map=shape.task_isolation.git_known_hosts
        if git is not None and git.auth == "ssh" and git.known_hosts
        else None,
    )


# -- identity and secrets (issue 10) ----------------------------------------------------------------
FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
OIDC_SECRET_CHECKSUM_ANNOTATION = "checksum/oidc-client-secret"


def secrets_backend_values(settings: Settings) -> dict[str, str] | None:
    """The `config.secrets` section (Secrets Manager backend), or None when it is off.

    The remote-log connection stays defined as code (`AIRFLOW_CONN_*`): the backend never looks it up.
    """
    backend = settings.airflow.secrets_backend
    if not backend.enabled:
        return None
    connections, variables = backend.prefixes(settings.instance_name)
    return backend_config(settings.aws_region, connections, variables, (LOGS_CONNECTION_ID,))


def oidc_login(settings: Settings) -> OidcLogin:
    """The OIDC login of `airflow.auth` (type oidc; the config rules make issuer and client id present)."""
    auth = settings.airflow.auth
    if auth.issuer_url is None or auth.client_id is None:
        raise ValueError("airflow.auth type oidc needs issuerUrl and clientId (the config rules enforce it)")
    return OidcLogin(
        issuer_url=auth.issuer_url,
        client_id=auth.client_id,
        role_groups={role: tuple(groups) for role, groups in auth.role_mapping.items()},
        groups_claim=auth.groups_claim,
        username_claim=auth.username_claim,
        scopes=tuple(auth.scopes),
        default_role=auth.default_role,
    )


def break_glass_admin(settings: Settings) -> BreakGlassAdmin | None:
    """The break-glass admin of `airflow.auth` (type password), or None."""
    admin = settings.airflow.auth.break_glass_admin
    if settings.airflow.auth.type != "password" or admin is None:
        return None
    return BreakGlassAdmin(
        username=admin.username, email=admin.email, first_name=admin.first_name, last_name=admin.last_name
    )


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """Merge ``extra`` into ``base``: mappings key by key, lists (extra volumes and mounts) appended."""
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        elif isinstance(value, list) and isinstance(base.get(key), list):
            base[key] = [*base[key], *value]
        else:
            base[key] = value


def _identity(settings: Settings, wiring: ReleaseWiring, values: dict[str, Any]) -> None:
    """UI login (webserver_config.py, client-secret volume, break-glass job) and the secrets backend."""
    names, major = settings.shape.secret_names, settings.shape.major
    backend = secrets_backend_values(settings)
    if backend is not None:
        values["config"]["secrets"] = backend
    if major >= 3:
        # Our webserver_config.py builds on the FAB security manager: the FAB auth manager must run it.
        values["config"]["core"]["auth_manager"] = FAB_AUTH_MANAGER
    if settings.airflow.auth.type == "oidc":
        if wiring.oidc_checksum is None:
            raise ValueError("OIDC login needs the checksum of its client-secret Secret in the wiring")
        login = auth_values(
            major, render_oidc_webserver_config(oidc_login(settings)), SecretKeyRef(names.oidc_client_secret)
        )
        # The chart does not checksum our Secret: this hash rolls the UI pods when the secret rotates.
        annotations = {OIDC_SECRET_CHECKSUM_ANNOTATION: wiring.oidc_checksum}
        for section in login.values():
            section["podAnnotations"] = {**section.get("podAnnotations", {}), **annotations}
    else:
        login = auth_values(major, render_password_webserver_config())
    _merge(values, login)
    admin = break_glass_admin(settings)
    if admin is not None:
        values["createUserJob"] = {**create_user_job_values(admin, names.break_glass_admin), **_hardened()}
