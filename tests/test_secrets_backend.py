"""Secrets Manager backend: Airflow settings, and a read grant scoped to exactly the two prefixes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from components.irsa import IrsaRole, IrsaRoleArgs
from components.secrets_backend import (
    BACKEND_CLASS,
    SecretsBackendArgs,
    SecretsManagerBackend,
    backend_config,
    default_prefixes,
    read_statements,
    secret_prefix_arn,
)
from offline import Inventory
from tests.support import REGION

KEY = f"arn:aws:kms:{REGION}:111122223333:key/0a1b2c3d-0000-4000-8000-000000000001"
POLICY = "aws:iam/rolePolicy:RolePolicy"


def backend(**extra) -> SecretsManagerBackend:
    connections, variables = default_prefixes("prod")
    return SecretsManagerBackend(
        SecretsBackendArgs(
            region=REGION,
            account_id="111122223333",
            connections_prefix=connections,
            variables_prefix=variables,
            **extra,
        )
    )


def test_default_prefixes_are_per_environment() -> None:
    assert default_prefixes("uat") == ("airflow/uat/connections", "airflow/uat/variables")


def test_airflow_settings_name_the_backend_and_scalar_kwargs() -> None:
    config = backend(reserved_connection_ids=["aws_task_logs"]).airflow_config()
    assert config["backend"] == BACKEND_CLASS
    kwargs = json.loads(config["backend_kwargs"])
    assert kwargs == {
        "connections_prefix": "airflow/prod/connections",
        "variables_prefix": "airflow/prod/variables",
        "config_prefix": None,
        "region_name": REGION,
        "connections_lookup_pattern": "^(?!(?:aws_task_logs)$)",
    }
    assert all(isinstance(value, str) for value in config.values())  # the chart's config takes scalars


def test_reserved_connections_are_not_looked_up_but_every_other_id_is() -> None:
    pattern = json.loads(backend_config(REGION, "a/c", "a/v", ["aws_task_logs"])["backend_kwargs"])[
        "connections_lookup_pattern"
    ]
    # The amazon provider skips an id unless re.match(pattern, id, re.IGNORECASE) succeeds.
    assert not re.match(pattern, "aws_task_logs", re.IGNORECASE)
    assert not re.match(pattern, "AWS_TASK_LOGS", re.IGNORECASE)
    for conn_id in ("aws_task_logs_2", "snowflake_default", "aws_task_log"):
        assert re.match(pattern, conn_id, re.IGNORECASE)
    assert "connections_lookup_pattern" not in json.loads(backend_config(REGION, "a/c", "a/v")["backend_kwargs"])


def test_read_statements_cover_only_the_prefixes() -> None:
    arn = secret_prefix_arn("aws", REGION, "111122223333", "airflow/prod/connections/")
    assert arn == f"arn:aws:secretsmanager:{REGION}:111122223333:secret:airflow/prod/connections/*"
    [read] = read_statements([arn], None)
    assert read["Action"] == ["secretsmanager:GetSecretValue"]
    assert read["Resource"] == [arn]
    [_, decrypt] = read_statements([arn], KEY)
    assert decrypt == {"Sid": "DecryptAirflowSecrets", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [KEY]}


def test_prefixes_must_be_names_and_must_not_nest() -> None:
    with pytest.raises(ValueError, match="name prefix"):
        SecretsBackendArgs(REGION, "111122223333", "/airflow/connections", "airflow/variables")
    with pytest.raises(ValueError, match="nested"):
        SecretsBackendArgs(REGION, "111122223333", "airflow/prod", "airflow/prod/variables")


def test_grant_read_adds_one_scoped_policy_to_a_role(run_components: Callable[..., Inventory]) -> None:
    def program() -> None:
        role = IrsaRole(
            "irsa-worker",
            IrsaRoleArgs(
                namespace="airflow-prod",
                service_account_name="airflow-worker",
                role_name="etl-airflow-prod-worker",
                oidc_provider_arn="arn:aws:iam::111122223333:oidc-provider/oidc.eks.example",
                oidc_issuer="oidc.eks.example",
            ),
        )
        backend(kms_key_arn=KEY).grant_read(role)

    inventory = run_components(program)
    [policy] = inventory.of_type(POLICY)
    assert policy.inputs["name"] == "secrets-backend-read"
    document = json.loads(policy.inputs["policy"])
    prefix = f"arn:aws:secretsmanager:{REGION}:111122223333:secret:airflow/prod"
    assert document["Statement"] == [
        {
            "Sid": "ReadAirflowSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [f"{prefix}/connections/*", f"{prefix}/variables/*"],
        },
        {"Sid": "DecryptAirflowSecrets", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [KEY]},
    ]
