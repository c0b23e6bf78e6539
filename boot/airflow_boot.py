"""Boot one stack's Airflow as its rendered pods run, inside a private network namespace (boot/__main__.py, local.py).

Names the stack deploys (its Services, the RDS endpoint) resolve to 127.0.0.1 through the namespace's own
/etc/hosts; /opt is a private tmpfs, so the rendered mounts (/opt/airflow/airflow.cfg, the pod template,
webserver_config.py) sit at their rendered paths. Deviations from the cluster, each forced by running
without one: AWS credentials and endpoint are moto's (IRSA's stand-in); the scheduler's executor is
`boot.pod_executor.PodTemplateExecutor`, which builds KubernetesExecutor's pod and runs its container here;
PgBouncer's and PostgreSQL's TLS pairs are generated (the offline run has no key material).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from boot.idp import certificate_authority
from boot.install import Toolchain
from boot.processes import Processes, Started, wait_for
from boot.servers import PgBouncer, Postgres, moto, psql
from boot.servers import listening as _listening
from boot.stack import COMPONENTS, StackPods

OPT = Path("/opt")
MOTO_PORT = 5000
API_PORT = 8080
REPO = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = REPO / "dags"
PROBE_CONNECTION = "boot_probe_warehouse"
AWS_STANDIN = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_ENDPOINT_URL": f"http://127.0.0.1:{MOTO_PORT}",
}


@dataclass
class Boot:
    pods: StackPods
    tools: Toolchain
    work: Path
    processes: Processes = field(init=False)
    components: dict[str, Started] = field(default_factory=dict)
    idp_ca: Path | None = None

    def __post_init__(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        (self.work / "logs").mkdir(exist_ok=True)
        self.processes = Processes(self.work / "logs")

    # -- names, files ---------------------------------------------------------------------------
    def hostnames(self) -> list[str]:
        """Every name a pod of this stack can resolve: the chart's Services (all DNS forms) and the DB endpoint."""
        names = {self.pods.bootstrap_env()["PGHOST"]}
        if self.oidc_metadata_url():
            names.add(urlsplit(self.oidc_metadata_url()).hostname)  # the stand-in IdP (boot/idp.py)
        for service in self.pods.chart.of_kind("Service"):
            name, ns = service["metadata"]["name"], self.pods.namespace
            names.update({name, f"{name}.{ns}", f"{name}.{ns}.svc", f"{name}.{ns}.svc.cluster.local"})
        return sorted(names)

    def write_hosts(self) -> None:
        hosts = Path("/etc/hosts")
        if os.environ.get("BOOT_PRIVATE_NETNS") != "1":
            raise RuntimeError("the boot runs only inside its private network namespace: python -m boot")
        hosts.write_text("127.0.0.1 localhost\n" + "".join(f"127.0.0.1 {n}\n" for n in self.hostnames()))

    def materialize_mounts(self) -> None:
        """Write every ConfigMap/Secret file the components and the task pod mount, at its rendered path."""
        airflow_home = OPT / "airflow"
        if airflow_home.exists():
            shutil.rmtree(airflow_home)
        containers = [self.pods.container(c) for c in COMPONENTS] + [self.pods.task_container()]
        specs = [self.pods.deployment(c)["spec"]["template"]["spec"] for c in COMPONENTS]  # type: ignore[index]
        specs.append(self.pods.chart.pod_template()["spec"])  # type: ignore[index]
        for spec, container in zip(specs, containers, strict=True):
            volumes = {v["name"]: v for v in spec.get("volumes", [])}
            for mount in container.get("volumeMounts", []):
                self._materialize(volumes[mount["name"]], mount)
        (airflow_home / "dags").mkdir(parents=True, exist_ok=True)
        (airflow_home / "logs").mkdir(parents=True, exist_ok=True)

    def run_job(self, job: str) -> subprocess.CompletedProcess[str]:
        """One of the chart's Jobs: its mounts written, its command run with its env."""
        spec = self.pods.chart.get("Job", f"{self.pods.release}-{job}")["spec"]["template"]["spec"]
        container = spec["containers"][0]
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for mount in container.get("volumeMounts", []):
            self._materialize(volumes[mount["name"]], mount)
        env = {**self.pods.env(container), **self.base_env()}
        return self.run([*container.get("command", []), *container.get("args", [])], env, timeout=300)

    def _materialize(self, volume: dict, mount: dict) -> None:  # type: ignore[type-arg]
        target = Path(mount["mountPath"])
        if "configMap" in volume:
            data = self.pods.config_maps[volume["configMap"]["name"]]
        elif "secret" in volume:
            data = self.pods.secrets[volume["secret"]["secretName"]]
        else:
            target.mkdir(parents=True, exist_ok=True)
            return
        if "subPath" in mount:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(data[mount["subPath"]])
            return
        source = volume.get("configMap") or volume["secret"]
        items = source.get("items") or [{"key": key, "path": key} for key in data]
        for item in items:
            (target / item["path"]).parent.mkdir(parents=True, exist_ok=True)
            (target / item["path"]).write_text(data[item["key"]])

    def install_dags(self, source: Path = EXAMPLE_DAGS) -> None:
        dags = Path(self.pods.cfg()["core"]["dags_folder"])
        dags.mkdir(parents=True, exist_ok=True)
        for path in source.glob("*.py"):
            shutil.copy(path, dags / path.name)

    # -- env ------------------------------------------------------------------------------------
    def base_env(self) -> dict[str, str]:
        """What the image and IRSA add to every container: PATH to Airflow, moto's credentials and endpoint."""
        home = self.work / "home"
        home.mkdir(exist_ok=True)
        region = self.backend_kwargs()["region_name"]
        return {
            "PATH": f"{self.tools.airflow_venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(home),
            "LANG": "C.UTF-8",
            # With IRSA, EKS's pod identity webhook injects the region beside the web-identity token.
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            **AWS_STANDIN,
        }

    def component_env(self, component: str) -> dict[str, str]:
        env = {**self.pods.env(self.pods.container(component)), **self.base_env()}
        if component == "scheduler":
            env.update(self.scheduler_standins())
        if component == "api-server" and self.idp_ca is not None:
            # The IdP's certificate is signed by the throwaway CA: trusted as a public CA would be.
            env.update({"REQUESTS_CA_BUNDLE": str(self.idp_ca), "SSL_CERT_FILE": str(self.idp_ca)})
        return env

    # -- SSO -------------------------------------------------------------------------------------
    def oidc_metadata_url(self) -> str | None:
        config_map = self.pods.config_maps.get(f"{self.pods.release}-api-server-config", {})
        found = re.search(r'"server_metadata_url": "([^"]+)"', config_map.get("webserver_config.py", ""))
        return found.group(1) if found else None

    def oidc_provider(self) -> str:
        config_map = self.pods.config_maps[f"{self.pods.release}-api-server-config"]
        return re.search(r'^PROVIDER = "([^"]+)"', config_map["webserver_config.py"], re.M).group(1)  # type: ignore[union-attr]

    def start_idp(self) -> None:
        """Serve the IdP's discovery document on 127.0.0.1:443 (SSO stacks only)."""
        url = self.oidc_metadata_url()
        if url is None:
            return
        ca, cert, key = certificate_authority(self.work / "idp", urlsplit(url).hostname or "")
        self.idp_ca = ca
        python = os.environ.get("BOOT_PROJECT_PYTHON", "python3")
        idp = self.processes.start(
            "idp", [python, "-m", "boot.idp", url, str(cert), str(key)], {"PATH": os.environ["PATH"]}, REPO
        )
        wait_for(lambda: _listening(443), 30, "the stand-in IdP on 127.0.0.1:443", died=idp)

    def scheduler_standins(self) -> dict[str, str]:
        """The scheduler runs KubernetesExecutor's pods through PodTemplateExecutor (no cluster here)."""
        secrets = self.work / "pod-secrets.json"
        secrets.write_text(json.dumps(self.pods.secrets))
        secrets.chmod(0o600)
        pod_logs = self.work / "pods"
        pod_logs.mkdir(exist_ok=True)
        task_extra = {**self.base_env(), "PYTHONPATH": ""}
        task_extra.pop("HOME")
        return {
            "AIRFLOW__CORE__EXECUTOR": "boot.pod_executor.PodTemplateExecutor",
            "PYTHONPATH": str(REPO),
            "BOOT_POD_SECRETS": str(secrets),
            "BOOT_POD_EXTRA_ENV": json.dumps(task_extra),
            "BOOT_POD_LOG_DIR": str(pod_logs),
        }

    def run(self, argv: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, cwd=OPT / "airflow")

    def airflow(self, component: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return self.run([str(self.tools.airflow), *args], self.component_env(component), timeout)

    # -- the stages -----------------------------------------------------------------------------
    def start_database(self) -> None:
        job = self.pods.bootstrap_env()
        self.postgres = Postgres(self.tools, self.work / "postgres", int(job["PGPORT"]), self.processes)
        self.postgres.start(self.hostnames())
        self.postgres.create_master(job["PGUSER"], job["PGPASSWORD"], job["PGDATABASE"])

    def run_bootstrap(self, sql: str | None = None) -> subprocess.CompletedProcess[str]:
        """The Job's psql command with the Job's env and its mounted SQL file (as the master user)."""
        script = self.work / "bootstrap" / "bootstrap.sql"
        script.parent.mkdir(exist_ok=True)
        script.write_text(sql if sql is not None else self.pods.bootstrap_sql())
        command = self.pods.bootstrap_command()
        argv = [psql(), *[str(script) if a.endswith(".sql") else a for a in command[1:]]]
        env = {**self.pods.bootstrap_env(), "PATH": os.environ["PATH"], "HOME": str(self.work)}
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)

    def start_pgbouncer(self, files: dict[str, str] | None = None) -> PgBouncer | None:
        if not self.pods.has_pgbouncer():
            return None
        bouncer = PgBouncer(self.tools, self.work / "pgbouncer", self.processes)
        bouncer.start(files or self.pods.pgbouncer_files(), self.pods.pgbouncer_command(), self.hostnames())
        self.pgbouncer = bouncer
        return bouncer

    def start_moto(self) -> None:
        moto(self.processes, Path(os.environ.get("BOOT_PROJECT_PYTHON", "python3")), MOTO_PORT)
        import boto3

        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
        region = self.base_env()["AWS_DEFAULT_REGION"]
        endpoint = AWS_STANDIN["AWS_ENDPOINT_URL"]
        s3 = session.client("s3", region_name=region, endpoint_url=endpoint)
        bucket = urlsplit(self.pods.cfg()["logging"]["remote_base_log_folder"]).netloc
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        self.s3, self.log_bucket = s3, bucket
        self.secretsmanager = session.client("secretsmanager", region_name=region, endpoint_url=endpoint)

    def backend_kwargs(self) -> dict:  # type: ignore[type-arg]
        return json.loads(self.pods.cfg()["secrets"]["backend_kwargs"])

    def seed_secrets(self) -> None:
        """A connection only Secrets Manager holds, and a decoy under the log connection's id."""
        prefix = self.backend_kwargs()["connections_prefix"]
        probe = {"conn_type": "postgres", "host": "warehouse.example", "login": "reader"}
        self.secretsmanager.create_secret(Name=f"{prefix}/{PROBE_CONNECTION}", SecretString=json.dumps(probe))
        decoy = {"conn_type": "aws", "extra": {"region_name": "us-east-1", "role_arn": "arn:aws:iam::1:role/decoy"}}
        self.secretsmanager.create_secret(Name=f"{prefix}/{self.log_connection_id()}", SecretString=json.dumps(decoy))

    def log_connection_id(self) -> str:
        return self.pods.cfg()["logging"]["remote_log_conn_id"]

    def migrate(self) -> subprocess.CompletedProcess[str]:
        """The migration Job's container: its command, its env (through PgBouncer when the stack runs one)."""
        container = self.pods.job_container("run-airflow-migrations")
        env = {**self.pods.env(container), **self.base_env()}
        return self.run([*container.get("command", []), *container.get("args", [])], env, timeout=600)

    def start_components(self, overrides: dict[str, str] | None = None) -> None:
        """The four components with their rendered commands and env (plus `overrides`, for local.py)."""
        for component in COMPONENTS:
            container = self.pods.container(component)
            argv = [*container.get("command", []), *container.get("args", [])]
            env = {**self.component_env(component), **(overrides or {})}
            self.components[component] = self.processes.start(component, argv, env, OPT / "airflow")

    def health(self) -> dict:  # type: ignore[type-arg]
        with urllib.request.urlopen(f"http://127.0.0.1:{API_PORT}/api/v2/monitor/health", timeout=5) as response:
            assert response.status == 200
            return json.load(response)

    def wait_healthy(self, timeout: float = 240) -> dict:  # type: ignore[type-arg]
        def all_healthy() -> dict | None:  # type: ignore[type-arg]
            for started in self.components.values():
                if not started.alive():
                    raise AssertionError(f"{started.name} exited:\n" + "\n".join(started.output().splitlines()[-30:]))
            body = self.health()
            statuses = [v.get("status") for v in body.values() if isinstance(v, dict)]
            return body if statuses and all(s == "healthy" for s in statuses) else None

        return wait_for(all_healthy, timeout, "every component healthy at /api/v2/monitor/health", interval=2)

    def stop(self) -> None:
        self.processes.stop_all()


CHECKS = Path(__file__).resolve().parent / "checks.py"


def check(boot: Boot, component: str, name: str, *args: str, env: dict[str, str] | None = None) -> dict:  # type: ignore[type-arg]
    """Run one of boot/checks.py in a component's env; the JSON it prints, or an AssertionError with its output."""
    result = boot.run([str(boot.tools.python), str(CHECKS), name, *args], env or boot.component_env(component))
    for line in result.stdout.splitlines():
        if line.startswith("BOOT-CHECK "):
            return json.loads(line[len("BOOT-CHECK ") :])
    tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
    raise AssertionError(f"check {name} failed in the {component} env (exit {result.returncode}):\n{tail}")
