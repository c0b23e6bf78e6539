"""Cross-field and per-environment rules that a single field cannot express.

Each rule returns Problems; `check_rules` runs them all so one run reports every problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from airflow_chart.shape import BOOTSTRAP_SUFFIX, NAMESPACE_MAX, TASKS_SUFFIX, Workload
from capacity.connections import (
    POOL_PER_AIRFLOW_POD,
    SERVER_CONNECTIONS_PER_AIRFLOW_POD,
    TASKS_PER_SERVER_CONNECTION,
    connection_budget,
    effective_max_connections,
)
from config import identity_rules
from config.errors import Problem
from config.front_door_rules import API_TERMINATION_GRACE_SECONDS, front_door_problems
from config.naming import (
    ACCOUNT_ID_STAND_IN,
    AwsNames,
    aws_names,
    bucket_name,
    dr_bucket_name,
    lb_log_bucket_name,
    stack_prefix,
)
from config.operations_rules import dr_problems
from config.settings import GIT_HTTPS_TOKEN, GIT_SSH_PRIVATE_KEY, Settings
from config.types import bucket_name_problem


def _prod_invariants(s: Settings) -> list[Problem]:
    if s.environment != "prod":
        return []
    db = s.database
    problems = []
    if not db.multi_az:
        problems.append(Problem("database.multiAz", "prod requires true (standby in a second AZ)", False))
    if not db.deletion_protection:
        problems.append(Problem("database.deletionProtection", "prod requires true", False))
    if db.skip_final_snapshot:
        problems.append(Problem("database.skipFinalSnapshot", "prod requires false (a final snapshot)", True))
    if db.backup_retention_days < 7:
        problems.append(
            Problem("database.backupRetentionDays", "prod requires at least 7 days", db.backup_retention_days)
        )
    if db.alarms.sns_topic_arn is None:
        problems.append(Problem("database.alarms.snsTopicArn", "prod requires an SNS topic for DB alarms"))
    if s.protection.mode == "none":
        problems.append(Problem("protection.mode", "prod requires protect or retainOnDelete", "none"))
    if s.buckets.force_destroy:
        problems.append(Problem("buckets.forceDestroy", "prod requires false", True))
    return problems


def _shapes(s: Settings) -> list[Problem]:
    """Orderings and blocks that only make sense together."""
    problems = []
    hpa = s.airflow.api_server.hpa
    if hpa.min_replicas > hpa.max_replicas:
        problems.append(
            Problem(
                "airflow.apiServer.hpa.minReplicas",
                f"must not exceed maxReplicas ({hpa.max_replicas})",
                hpa.min_replicas,
            )
        )
    if s.cluster.mode == "existing" and s.cluster.create is not None:
        problems.append(Problem("cluster.create", "only allowed with cluster.mode create", "(set)"))
    nodes = s.cluster.create_settings.node_group
    if not nodes.min_size <= nodes.desired_size <= nodes.max_size:
        problems.append(
            Problem(
                "cluster.create.nodeGroup.desiredSize",
                f"must lie within minSize..maxSize ({nodes.min_size}..{nodes.max_size})",
                nodes.desired_size,
            )
        )
    return problems


def _storage(s: Settings) -> list[Problem]:
    db = s.database
    if db.max_allocated_storage_gib <= db.allocated_storage_gib:
        return [
            Problem(
                "database.maxAllocatedStorageGib",
                f"must be greater than database.allocatedStorageGib ({db.allocated_storage_gib}) "
                "so storage autoscaling can grow",
                db.max_allocated_storage_gib,
            )
        ]
    return []


def _rds_identifier_problem(name: str, limit: int) -> str | None:
    if len(name) > limit:
        return f"RDS allows {limit} characters"
    if "--" in name or name.endswith("-") or not name[:1].isalpha():
        return "RDS refuses consecutive hyphens, a trailing hyphen or a leading non-letter"
    return None


def _iam_name_problem(name: str) -> str | None:
    return "IAM allows 64 characters" if len(name) > 64 else None


def _derived(key: str, given: str, what: str, name: str, problem: str | None) -> list[Problem]:
    if problem is None:
        return []
    return [Problem(key, f"gives {what} {name!r} ({len(name)} characters), which {problem}", given)]


def _owner(s: Settings, name: str, problem_of: Callable[[str], str | None]) -> tuple[str, str]:
    """The key a derived name's problem is reported under: instanceName when the profile's name would fit."""
    if s.instance_name != s.environment:
        as_profile = name.replace(f"-{s.instance_name}", f"-{s.environment}", 1)
        if problem_of(as_profile) is None:
            return "instanceName", s.instance_name
    return "namePrefix", s.name_prefix


def _prefixed(s: Settings, what: str, name: str, problem_of: Callable[[str], str | None]) -> list[Problem]:
    """A name that starts `<namePrefix>-<instanceName>`, checked."""
    return _derived(*_owner(s, name, problem_of), what, name, problem_of(name))


def _default_bucket(s: Settings, name: str, configured: str | None, key: str) -> list[Problem]:
    """A bucket name: the default one reported under the key that makes it too long, a configured one as given."""
    problem = bucket_name_problem(name)
    if problem and configured is None:
        owner, given = _owner(s, name, bucket_name_problem)
        return [
            Problem(
                owner,
                f"gives default bucket name {name!r} ({len(name)} characters with the 12-digit account id): "
                f"{problem}; shorten {owner} or set {key}",
                given,
            )
        ]
    return [Problem(key, problem, name)] if problem else []


def _aws_names(s: Settings) -> list[Problem]:
    """Every AWS name the program derives, checked against its service's rules."""
    names = aws_names(s)
    problems = _prefixed(s, "RDS identifier", names.db_identifier, lambda n: _rds_identifier_problem(n, 63))
    if not problems:  # the final snapshot shares the identifier's characters
        snapshot = names.db_final_snapshot
        problems += _prefixed(s, "final snapshot", snapshot, lambda n: _rds_identifier_problem(n, 255))
    for role in (names.db_monitoring_role, *names.irsa_roles.values()):
        problems += _prefixed(s, "IAM role name", role, _iam_name_problem)
    if names.node_role:
        problems += _derived(
            "cluster.name", s.cluster.name, "node IAM role", names.node_role, _iam_name_problem(names.node_role)
        )
    for kind, field in (("dags", "dagBucketName"), ("logs", "logBucketName")):
        configured = s.buckets.dag_bucket_name if kind == "dags" else s.buckets.log_bucket_name
        problems += _default_bucket(s, bucket_name(s, kind, ACCOUNT_ID_STAND_IN), configured, f"buckets.{field}")
    if bucket_name(s, "dags", ACCOUNT_ID_STAND_IN) == bucket_name(s, "logs", ACCOUNT_ID_STAND_IN):
        problems.append(
            Problem("buckets.logBucketName", "must differ from the DAG bucket name", s.buckets.log_bucket_name)
        )
    problems += _front_door_names(s, names)
    problems += _operations_names(s, names)
    service = s.shape.object_name("api-server")
    if len(service) > 63:
        problems.append(
            Problem(
                "airflow.releaseName",
                f"gives the Service {service!r} ({len(service)} characters); Kubernetes Service names allow 63",
                s.airflow.release_name,
            )
        )
    return problems


def _elb_name_problem(name: str) -> str | None:
    if len(name) > 32:
        return "Elastic Load Balancing allows 32 characters"
    if name.startswith("internal-"):
        return "Elastic Load Balancing refuses names starting with internal-"
    return None


def _front_door_names(s: Settings, names: AwsNames) -> list[Problem]:
    """The load balancer, its access-log bucket and the controller's role."""
    problems = _prefixed(s, "load balancer name", names.load_balancer, _elb_name_problem)
    if names.lb_controller_role:
        role = names.lb_controller_role
        problems += _derived("cluster.name", s.cluster.name, "controller IAM role", role, _iam_name_problem(role))
    logs = s.front_door.access_logs
    if logs.enabled:
        name = lb_log_bucket_name(s, ACCOUNT_ID_STAND_IN)
        problems += _default_bucket(s, name, logs.bucket_name, "frontDoor.accessLogs.bucketName")
    return problems


def _operations_names(s: Settings, names: AwsNames) -> list[Problem]:
    """The log shipper's and the replication role's names, and the replica buckets' (they carry dr.region)."""
    problems = []
    for role in (names.log_shipper_role, names.replication_role):
        if role:
            problems += _derived("namePrefix", s.name_prefix, "IAM role name", role, _iam_name_problem(role))
    if s.dr.enabled and s.dr.region:
        kinds = ("dags", "logs") if s.dr.replicate_log_bucket else ("dags",)
        for kind in kinds:
            name = dr_bucket_name(s, kind, ACCOUNT_ID_STAND_IN)
            problem = bucket_name_problem(name)
            if problem:
                problems.append(
                    Problem(
                        "namePrefix",
                        f"gives the DR replica bucket name {name!r} ({len(name)} characters with the 12-digit "
                        f"account id): {problem}; shorten namePrefix",
                        s.name_prefix,
                    )
                )
    return problems


def _disaster_recovery(s: Settings) -> list[Problem]:
    """dr.region and dr.kmsKeyArn (config/operations_rules.py)."""
    return dr_problems(s.dr, s.environment, s.aws_region, s.database.backup_retention_days, s.encryption.kms_key_arn)


def _regions(s: Settings) -> list[Problem]:
    problems = []
    arns = (
        ("encryption.kmsKeyArn", s.encryption.kms_key_arn),
        ("database.alarms.snsTopicArn", s.database.alarms.sns_topic_arn),
    )
    for key, arn in arns:
        if arn and arn.split(":")[3] != s.aws_region:
            problems.append(Problem(key, f"must be in the stack's region {s.aws_region} (aws:region)", arn))
    return problems


def _cluster(s: Settings) -> list[Problem]:
    if s.cluster.mode != "create":
        return []
    create = s.cluster.create_settings
    problems = []
    if not create.admin_role_arns:
        problems.append(
            Problem(
                "cluster.create.adminRoleArns",
                "required with cluster.mode create: EKS makes only the principal that creates the cluster an admin, "
                "so a later pulumi up by another one (CI's deploy role after a laptop) gets Unauthorized; list the "
                "deploy role of CI and the roles people deploy with, except the one creating the cluster (EKS "
                "refuses a second entry for it)",
                [],
            )
        )
    if create.endpoint_public_access and not create.public_access_cidrs:
        problems.append(Problem("cluster.create.publicAccessCidrs", "required when endpointPublicAccess is true", []))
    if create.endpoint_public_access and "0.0.0.0/0" in create.public_access_cidrs:
        problems.append(
            Problem(
                "cluster.create.publicAccessCidrs",
                "must not contain 0.0.0.0/0; list the corporate CIDRs",
                create.public_access_cidrs,
            )
        )
    return problems


def _unscoped(resource: str) -> bool:
    """True for an ARN that names every bucket, object or secret rather than a scoped set."""
    parts = resource.split(":", 6)
    if len(parts) < 6 or any("*" in part for part in parts[1:5]):
        return True
    if parts[2] == "s3":
        bucket = parts[5].split("/", 1)[0]
        return "*" in bucket
    if parts[2] == "secretsmanager":
        name = parts[6] if len(parts) > 6 else ""
        return parts[5] != "secret" or name.startswith("*") or name == ""
    return False


def _irsa(s: Settings) -> list[Problem]:
    problems = []
    deployed = {workload.config_key for workload in s.shape.workloads}
    for role, statements in s.irsa.extra_statements.items():
        if role not in deployed:
            problems.append(
                Problem(
                    f"irsa.extraStatements.{role}",
                    f"Airflow {s.airflow.version} runs no {role}; roles here: " + ", ".join(sorted(deployed)),
                    "(statements)",
                )
            )
            continue
        for index, statement in enumerate(statements):
            scoped = [a for a in statement.actions if a.split(":")[0] in {"s3", "secretsmanager"}]
            wildcard = [r for r in statement.resources if _unscoped(r)]
            if scoped and wildcard:
                problems.append(
                    Problem(
                        f"irsa.extraStatements.{role}[{index}].resources",
                        "S3 and Secrets Manager actions need exact ARNs or a path prefix, not a wildcard bucket, "
                        "secret, region or account",
                        wildcard,
                    )
                )
    return problems


def _airflow_prod(s: Settings) -> list[Problem]:
    if s.environment != "prod":
        return []
    airflow = s.airflow
    problems = []
    if airflow.scheduler.replicas < 2:
        problems.append(
            Problem("airflow.scheduler.replicas", "prod requires at least 2 (HA)", airflow.scheduler.replicas)
        )
    if airflow.api_server.replicas < 2:
        problems.append(
            Problem("airflow.apiServer.replicas", "prod requires at least 2 (HA)", airflow.api_server.replicas)
        )
    hpa = airflow.api_server.hpa
    if hpa.enabled and hpa.min_replicas < 2:
        problems.append(Problem("airflow.apiServer.hpa.minReplicas", "prod requires at least 2 (HA)", hpa.min_replicas))
    if not airflow.pod_disruption_budgets:
        problems.append(Problem("airflow.podDisruptionBudgets", "prod requires true", False))
    if airflow.admin_user.create:
        problems.append(Problem("airflow.adminUser.create", "prod requires false: no create-user job in prod", True))
    if airflow.expose_config != "False":
        problems.append(Problem("airflow.exposeConfig", "prod requires False", airflow.expose_config))
    if not airflow.network_policies:
        problems.append(Problem("airflow.networkPolicies", "prod requires true", False))
    return problems


def _airflow_access(s: Settings) -> list[Problem]:
    airflow = s.airflow
    problems = []
    metrics = airflow.metrics
    if airflow.network_policies and metrics.service_monitor and not metrics.prometheus_namespace:
        problems.append(
            Problem(
                "airflow.metrics.prometheusNamespace",
                "required with metrics.serviceMonitor true while networkPolicies is true, or the network policies "
                "keep Prometheus from scraping statsd and PgBouncer",
            )
        )
    hpa = airflow.api_server.hpa
    if hpa.enabled and not hpa.min_replicas <= airflow.api_server.replicas <= hpa.max_replicas:
        problems.append(
            Problem(
                "airflow.apiServer.replicas",
                f"must lie within apiServer.hpa minReplicas..maxReplicas ({hpa.min_replicas}..{hpa.max_replicas})",
                airflow.api_server.replicas,
            )
        )
    return problems


def _namespaces(s: Settings) -> list[Problem]:
    """The namespaces made next to Airflow's (task pods, DB bootstrap) must stay valid DNS labels."""
    namespace = s.airflow.namespace
    if namespace is None or len(namespace) <= NAMESPACE_MAX:
        return []
    return [
        Problem(
            "airflow.namespace",
            f"at most {NAMESPACE_MAX} characters: the task namespace <namespace>{TASKS_SUFFIX} and the DB "
            f"bootstrap namespace <namespace>{BOOTSTRAP_SUFFIX} must fit Kubernetes' 63",
            namespace,
        )
    ]


def _without_credentials(url: str) -> str | None:
    """``url`` with the credentials of its authority masked, or None when it carries none.

    `git@host:org/repo` (scp form) and `ssh://git@host/...` name only the SSH user; any other
    user (`https://x-access-token:<token>@host/...`, or a bare token as the user) is a credential.
    """
    match = re.fullmatch(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@]*)@(?P<rest>.*)", url)
    if match is None:
        return None
    if match["scheme"].lower() == "ssh://" and ":" not in match["userinfo"]:
        return None
    return f"{match['scheme']}***@{match['rest']}"


def _dag_source(s: Settings) -> list[Problem]:
    dags = s.dags
    if dags.source != "gitSync":
        if dags.git_sync is not None:
            return [Problem("dags.gitSync", "only allowed with dags.source gitSync", "(set)")]
        return []
    git = dags.git_sync
    if git is None:
        return [Problem("dags.gitSync", "required when dags.source is gitSync (repo, auth, ...)")]
    problems = []
    masked = _without_credentials(git.repo)
    if masked is not None:
        return [
            Problem(
                "dags.gitSync.repo",
                "must not carry credentials: the URL would sit in plain text in the Helm values, the plan and the "
                "pods' environment; set the user as dags.gitSync.username and the token with "
                f"pulumi config set --secret {GIT_HTTPS_TOKEN}",
                masked,
            )
        ]
    if git.auth == "ssh":
        if not re.fullmatch(r"(ssh://[^\s]+|[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+:[^\s]+)", git.repo):
            problems.append(Problem("dags.gitSync.repo", "auth ssh needs git@host:org/repo.git or ssh://...", git.repo))
        if not git.known_hosts:
            problems.append(
                Problem("dags.gitSync.knownHosts", "required with auth ssh: host-key checking stays on (ssh-keyscan)")
            )
    else:
        if not git.repo.startswith("https://"):
            problems.append(Problem("dags.gitSync.repo", "auth https needs an https:// URL", git.repo))
        if not git.username:
            problems.append(Problem("dags.gitSync.username", "required with auth https"))
    return problems


def airflow_pods(s: Settings) -> int:
    """Long-running Airflow pods at peak (the API server at its HPA maximum), each with a DB pool."""
    airflow = s.airflow
    api = airflow.api_server.hpa.max_replicas if airflow.api_server.hpa.enabled else airflow.api_server.replicas
    pods = airflow.scheduler.replicas + api + airflow.triggerer.replicas
    if Workload.DAG_PROCESSOR in s.shape.workloads:
        pods += airflow.dag_processor.replicas
    return pods


def _connections(s: Settings) -> list[Problem]:
    budget = connection_budget(
        s.airflow.max_running_tasks,
        airflow_pods(s),
        effective_max_connections(s.database.instance_class, s.database.max_connections),
    )
    tasks = f"{budget.running_tasks} running tasks (parallelism {s.airflow.parallelism} x {s.airflow.scheduler.replicas} scheduler(s))"
    demand = (
        f"{tasks} + {budget.airflow_pods} Airflow pods x {POOL_PER_AIRFLOW_POD} "
        f"= {budget.client_connections} connections"
    )
    capacity = (
        f"{s.database.instance_class} allows {budget.usable_connections} "
        f"(90% of max_connections {budget.max_connections})"
    )
    pgbouncer = s.airflow.pgbouncer
    if not pgbouncer.enabled:
        if budget.client_connections > budget.usable_connections:
            return [
                Problem(
                    "airflow.parallelism",
                    f"needs {demand} but {capacity}; enable airflow.pgbouncer, pick a larger "
                    "database.instanceClass or lower the parallelism",
                    s.airflow.parallelism,
                )
            ]
        return []
    problems = []
    if pgbouncer.max_client_conn * pgbouncer.replicas < budget.client_connections:
        problems.append(
            Problem(
                "airflow.pgbouncer.maxClientConn",
                f"{pgbouncer.replicas} PgBouncer pod(s) x {pgbouncer.max_client_conn} cannot accept {demand}",
                pgbouncer.max_client_conn,
            )
        )
    server_side = pgbouncer.metadata_pool_size * pgbouncer.replicas
    if server_side < budget.server_connections_needed:
        problems.append(
            Problem(
                "airflow.pgbouncer.metadataPoolSize",
                f"{pgbouncer.replicas} PgBouncer pod(s) x {pgbouncer.metadata_pool_size} = {server_side} server "
                f"connections cannot serve {budget.airflow_pods} Airflow pods x {SERVER_CONNECTIONS_PER_AIRFLOW_POD} "
                f"+ {budget.running_tasks} running tasks / {TASKS_PER_SERVER_CONNECTION} "
                f"= {budget.server_connections_needed}",
                pgbouncer.metadata_pool_size,
            )
        )
    elif server_side > budget.usable_connections:
        problems.append(
            Problem(
                "airflow.pgbouncer.metadataPoolSize",
                f"{pgbouncer.replicas} PgBouncer pod(s) x {pgbouncer.metadata_pool_size} = {server_side} "
                f"server connections but {capacity}",
                pgbouncer.metadata_pool_size,
            )
        )
    return problems


def _database_roles(s: Settings) -> list[Problem]:
    db = s.database
    if db.app_username == db.master_username:
        return [
            Problem(
                "database.appUsername",
                f"must differ from database.masterUsername ({db.master_username}): Airflow never logs in as the master",
                db.app_username,
            )
        ]
    return []


def _async_metadata_url(s: Settings) -> list[Problem]:
    """Airflow 3.0 builds its asyncpg URL from sql_alchemy_conn, `?sslmode=require` included."""
    major, minor, _ = (int(p) for p in s.airflow.version.split("."))
    if (major, minor) == (3, 0):
        return [
            Problem(
                "airflow.version",
                "Airflow 3.0 derives its async (asyncpg) DB URL from sql_alchemy_conn and passes sslmode, which "
                "asyncpg refuses, and has no sql_alchemy_conn_async to set it; use 3.1 or later (e.g. 3.1.7)",
                s.airflow.version,
            )
        ]
    return []


def check_secrets(settings: Settings, present: frozenset[str]) -> list[Problem]:
    """Secrets the chosen features need must be set (with --secret)."""
    git = settings.dags.git_sync
    if settings.dags.source != "gitSync" or git is None:
        return []
    needed = GIT_SSH_PRIVATE_KEY if git.auth == "ssh" else GIT_HTTPS_TOKEN
    if needed not in present:
        return [Problem(needed, f"required for dags.gitSync auth {git.auth}: pulumi config set --secret {needed}")]
    return []


def _prod_world_open_cidrs(s: Settings) -> list[Problem]:
    """In prod no CIDR list may admit the whole internet, alone (0.0.0.0/0, ::/0) or together."""
    from config.types import world_open  # local: keeps this appended rule a self-contained merge

    if s.environment != "prod":
        return []
    lists: list[tuple[str, list[str]]] = []  # frontDoor.clientCidrs: config/front_door_rules.py
    create = s.cluster.create_settings
    if s.cluster.mode == "create" and create.endpoint_public_access and "0.0.0.0/0" not in create.public_access_cidrs:
        lists.append(("cluster.create.publicAccessCidrs", create.public_access_cidrs))  # else _cluster reports it
    problems = []
    for key, cidrs in lists:
        everything = world_open(cidrs)
        if everything:
            problems.append(
                Problem(
                    key,
                    f"prod must not admit the whole internet ({everything}, alone or together); "
                    "list the corporate ranges, such as 10.60.0.0/22",
                    list(cidrs),
                )
            )
    return problems


def _identity(s: Settings) -> list[Problem]:
    """UI login, the Secrets Manager backend and the DAG publishers (config/identity_rules.py)."""
    airflow = s.airflow
    return [
        *identity_rules.auth_problems(s.environment, airflow.auth, airflow.admin_user.create),
        *identity_rules.sso_transport_problems(
            airflow.auth, front_door_tls=s.front_door.tls, front_door_type=s.front_door.type
        ),
        *identity_rules.image_problems(airflow.image.tag_suffix),
        *identity_rules.secrets_backend_problems(s.instance_name, s.aws_region, airflow.secrets_backend),
        *identity_rules.publisher_problems(s.dags.source, s.dags.publishers, stack_prefix(s)),
    ]


def check_identity_secrets(settings: Settings, present: frozenset[str]) -> list[Problem]:
    """The OIDC client secret is set exactly when the login needs it."""
    return identity_rules.auth_secret_problems(settings.airflow.auth, present)


def _front_door(s: Settings) -> list[Problem]:
    """The front door's own rules (TLS and internal in prod, certificate region, DNS pair, drain time)."""
    return front_door_problems(
        s.front_door,
        s.environment,
        s.aws_region,
        termination_grace_seconds=API_TERMINATION_GRACE_SECONDS,
        workload_subnet_ids=s.network.private_subnet_ids,
        auth_type=s.airflow.auth.type,
    )


RULES: tuple[Callable[[Settings], list[Problem]], ...] = (
    _shapes,
    _prod_invariants,
    _storage,
    _aws_names,
    _regions,
    _cluster,
    _irsa,
    _airflow_prod,
    _airflow_access,
    _namespaces,
    _dag_source,
    _connections,
    _database_roles,
    _async_metadata_url,
    _prod_world_open_cidrs,
    _identity,
    _front_door,
    _disaster_recovery,
)


def check_rules(settings: Settings) -> list[Problem]:
    """Every rule's problems, in a stable order."""
    return [problem for rule in RULES for problem in rule(settings)]
