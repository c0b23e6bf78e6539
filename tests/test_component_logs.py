"""Component logs: one CloudWatch group per component, the shipper's exact grant, its fluent-bit config, the alarm."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from functools import cache

import pytest

import wiring
from components.log_shipper import (
    CHART,
    CHART_REPOSITORY,
    CHART_VERSION,
    IRSA_ANNOTATION,
    SERVICE_ACCOUNT,
    LogRoute,
    LogShipperArgs,
    container_glob,
    multiline_parser,
    shipper_values,
)
from config import ConfigError
from config.naming import aws_names, installs_log_shipper
from config.operations import CLOUDWATCH_RETENTION_DAYS
from offline.engine import Registration, unwrap
from offline.report import render_text
from tests.support import (
    STACKS,
    environment_of,
    make_settings,
    name_stem,
    namespace_of,
    stack_inventory,
    stack_object,
    stack_settings,
)

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
RELEASE = "kubernetes:helm.sh/v3:Release"
POLICY = "aws:iam/rolePolicy:RolePolicy"
# The environments' default retention (config/profiles.py), unless a stack file sets its own.
PROFILE_RETENTION = {"dev": 7, "uat": 30, "prod": 365}
P = "airflow-platform:"
# The stacks whose file installs a shipper (the others' clusters ship logs already).
SHIPPING = tuple(stack for stack in STACKS if installs_log_shipper(stack_settings(stack)))


def group_prefix(stack: str) -> str:
    """`/aws/eks/<cluster>/<namespace>` (the namespace already reads `airflow-…` in every stack file)."""
    namespace = namespace_of(stack)
    assert namespace.startswith("airflow")
    return f"/aws/eks/{stack_settings(stack).cluster.name}/{namespace}/"


def retention_of(stack: str) -> int:
    return stack_object(stack, "componentLogs").get("retentionDays") or PROFILE_RETENTION[environment_of(stack)]


def shipper_role_name(stack: str) -> str:
    return f"{name_stem(stack)}-log-shipper"


def groups(stack: str) -> dict[str, Registration]:
    return {g.inputs["name"]: g for g in stack_inventory(stack).of_type(LOG_GROUP)}


def shipper_policy(stack: str) -> dict:
    [policy] = [p for p in stack_inventory(stack).of_type(POLICY) if p.name == "log-shipper-irsa-component-logs-write"]
    return json.loads(policy.inputs["policy"])


@cache
def shipper_release_values(stack: str) -> dict:
    return unwrap(stack_inventory(stack).one(RELEASE, "log-shipper-release").inputs["values"])


# -- log groups ----------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_one_group_per_component_under_the_clusters_airflow_prefix(stack: str) -> None:
    prefix = group_prefix(stack)
    components = {name.removeprefix(prefix) for name in groups(stack) if name.startswith(prefix)}
    assert len(components) == len(groups(stack))
    pgbouncer = {"pgbouncer"} if stack_settings(stack).airflow.pgbouncer.enabled else set()
    assert components == {"scheduler", "api-server", "dag-processor", "triggerer", "other"} | pgbouncer
    assert stack_inventory(stack).outputs["logGroupNames"] == {c: prefix + c for c in components}


@pytest.mark.parametrize("stack", STACKS)
def test_retention_per_environment(stack: str) -> None:
    assert {g.inputs["retentionInDays"] for g in groups(stack).values()} == {retention_of(stack)}
    assert all(days in CLOUDWATCH_RETENTION_DAYS for days in PROFILE_RETENTION.values())


def test_a_retention_cloudwatch_does_not_offer_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        make_settings("dev", componentLogs={"retentionDays": 10})
    [problem] = caught.value.problems
    assert str(problem).startswith(f"{P}componentLogs.retentionDays: given 10; CloudWatch Logs keeps logs for one of ")
    assert "3653" in str(problem)


@pytest.mark.parametrize("stack", STACKS)
def test_groups_use_the_stacks_key_and_are_kept_like_the_other_stateful_resources(stack: str) -> None:
    settings = stack_settings(stack)
    key, mode = settings.encryption.kms_key_arn, settings.protection.mode
    for group in groups(stack).values():
        assert group.inputs.get("kmsKeyId") == key
        assert (group.protect, group.retain_on_delete) == (mode == "protect", mode == "retainOnDelete")
    assert key is not None or environment_of(stack) == "dev"
    assert mode == "protect" or environment_of(stack) != "prod"


# -- the shipper's role --------------------------------------------------------------------


@pytest.mark.parametrize("stack", SHIPPING)
def test_the_shippers_role_writes_only_to_the_stacks_groups(stack: str) -> None:
    [statement] = shipper_policy(stack)["Statement"]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    arns = sorted(f"arn:aws:logs:eu-west-1:111122223333:log-group:{name}" for name in groups(stack))
    assert statement["Resource"] == sorted([*arns, *(f"{arn}:log-stream:*" for arn in arns)])
    assert "Condition" not in statement and "*" not in statement["Resource"]


@pytest.mark.parametrize("stack", SHIPPING)
def test_the_shipper_role_trusts_only_its_service_account_in_its_own_namespace(stack: str) -> None:
    inventory = stack_inventory(stack)
    role = inventory.one("aws:iam/role:Role", "log-shipper-irsa-role")
    [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    subjects = [v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    assert subjects == [f"system:serviceaccount:{namespace_of(stack)}-logs:{SERVICE_ACCOUNT}"]
    assert role.inputs["name"] == shipper_role_name(stack)
    values = shipper_release_values(stack)
    assert values["serviceAccount"]["name"] == SERVICE_ACCOUNT
    assert values["serviceAccount"]["annotations"] == {
        IRSA_ANNOTATION: f"arn:aws:iam::111122223333:role/{shipper_role_name(stack)}"
    }


# -- the shipper ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack", SHIPPING)
def test_the_shipper_is_the_pinned_chart_in_a_namespace_of_its_own(stack: str) -> None:
    inventory = stack_inventory(stack)
    release = inventory.one(RELEASE, "log-shipper-release")
    assert (release.inputs["chart"], release.inputs["version"]) == (CHART, CHART_VERSION)
    assert release.inputs["repositoryOpts"] == {"repo": CHART_REPOSITORY}
    assert release.inputs["namespace"] == f"{namespace_of(stack)}-logs"
    namespace = inventory.one("kubernetes:core/v1:Namespace", "log-shipper-namespace").inputs["metadata"]
    assert namespace["name"] == f"{namespace_of(stack)}-logs"
    # Host paths: only `privileged` admits the DaemonSet; the Airflow namespace keeps its own level.
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    policy = inventory.one(POLICY, "log-shipper-irsa-component-logs-write")
    assert policy.urn in release.dependencies  # the role can write before the first pod starts


@pytest.mark.parametrize("stack", SHIPPING)
def test_the_chart_reads_only_the_airflow_namespaces_containers(stack: str) -> None:
    values = shipper_release_values(stack)
    assert values["input"] == {"enabled": False}  # the chart's own tail of every container
    assert values["filter"] == {"enabled": False}
    assert values["cloudWatchLogs"] == {"enabled": False}
    paths = re.findall(r"^\s*Path\s+(\S+)$", values["additionalInputs"], flags=re.M)
    assert paths and all(f"_{namespace_of(stack)}_" in p for path in paths for p in path.split(","))
    outputs = re.findall(r"log_group_name\s+(\S+)", values["additionalOutputs"])
    assert sorted(outputs) == sorted(groups(stack))
    assert "auto_create_group    Off" in values["additionalOutputs"]
    assert {v["hostPath"]["path"] for v in values["volumes"]} == {
        "/var/log/containers",
        "/var/log/pods",
        f"/var/fluent-bit/state/{namespace_of(stack)}-logs",
    }


def kubelet_log(pod: str, namespace: str, container: str) -> str:
    return f"/var/log/containers/{pod}_{namespace}_{container}-{'0123456789abcdef' * 4}.log"


def test_a_container_glob_takes_its_container_only() -> None:
    glob = container_glob("airflow-prod", "scheduler")
    assert fnmatchcase(kubelet_log("airflow-scheduler-7d9f8-x2k4p", "airflow-prod", "scheduler"), glob)
    assert not fnmatchcase(kubelet_log("airflow-scheduler-7d9f8-x2k4p", "airflow-prod", "scheduler-log-groomer"), glob)
    assert not fnmatchcase(kubelet_log("airflow-scheduler-7d9f8-x2k4p", "airflow-uat", "scheduler"), glob)
    assert not fnmatchcase(kubelet_log("airflow-scheduler-7d9f8-x2k4p", "airflow-prod-logs", "scheduler"), glob)


def test_task_pods_are_excluded_by_default_and_included_by_config() -> None:
    def tail_files(settings) -> dict[str, tuple[list[str], list[str]]]:
        names = aws_names(settings)
        args = wiring.log_shipper_args(settings, names, "arn:aws:iam::111122223333:oidc-provider/x", "https://x")
        text = shipper_values(args, "arn:aws:iam::111122223333:role/r")["additionalInputs"]
        found = {}
        for block in text.split("[INPUT]")[1:]:
            settings_of = dict(re.findall(r"^\s*(\S+)\s+(.+)$", block, flags=re.M))
            found[settings_of["Tag"]] = (
                settings_of["Path"].split(","),
                settings_of.get("Exclude_Path", "").split(","),
            )
        return found

    # Task pods run in the task namespace (`<namespace>-tasks`), their container is `base`.
    task_log = kubelet_log("tutorial-print-date-k2j3", "airflow-dev-tasks", "base")
    stray_base = kubelet_log("tutorial-print-date-k2j3", "airflow-dev", "base")
    groomer = kubelet_log("airflow-scheduler-7d9f8-x2k4p", "airflow-dev", "scheduler-log-groomer")

    def routed_to(inputs, file: str) -> list[str]:
        return [
            tag
            for tag, (paths, excluded) in inputs.items()
            if any(fnmatchcase(file, p) for p in paths) and not any(fnmatchcase(file, p) for p in excluded if p)
        ]

    ships = {"clusterShipsLogs": False}
    default = tail_files(make_settings("dev", componentLogs=ships))
    assert routed_to(default, task_log) == [] and routed_to(default, stray_base) == []
    assert routed_to(default, groomer) == ["other.*"]
    assert routed_to(default, kubelet_log("airflow-scheduler-1", "airflow-dev", "scheduler")) == ["scheduler.*"]
    included = tail_files(make_settings("dev", componentLogs={**ships, "includeTaskPods": True}))
    assert routed_to(included, task_log) == ["tasks.*"]
    assert routed_to(included, stray_base) == []  # the Airflow namespace's catch-all still skips `base`
    assert routed_to(included, kubelet_log("tutorial-print-date-k2j3", "airflow-uat-tasks", "base")) == []
    names = wiring.component_logs_args(
        make_settings("dev", componentLogs={"includeTaskPods": True}), aws_names(make_settings("dev"))
    )
    assert "tasks" in names.components


def test_a_route_may_read_another_namespace_but_the_catch_all_stays_in_the_source() -> None:
    def args(*routes: LogRoute) -> LogShipperArgs:
        return LogShipperArgs("a-logs", "a", "eu-west-1", routes, "arn", "https://x", "r")

    args(LogRoute("tasks", "/g/tasks", ("base",), namespace="a-tasks"), LogRoute("other", "/g/other"))
    with pytest.raises(ValueError, match="catch-all"):
        args(LogRoute("other", "/g/other", namespace="a-tasks"))


def test_the_shipper_is_installed_by_default_only_into_a_cluster_the_stack_creates() -> None:
    created = {
        "mode": "create",
        "name": "data-test",
        "create": {"adminRoleArns": ["arn:aws:iam::111122223333:role/deployer"]},
    }
    assert installs_log_shipper(make_settings("dev", cluster=created))
    assert not installs_log_shipper(make_settings("dev"))  # an existing cluster: assumed to ship logs already
    assert installs_log_shipper(make_settings("uat", componentLogs={"clusterShipsLogs": False}))
    assert not installs_log_shipper(make_settings("dev", cluster=created, componentLogs={"clusterShipsLogs": True}))


def test_a_cluster_that_ships_logs_already_gets_the_groups_and_no_shipper() -> None:
    settings = make_settings(
        "uat",
        cluster={
            "mode": "create",
            "name": "data-test",
            "create": {"adminRoleArns": ["arn:aws:iam::111122223333:role/deployer"]},
        },
        componentLogs={"clusterShipsLogs": True},
    )
    names = aws_names(settings)
    assert names.log_shipper_role is None
    assert wiring.log_shipper_args(settings, names, "arn", "issuer") is None
    assert wiring.component_logs_args(settings, names) is not None


# -- multiline: a traceback is one event -----------------------------------------------------


def parser_rules() -> tuple[re.Pattern[str], re.Pattern[str]]:
    rules = re.findall(r'Rule\s+"([a-z_]+)" "/(.*)/" "([a-z_]+)"', multiline_parser())
    by_state = {state: re.compile(pattern) for state, pattern, _ in rules}
    return by_state["start_state"], by_state["cont"]


def join_lines(lines: list[str]) -> list[str]:
    """What fluent-bit's regex multiline engine does with two rules: a start line opens a record,
    continuation lines join it, any other line flushes it and opens the next."""
    start, cont = parser_rules()
    records: list[list[str]] = []
    for line in lines:
        if records and cont.search(line):
            records[-1].append(line)
        elif start.search(line):
            records.append([line])
    return ["\n".join(record) for record in records]


AIRFLOW_2 = """\
[2026-03-01T10:00:00.000+0000] {scheduler_job_runner.py:1200} INFO - Heartbeat
[2026-03-01T10:00:01.000+0000] {scheduler_job_runner.py:870} ERROR - Exception when executing SchedulerJob._run_scheduler_loop
Traceback (most recent call last):
  File "/home/airflow/.local/lib/python3.12/site-packages/airflow/jobs/scheduler_job_runner.py", line 860, in _execute
    self._run_scheduler_loop()
psycopg2.OperationalError: server closed the connection unexpectedly

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/home/airflow/.local/lib/python3.12/site-packages/airflow/jobs/job.py", line 12, in run
    raise AirflowException("boom")
airflow.exceptions.AirflowException: boom
[2026-03-01T10:00:02.000+0000] {scheduler_job_runner.py:1200} INFO - Heartbeat"""

# As Airflow 3.1.7 writes them to a container's stdout (structlog's console renderer; checked by running it with
# stdout not a terminal: no ANSI colour codes, whatever `[logging] colored_console_log` says).
AIRFLOW_3 = """\
2026-03-01T10:00:00.000000Z [info     ] Starting the scheduler         [airflow.cli.commands.scheduler_command] loc=scheduler_command.py:51
2026-03-01T10:00:01.000000Z [error    ] Exception when executing SchedulerJob._run_scheduler_loop [airflow.jobs.scheduler_job_runner] loc=scheduler_job_runner.py:1020
Traceback (most recent call last):
  File "/home/airflow/.local/lib/python3.12/site-packages/airflow/jobs/scheduler_job_runner.py", line 1010, in _execute
    self._run_scheduler_loop()
KeyError: 'dag_id'
2026-03-01T10:00:02.000000Z [info     ] Loop done                      [airflow.jobs.scheduler_job_runner] loc=scheduler_job_runner.py:1200"""


@pytest.mark.parametrize("sample", [AIRFLOW_2, AIRFLOW_3], ids=["airflow-2", "airflow-3"])
def test_a_traceback_arrives_with_its_log_line_as_one_event(sample: str) -> None:
    records = join_lines(sample.splitlines())
    assert len(records) == 3
    error = records[1]
    assert "Exception when executing" in error.splitlines()[0]
    assert error.count("Traceback (most recent call last):") == sample.count("Traceback")
    assert error.splitlines()[-1] in ("airflow.exceptions.AirflowException: boom", "KeyError: 'dag_id'")
    assert "Heartbeat" not in error and "Loop done" not in error


def test_lines_without_a_traceback_stay_separate_events() -> None:
    lines = [
        'INFO:     10.0.0.1:51234 - "GET /api/v2/monitor/health HTTP/1.1" 200 OK',
        'INFO:     10.0.0.1:51236 - "GET /api/v2/monitor/health HTTP/1.1" 200 OK',
        "2026-03-01 10:00:00.000 UTC [1] LOG stats: 0 xacts/s",
    ]
    assert join_lines(lines) == lines


# -- alarm ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_scheduler_errors_alarm_to_the_stacks_topic(stack: str) -> None:
    inventory = stack_inventory(stack)
    metric_filter = inventory.one("aws:cloudwatch/logMetricFilter:LogMetricFilter").inputs
    assert metric_filter["logGroupName"] == f"{group_prefix(stack)}scheduler"
    transformation = metric_filter["metricTransformation"]
    assert transformation["namespace"] == f"AirflowPlatform/{name_stem(stack)}"
    [alarm] = [
        a.inputs
        for a in inventory.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.inputs["namespace"] != "AWS/RDS"
    ]
    assert (alarm["namespace"], alarm["metricName"]) == (transformation["namespace"], transformation["name"])
    assert alarm["comparisonOperator"] == "GreaterThanOrEqualToThreshold" and alarm["statistic"] == "Sum"
    topic = stack_settings(stack).database.alarms.sns_topic_arn
    assert alarm.get("alarmActions", []) == ([topic] if topic else [])
    assert environment_of(stack) == "dev" or topic


@pytest.mark.parametrize(
    "line",
    [
        "[2026-03-01T10:00:01.000+0000] {scheduler_job_runner.py:870} ERROR - Exception when executing",
        "2026-03-01T10:00:01.000000Z [error    ] Exception when executing [airflow.jobs.scheduler_job_runner] loc=x.py:8",
        "2026-03-01T10:00:01.000000Z [critical ] Scheduler exited               [airflow.jobs.scheduler_job_runner]",
    ],
)
def test_the_filter_pattern_matches_airflow_2_and_3_error_lines(line: str) -> None:
    from components.component_logs import SCHEDULER_ERROR_PATTERN

    # CloudWatch's `?"term"` alternatives: an event matches when it contains any quoted term (case-sensitive).
    terms = re.findall(r'\?"([^"]+)"', SCHEDULER_ERROR_PATTERN)
    assert any(term in line for term in terms)
    assert not any(
        term in line.replace("ERROR", "INFO").replace("[error", "[info").replace("[critical", "[info") for term in terms
    )


@pytest.mark.parametrize("stack", STACKS)
def test_the_scheduler_writes_uncoloured_lines_the_filter_can_match(stack: str) -> None:
    """With colours on and a terminal, Airflow 3's level reads `[<ESC>[31m<ESC>[1merror` and `[error` never
    matches: colours stay off in airflow.cfg and no Airflow container gets a terminal."""
    import configparser

    from tests.render_support import rendered_stack

    chart = rendered_stack(stack)
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read_string(chart.airflow_cfg())
    assert cfg["logging"]["colored_console_log"] == "False"
    for kind in ("Deployment", "StatefulSet"):
        for workload in chart.of_kind(kind):
            for container in workload["spec"]["template"]["spec"]["containers"]:
                assert not container.get("tty"), (workload["metadata"]["name"], container["name"])


@pytest.mark.parametrize("stack", STACKS)
def test_the_plan_shows_the_groups_with_their_retention_and_the_shipper_with_its_role(stack: str) -> None:
    text = render_text(stack, stack_inventory(stack))
    assert "== component-logs (airflow-platform:logging:ComponentLogGroups)" in text
    assert f"retentionInDays: {retention_of(stack)}" in text
    shipper = stack in SHIPPING
    assert ("== log-shipper (airflow-platform:logging:LogShipper)" in text) == shipper
    assert (f'name: "{shipper_role_name(stack)}"' in text) == shipper
    assert ('"logs:PutLogEvents"' in text) == shipper


def test_component_logs_off_means_no_groups_and_no_shipper() -> None:
    settings = make_settings("dev", componentLogs={"enabled": False})
    names = aws_names(settings)
    assert wiring.component_logs_args(settings, names) is None
    assert names.log_shipper_role is None and wiring.log_shipper_args(settings, names, "arn", "issuer") is None
