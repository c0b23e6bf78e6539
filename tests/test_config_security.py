"""Config rules that keep permissions scoped and secrets out of error messages."""

from __future__ import annotations

import pytest

from config import ConfigError
from tests.conftest import make_settings, stack_settings

P = "airflow-platform:"


def statement(*resources: str, action: str = "s3:GetObject") -> dict:
    return {"actions": [action], "resources": list(resources)}


@pytest.mark.parametrize(
    ("resource", "action"),
    [
        ("arn:aws:s3:::*/*", "s3:GetObject"),
        ("arn:aws:s3:::etl-*/*", "s3:GetObject"),
        ("arn:aws:secretsmanager:*:111122223333:secret:airflow/*", "secretsmanager:GetSecretValue"),
        ("arn:aws:secretsmanager:eu-west-1:111122223333:secret:*", "secretsmanager:GetSecretValue"),
    ],
)
def test_wildcard_buckets_secrets_regions_and_accounts_are_rejected(resource, action):
    with pytest.raises(ConfigError) as caught:
        make_settings("dev", irsa={"extraStatements": {"worker": [statement(resource, action=action)]}})
    assert f'{P}irsa.extraStatements.worker[0].resources: given ["{resource}"]' in str(caught.value)


@pytest.mark.parametrize(
    ("resource", "action"),
    [
        ("arn:aws:s3:::etl-artifacts-dev/models/*", "s3:GetObject"),
        ("arn:aws:secretsmanager:eu-west-1:111122223333:secret:airflow/dev/*", "secretsmanager:GetSecretValue"),
    ],
)
def test_prefix_scoped_resources_are_accepted(resource, action):
    settings = make_settings("dev", irsa={"extraStatements": {"worker": [statement(resource, action=action)]}})
    assert settings.irsa.extra_statements["worker"][0].resources == [resource]


def test_extra_statements_for_a_component_this_airflow_does_not_run_are_rejected():
    with pytest.raises(ConfigError) as caught:
        make_settings("dev", irsa={"extraStatements": {"webserver": [statement("arn:aws:s3:::b/*")]}})
    message = str(caught.value)
    assert f"{P}irsa.extraStatements.webserver:" in message
    assert "Airflow 3.1.7 runs no webserver" in message and "apiServer" in message


def test_a_misspelled_secret_key_is_reported_without_its_value():
    with pytest.raises(ConfigError) as caught:
        stack_settings("dev", {P + "gitSshPrivatekey": {"secure": "v1:abc"}})
    message = str(caught.value)
    assert f"{P}gitSshPrivatekey:" in message
    assert "offline-fake" not in message and "[secret]" in message
    assert "gitSshPrivateKey" in message  # the allowed list shows the right spelling


@pytest.mark.parametrize("action", ["*", "s3:*", "s3:Get*", "secretsmanager:Get*Value"])
def test_wildcard_actions_are_rejected(action):
    with pytest.raises(ConfigError) as caught:
        make_settings("dev", irsa={"extraStatements": {"worker": [statement("arn:aws:s3:::b/*", action=action)]}})
    assert f'{P}irsa.extraStatements.worker[0].actions: given ["{action}"]' in str(caught.value)


def test_user_tags_cannot_override_the_platform_tags():
    settings = make_settings("dev", tags={"environment": "prod", "managed-by": "hand", "team": "data"})
    assert settings.base_tags["environment"] == "dev"
    assert settings.base_tags["managed-by"] == "pulumi"
    assert settings.base_tags["team"] == "data"
