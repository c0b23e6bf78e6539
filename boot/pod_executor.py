"""KubernetesExecutor's task pod, started on this machine instead of by a kubelet (imported by the scheduler).

Each workload becomes the pod KubernetesExecutor would create: the same `workload_to_command_args`,
`get_base_pod_from_template` (the rendered pod_template_file.yaml) and `PodGenerator.construct_pod`
with the mutation hook. Its main container then runs as a process with only that container's env
(Secret references resolved from the file `BOOT_POD_SECRETS` names) plus the stand-ins a kubelet and
IRSA would add (`BOOT_POD_EXTRA_ENV`: PATH, AWS endpoint and credentials). Nothing else of the
scheduler's environment reaches the task.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from airflow.executors import workloads
from airflow.executors.base_executor import BaseExecutor
from airflow.providers.cncf.kubernetes.executors.kubernetes_executor_utils import get_base_pod_from_template
from airflow.providers.cncf.kubernetes.kube_config import KubeConfig
from airflow.providers.cncf.kubernetes.kubernetes_helper_functions import create_unique_id
from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator, workload_to_command_args
from airflow.utils.state import TaskInstanceState


def container_env(container: Any, secrets: dict[str, dict[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in container.env or []:
        if item.value is not None:
            env[item.name] = item.value
        elif item.value_from is not None and item.value_from.secret_key_ref is not None:
            ref = item.value_from.secret_key_ref
            env[item.name] = secrets[ref.name][ref.key]
        else:
            raise ValueError(f"task pod env {item.name}: unsupported source {item.value_from}")
    return env


class PodTemplateExecutor(BaseExecutor):
    """Runs each task as the rendered template's pod would, one local process per pod."""

    supports_ad_hoc_ti_run = True

    def start(self) -> None:
        self.kube_config = KubeConfig()
        with open(os.environ["BOOT_POD_SECRETS"]) as handle:
            self.secrets: dict[str, dict[str, str]] = json.load(handle)
        self.extra_env: dict[str, str] = json.loads(os.environ.get("BOOT_POD_EXTRA_ENV", "{}"))
        self.log_dir = os.environ["BOOT_POD_LOG_DIR"]
        self.pods: dict[Any, subprocess.Popen[bytes]] = {}

    def _process_workloads(self, items: list[workloads.All]) -> None:
        for workload in items:
            if not isinstance(workload, workloads.ExecuteTask):
                raise ValueError(f"PodTemplateExecutor does not know how to handle {type(workload)}")
            key = workload.ti.key
            del self.queued_tasks[key]
            self.running.add(key)
            pod = self.build_pod(workload)
            container = pod.spec.containers[0]
            pod_env = container_env(container, self.secrets)
            env = {**pod_env, **self.extra_env}
            argv = [*(container.command or []), *(container.args or [])]
            path = os.path.join(self.log_dir, f"{pod.metadata.name}.log")
            with open(path, "ab") as out:
                out.write(
                    (
                        json.dumps(
                            {"pod": pod.metadata.name, "pod_env": sorted(pod_env), "standins": sorted(self.extra_env)}
                        )
                        + "\n"
                    ).encode()
                )
                out.flush()
                self.pods[key] = subprocess.Popen(
                    argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd="/opt/airflow"
                )

    def build_pod(self, workload: workloads.ExecuteTask) -> Any:
        """What `KubernetesJobWatcher`'s `run_next` builds for this workload."""
        dag_id, task_id, run_id, try_number, map_index = workload.ti.key
        return PodGenerator.construct_pod(
            namespace=self.kube_config.kube_namespace,
            scheduler_job_id=str(self.job_id),
            pod_id=create_unique_id(dag_id, task_id),
            dag_id=dag_id,
            task_id=task_id,
            kube_image=self.kube_config.kube_image,
            try_number=try_number,
            map_index=map_index,
            date=None,
            run_id=run_id,
            args=workload_to_command_args(workload),
            pod_override_object=None,
            base_worker_pod=get_base_pod_from_template(None, self.kube_config),
            with_mutation_hook=True,
        )

    def sync(self) -> None:
        for key, process in list(self.pods.items()):
            code = process.poll()
            if code is None:
                continue
            del self.pods[key]
            self.change_state(key, TaskInstanceState.SUCCESS if code == 0 else TaskInstanceState.FAILED)

    def end(self) -> None:
        for process in self.pods.values():
            process.wait(timeout=120)
        self.sync()

    def terminate(self) -> None:
        for process in self.pods.values():
            process.terminate()
