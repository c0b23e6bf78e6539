"""What the release's pods ask for, container by container: the input of the namespace quota.

Pure functions of the settings and the values this program sets (airflow_chart/values.py). A container
the values give no resources (the chart's log groomers, statsd, jobs) gets the LimitRange defaults
(`airflow.guardrails.containerDefaults`) and is counted at them; the chart gives each component's
wait-for-migrations init container that component's own resources.
Every Deployment is counted with a 100% rolling-update surge: the chart's triggerer and dag-processor
roll with `maxSurge: 100%`, and counting the others the same way keeps a config change, which rolls
them all at once, inside the quota.
"""

from __future__ import annotations

from airflow_chart.shape import Workload
from airflow_chart.values import SIDECAR_RESOURCES
from components.namespace_guardrails import (
    LongRunning,
    PodResources,
    QuotaSizing,
    effective_pod,
    platform_sizing,
    quota_sizing,
    surge_pods,
)
from config.quantities import Resources
from config.settings import Settings

ROLLING_SURGE = "100%"
SIDECAR = PodResources.of(SIDECAR_RESOURCES["requests"], SIDECAR_RESOURCES["limits"])
# Components with the chart's log-groomer sidecar (it sets no resources of its own here).
_LOG_GROOMED = (Workload.SCHEDULER, Workload.TRIGGERER, Workload.DAG_PROCESSOR)


def _of(resources: Resources) -> PodResources:
    return PodResources.of(resources.requests.model_dump(), resources.limits.model_dump())


def container_defaults(settings: Settings) -> PodResources:
    """The LimitRange defaults of containers that set no resources."""
    return _of(settings.airflow.guardrails.container_defaults)


def _dag_sync(settings: Settings, workload: Workload) -> tuple[list[PodResources], list[PodResources]]:
    """(sidecars, init containers) that bring DAGs into one workload's pods."""
    if workload not in settings.shape.dag_readers:
        return [], []
    sidecars = [] if workload is Workload.WORKER else [SIDECAR]
    return sidecars, [SIDECAR]  # S3 sync or git-sync: both sized SIDECAR_RESOURCES


def _pod(settings: Settings, workload: Workload, main: Resources) -> PodResources:
    default = container_defaults(settings)
    sidecars, inits = _dag_sync(settings, workload)
    containers = [_of(main), *sidecars]
    if workload in _LOG_GROOMED:
        containers.append(default)
    if workload is not Workload.WORKER:
        inits.append(_of(main))  # wait-for-airflow-migrations: the chart gives it the component's resources
    return effective_pod(containers, inits)


def task_pod(settings: Settings) -> PodResources:
    """One KubernetesExecutor task pod."""
    return _pod(settings, Workload.WORKER, settings.airflow.worker.resources)


def long_running(settings: Settings) -> list[LongRunning]:
    """Every Deployment of the release at its most replicas (the API server at its HPA maximum)."""
    airflow, shape = settings.airflow, settings.shape
    hpa = airflow.api_server.hpa
    sizing = {
        Workload.SCHEDULER: airflow.scheduler,
        Workload.TRIGGERER: airflow.triggerer,
        Workload.DAG_PROCESSOR: airflow.dag_processor,
    }
    components = [
        (workload.value, config.replicas, _pod(settings, workload, config.resources))
        for workload, config in sizing.items()
        if workload in shape.workloads
    ]
    ui = shape.ui_workload
    api_replicas = hpa.max_replicas if hpa.enabled else airflow.api_server.replicas
    components.append((ui.value, api_replicas, _pod(settings, ui, airflow.api_server.resources)))
    components.append(("statsd", 1, container_defaults(settings)))
    if airflow.pgbouncer.enabled:
        components.append(("pgbouncer", airflow.pgbouncer.replicas, SIDECAR + SIDECAR))  # PgBouncer + exporter
    return [LongRunning(name, replicas, surge_pods(replicas, ROLLING_SURGE), pod) for name, replicas, pod in components]


def one_off(settings: Settings) -> list[PodResources]:
    """Jobs that may run next to everything else in Airflow's namespace: migrations, cleanup, create-user.

    The DB bootstrap Job runs in a namespace of its own (no quota there).
    """
    default = container_defaults(settings)
    jobs = [default, default]  # migrate, cleanup
    if settings.airflow.admin_user.create or settings.airflow.auth.break_glass_admin is not None:
        jobs.append(default)
    return jobs


def namespace_quota(settings: Settings) -> QuotaSizing:
    """The ResourceQuota of Airflow's namespace: every component at its maxima while rolling, every job.

    Task pods run in the task namespace (`task_namespace_quota`)."""
    return platform_sizing(long_running(settings), one_off(settings))


def task_namespace_quota(settings: Settings) -> QuotaSizing:
    """The ResourceQuota of the task namespace: every running task (parallelism per scheduler), plus the pods
    tasks may start themselves (`airflow.guardrails.launchedPods`, at the container defaults)."""
    return quota_sizing(
        settings.airflow.max_running_tasks,
        task_pod(settings),
        [],
        launched_pods=settings.airflow.guardrails.launched_pods,
        launched_pod=container_defaults(settings),
    )
