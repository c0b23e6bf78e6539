"""Stack config validation: real stack files, per-environment profiles, prod rules and naming."""

from __future__ import annotations

import json
import typing
from typing import Any

import pytest
from pydantic import BaseModel

from airflow_chart.shape import Workload
from config import ConfigError, Settings, build_settings
from config.naming import aws_names, bucket_name
from config.profiles import ENVIRONMENTS
from offline import REPO
from tests.support import (
    AIRFLOW_ACCESS,
    REGION,
    STACKS,
    environment_of,
    make_settings,
    minimal_raw,
    override,
    stack_settings,
)


def config_error(stack: str, overrides: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        stack_settings(stack, overrides)
    return caught.value


# -- real stack files ----------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_stack_file_validates(stack: str) -> None:
    settings = stack_settings(stack)
    assert isinstance(settings, Settings)
    assert settings.environment == environment_of(stack)
    assert settings.aws_region == REGION


def test_stack_files_pick_the_expected_cluster_mode() -> None:
    assert stack_settings("dev").cluster.mode == "create"
    assert stack_settings("uat").cluster.mode == "existing"
    assert stack_settings("prod").cluster.mode == "existing"


def test_prod_stack_file_keeps_its_instance_class_over_the_profile() -> None:
    assert stack_settings("prod").database.instance_class == "db.r6g.xlarge"


# -- profiles --------------------------------------------------------------------------


def test_dev_profile_is_single_az_and_disposable() -> None:
    settings = make_settings("dev")
    assert settings.database.multi_az is False
    assert settings.database.deletion_protection is False
    assert settings.database.skip_final_snapshot is True
    assert settings.database.backup_retention_days == 1
    assert settings.database.monitoring_interval_seconds == 0
    assert settings.buckets.force_destroy is True
    assert settings.buckets.log_retention_days == 14
    assert settings.protection.mode == "none"


def test_uat_profile_retains_state_but_stays_single_az() -> None:
    settings = make_settings("uat")
    assert settings.database.multi_az is False
    assert settings.database.deletion_protection is True
    assert settings.database.skip_final_snapshot is False
    assert settings.database.monitoring_interval_seconds == 60
    assert settings.buckets.force_destroy is False
    assert settings.buckets.log_retention_days == 30
    assert settings.protection.mode == "retainOnDelete"


def test_prod_profile_is_multi_az_and_protected() -> None:
    settings = make_settings("prod")
    assert settings.database.multi_az is True
    assert settings.database.deletion_protection is True
    assert settings.database.skip_final_snapshot is False
    assert settings.database.backup_retention_days >= 7
    assert settings.database.monitoring_interval_seconds == 15
    assert settings.buckets.force_destroy is False
    assert settings.buckets.log_retention_days == 365
    assert settings.protection.mode == "protect"


def test_profiles_size_the_database_differently() -> None:
    classes = {env: make_settings(env).database.instance_class for env in ENVIRONMENTS}
    assert len(set(classes.values())) == 3
    assert classes["dev"] == "db.t4g.medium"


def test_stack_values_override_profile_defaults() -> None:
    settings = make_settings("dev", buckets={"logRetentionDays": 3, "forceDestroy": False})
    assert settings.buckets.log_retention_days == 3
    assert settings.buckets.force_destroy is False


# -- environment key ---------------------------------------------------------------------


def test_environment_key_picks_the_profile_and_names_still_come_from_the_stack() -> None:
    settings = make_settings("sandbox", environment="uat", airflow=dict(AIRFLOW_ACCESS))
    assert settings.environment == "uat"
    assert settings.protection.mode == "retainOnDelete"
    assert settings.namespace == "airflow-sandbox"
    assert aws_names(settings).db_identifier == "etl-airflow-sandbox-metadata"
    assert bucket_name(settings, "dags", "123456789012") == "etl-airflow-dags-sandbox-123456789012-eu-west-1"
    assert settings.airflow.secrets_backend.prefixes(settings.instance_name)[0] == "airflow/sandbox/connections"


def test_instance_name_key_overrides_the_stack_name_in_physical_names() -> None:
    settings = make_settings("Alice_Dev", environment="dev", instanceName="alice")
    assert (settings.instance_name, settings.namespace) == ("alice", "airflow-alice")
    assert aws_names(settings).load_balancer == "etl-airflow-alice"


def test_a_stack_name_unusable_in_aws_names_asks_for_an_instance_name() -> None:
    with pytest.raises(ConfigError) as caught:
        make_settings("Alice_Dev", environment="dev")
    [line] = [str(p) for p in caught.value.problems]
    assert line.startswith('airflow-platform:instanceName: given "Alice_Dev"; expected 1-30 characters of a-z')
    assert line.endswith("(defaulted from stack name 'Alice_Dev'; set airflow-platform:instanceName to choose another)")


def test_a_long_stack_name_is_blamed_for_the_names_it_makes_too_long() -> None:
    with pytest.raises(ConfigError) as caught:
        make_settings("alice-feature-branch-x", environment="dev")
    lines = [str(p) for p in caught.value.problems]
    assert lines == [
        'airflow-platform:instanceName: given "alice-feature-branch-x"; gives load balancer name '
        "'etl-airflow-alice-feature-branch-x' (34 characters), which Elastic Load Balancing allows 32 characters "
        "(defaulted from stack name 'alice-feature-branch-x'; set airflow-platform:instanceName to choose another)"
    ]


def test_environment_key_overrides_a_real_stack_file() -> None:
    overrides = {
        "airflow-platform:environment": "uat",
        "airflow-platform:airflow": dict(AIRFLOW_ACCESS),
    }
    settings = stack_settings("dev", overrides)
    assert settings.environment == "uat"
    assert settings.database.instance_class == "db.t4g.large"


def test_unknown_stack_name_without_environment_key_is_rejected() -> None:
    with pytest.raises(ConfigError) as caught:
        make_settings("sandbox")
    message = str(caught.value)
    assert "airflow-platform:environment" in message
    assert '"sandbox"' in message
    assert "stack name" in message


# -- prod invariants -------------------------------------------------------------------

PROD_INVARIANTS = [
    ("database.multiAz", False),
    ("database.deletionProtection", False),
    ("database.skipFinalSnapshot", True),
    ("database.backupRetentionDays", 3),
    ("database.alarms.snsTopicArn", None),
    ("protection.mode", "none"),
    ("buckets.forceDestroy", True),
]


@pytest.mark.parametrize(("key", "value"), PROD_INVARIANTS, ids=[key for key, _ in PROD_INVARIANTS])
def test_prod_invariant_is_enforced(key: str, value: Any) -> None:
    error = config_error("prod", override("prod", key, value))
    assert len(error.problems) == 1, str(error)
    message = str(error)
    assert f"airflow-platform:{key}" in message
    assert "prod requires" in message
    if value is not None:
        assert f"given {json.dumps(value)}" in message


@pytest.mark.parametrize(("key", "value"), PROD_INVARIANTS[:4], ids=[key for key, _ in PROD_INVARIANTS[:4]])
def test_prod_invariants_do_not_apply_to_dev(key: str, value: Any) -> None:
    overrides = override("dev", key, value)
    assert stack_settings("dev", overrides).environment == "dev"


def test_retain_on_delete_is_accepted_in_prod() -> None:
    settings = stack_settings("prod", override("prod", "protection.mode", "retainOnDelete"))
    assert settings.protection.mode == "retainOnDelete"


# -- one line per problem ------------------------------------------------------------------


def test_each_rule_problem_gets_its_own_line() -> None:
    overrides = {
        **override("prod", "database.multiAz", False),
        "airflow-platform:buckets": {"forceDestroy": True},
        "airflow-platform:protection": {"mode": "none"},
    }
    overrides["airflow-platform:database"]["deletionProtection"] = False
    error = config_error("prod", overrides)
    lines = str(error).splitlines()
    assert len(error.problems) == 4
    assert lines[0] == "invalid stack config (4 problems):"
    assert len(lines) == 1 + 4
    assert all(line.startswith("  airflow-platform:") for line in lines[1:])
    keys = {problem.full_key for problem in error.problems}
    assert keys == {
        "airflow-platform:database.multiAz",
        "airflow-platform:database.deletionProtection",
        "airflow-platform:protection.mode",
        "airflow-platform:buckets.forceDestroy",
    }


def test_each_validation_problem_gets_its_own_line() -> None:
    raw = minimal_raw(
        network={"vpcId": "vpc-nope", "privateSubnetIds": ["subnet-0a1b2c3d4e5f60781", "subnet-0a1b2c3d4e5f60782"]},
        database={"instanceClass": "m5.large", "alarms": {"snsTopicArn": "not-an-arn"}},
        buckets={"logRetentionDays": 0},
    )
    with pytest.raises(ConfigError) as caught:
        build_settings(raw, stack="dev", region=REGION)
    lines = str(caught.value).splitlines()
    assert lines[0] == "invalid stack config (4 problems):"
    assert len(lines) == 5
    assert any(line.startswith('  airflow-platform:network.vpcId: given "vpc-nope";') for line in lines)
    assert any(line.startswith('  airflow-platform:database.instanceClass: given "m5.large";') for line in lines)
    assert any(line.startswith("  airflow-platform:database.alarms.snsTopicArn:") for line in lines)
    assert any(line.startswith("  airflow-platform:buckets.logRetentionDays: given 0;") for line in lines)


def test_single_problem_header_is_singular() -> None:
    error = config_error("prod", override("prod", "buckets.forceDestroy", True))
    assert str(error).splitlines()[0] == "invalid stack config (1 problem):"


# -- secrets -----------------------------------------------------------------------------

PLAIN_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nplaintext-should-never-be-echoed\n-----END OPENSSH PRIVATE KEY-----"


def test_secret_key_in_plain_text_is_rejected() -> None:
    with pytest.raises(ConfigError) as caught:
        build_settings(minimal_raw(gitSshPrivateKey=PLAIN_KEY), stack="dev", region=REGION)
    message = str(caught.value)
    assert "airflow-platform:gitSshPrivateKey" in message
    assert "--secret" in message
    assert "plaintext-should-never-be-echoed" not in message


def test_secret_key_in_plain_text_in_a_stack_file_is_rejected() -> None:
    error = config_error("dev", {"airflow-platform:gitSshPrivateKey": PLAIN_KEY})
    assert [problem.full_key for problem in error.problems] == ["airflow-platform:gitSshPrivateKey"]
    assert "plaintext-should-never-be-echoed" not in str(error)


def test_secret_key_set_as_secret_is_accepted() -> None:
    raw = minimal_raw(gitSshPrivateKey=PLAIN_KEY)
    settings = build_settings(raw, stack="dev", region=REGION, secret_keys=frozenset({"gitSshPrivateKey"}))
    assert "plaintext-should-never-be-echoed" not in settings.model_dump_json()


def test_encrypted_secret_in_stack_file_is_accepted() -> None:
    overrides = {"airflow-platform:gitSshPrivateKey": {"secure": "v1:AAAABBBBCCCC"}}
    assert stack_settings("dev", overrides).environment == "dev"


# -- naming ----------------------------------------------------------------------------


def test_airflow3_workloads_have_api_server_and_dag_processor() -> None:
    settings = make_settings("dev")
    assert settings.shape.workloads == (
        Workload.SCHEDULER,
        Workload.API_SERVER,
        Workload.DAG_PROCESSOR,
        Workload.WORKER,
        Workload.TRIGGERER,
    )
    assert Workload.WEBSERVER not in settings.shape.workloads


def test_airflow3_dag_readers_exclude_scheduler_and_api_server() -> None:
    readers = make_settings("dev").shape.dag_readers
    assert set(readers) == {Workload.DAG_PROCESSOR, Workload.TRIGGERER, Workload.WORKER}


def test_airflow2_workloads_have_webserver_only() -> None:
    settings = make_settings("dev", airflow={"version": "2.10.5"})
    assert settings.shape.workloads == (
        Workload.SCHEDULER,
        Workload.WEBSERVER,
        Workload.WORKER,
        Workload.TRIGGERER,
    )


def test_airflow2_scheduler_reads_dags() -> None:
    readers = make_settings("dev", airflow={"version": "2.10.5"}).shape.dag_readers
    assert set(readers) == {Workload.SCHEDULER, Workload.TRIGGERER, Workload.WORKER}


@pytest.mark.parametrize("version", ["3.1.7", "2.10.5"])
def test_service_account_follows_chart_default_for_airflow_release(version: str) -> None:
    settings = make_settings("uat", airflow={**AIRFLOW_ACCESS, "version": version})
    for workload in settings.shape.workloads:
        account = settings.shape.service_account(workload)
        namespace = "airflow-uat-tasks" if workload is Workload.WORKER else "airflow-uat"  # task pods: their own
        assert account.namespace == namespace
        assert account.name == f"airflow-{workload.value}"
        assert account.subject == f"system:serviceaccount:{namespace}:airflow-{workload.value}"


def test_service_account_inserts_airflow_when_release_name_lacks_it() -> None:
    settings = make_settings("dev", airflow={"releaseName": "etl", "namespace": "data"})
    account = settings.shape.service_account(Workload.WORKER)
    assert account.name == "etl-airflow-worker"
    assert account.subject == "system:serviceaccount:data-tasks:etl-airflow-worker"


def test_service_account_keeps_release_name_containing_airflow() -> None:
    settings = make_settings("dev", airflow={"releaseName": "my-airflow"})
    assert settings.shape.service_account(Workload.SCHEDULER).name == "my-airflow-scheduler"


def test_workload_config_and_values_keys() -> None:
    assert Workload.WORKER.config_key == "worker"
    assert Workload.WORKER.values_key == "workers"
    assert Workload.API_SERVER.config_key == "apiServer"
    assert Workload.DAG_PROCESSOR.values_key == "dagProcessor"


def test_field_errors_come_first_then_the_rules():
    """Every bad field shows in one run; the cross-field rules (config/rules.py) run once the fields are valid."""
    overrides = {
        "airflow-platform:database": {"instanceClass": "m5.large", "multiAz": False},
        "airflow-platform:network": {"vpcId": "vpc-123", "privateSubnetIds": ["subnet-0e31f42a53b64c701"]},
    }
    with pytest.raises(ConfigError) as caught:
        stack_settings("prod", overrides)
    keys = [p.full_key for p in caught.value.problems]
    assert keys == [
        "airflow-platform:network.vpcId",
        "airflow-platform:network.privateSubnetIds",
        "airflow-platform:database.instanceClass",
    ]
    fixed = {"airflow-platform:database": {"instanceClass": "db.r6g.large", "multiAz": False}}
    with pytest.raises(ConfigError) as caught:
        stack_settings("prod", fixed)
    assert [p.full_key for p in caught.value.problems] == [
        "airflow-platform:database.multiAz",
        "airflow-platform:database.alarms.snsTopicArn",
    ]


def test_pulumi_yaml_declares_keys_without_restating_defaults():
    import yaml

    declared = yaml.safe_load((REPO / "Pulumi.yaml").read_text())["config"]
    assert declared, "Pulumi.yaml declares the project's scalar config keys"
    assert all("default" not in spec for spec in declared.values())


def _restated_defaults(model: type[BaseModel], data: dict[str, Any], path: str) -> list[str]:
    fields = {(field.alias or name): field for name, field in model.model_fields.items()}
    found = []
    for key, value in data.items():
        field = fields[key]
        sub = next((a for a in (field.annotation, *typing.get_args(field.annotation)) if _is_model(a)), None)
        if isinstance(value, dict) and sub is not None:
            found += _restated_defaults(sub, value, f"{path}{key}.")
        elif not field.is_required():
            default = field.get_default(call_default_factory=True)
            if isinstance(default, BaseModel):
                default = default.model_dump(mode="json", by_alias=True)
            if default == value:
                found.append(path + key)
    return found


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_profiles_hold_only_per_environment_deltas(environment):
    """Each default has one home: a profile never repeats the model default."""
    from config.profiles import profile_defaults

    assert _restated_defaults(Settings, profile_defaults(environment), "") == []


@pytest.mark.parametrize("stack", ["prod", "Prod", "prod-eu"])
def test_a_prod_named_stack_must_have_the_prod_environment(stack: str) -> None:
    with pytest.raises(ConfigError) as error:
        build_settings(minimal_raw(environment="uat"), stack=stack, region=REGION)
    [problem] = [p for p in error.value.problems if p.key == "environment"]
    assert f"stack {stack!r} is named as a prod stack" in problem.message and problem.given == "uat"


def test_a_namespace_too_long_for_the_task_and_bootstrap_namespaces_is_refused_by_name() -> None:
    long = "a" * 54
    with pytest.raises(ConfigError) as caught:
        make_settings("dev", airflow={"namespace": long})
    assert [str(p) for p in caught.value.problems] == [
        f'airflow-platform:airflow.namespace: given "{long}"; at most 53 characters: the task namespace '
        "<namespace>-tasks and the DB bootstrap namespace <namespace>-bootstrap must fit Kubernetes' 63"
    ]
    settings = make_settings("dev", airflow={"namespace": long[:53]})
    assert len(settings.shape.bootstrap_namespace) == 63 and len(settings.shape.task_namespace) == 59
