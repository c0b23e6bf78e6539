"""Config rules that keep permissions scoped and secrets out of error messages."""

from __future__ import annotations

import pytest

from config import ConfigError
from config.types import PLATFORM_TAG_KEYS
from tests.support import STACKS, make_settings, stack_inventory, stack_settings

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


def test_user_tags_that_collide_with_the_platform_tags_are_refused():
    with pytest.raises(ConfigError) as caught:
        make_settings("dev", tags={"environment": "prod", "managed-by": "hand", "team": "data"})
    lines = str(caught.value).splitlines()[1:]
    assert [line.split(": ")[0].strip() for line in lines] == [f"{P}tags.environment", f"{P}tags.managed-by"]
    assert all("the platform sets this tag itself" in line for line in lines)


def test_platform_tag_keys_cover_every_tag_the_program_sets():
    """The reserved list stays in step with base_tags and the components' own tags."""
    user = {"team": "data"}
    assert set(make_settings("dev", tags=user).base_tags) - set(user) <= PLATFORM_TAG_KEYS
    for stack in STACKS:
        for resource in stack_inventory(stack).resources:
            tags = resource.inputs.get("tags")
            if isinstance(tags, dict):
                assert set(tags) <= PLATFORM_TAG_KEYS, (resource.type, resource.name, sorted(tags))


# -- never echo a secret -------------------------------------------------------------

PEM = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n"
TOKEN = "ghp_R2d2C3poBB8aKx0Lm4Nq7Ws9Ty1Uv3Xz5Ab6"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
RANDOM = "Zq8Lr2Vw9Kx4Tn6Hy1Bm3Pd7"


def refusal(overrides: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        stack_settings("dev", overrides)
    return str(caught.value)


def test_a_misspelled_top_level_secret_in_plain_text_is_not_echoed():
    message = refusal({P + "gitSshPrivatekey": PEM})
    assert f'{P}gitSshPrivatekey: given "[secret]"; unknown key; did you mean gitSshPrivateKey?' in message
    assert "b3BlbnNzaC1rZXkt" not in message and "PRIVATE KEY" not in message


@pytest.mark.parametrize("name", ["password", "token", "apiToken", "clientSecret", "privateKey", "sshKey", "Passwd"])
def test_an_unknown_nested_key_named_like_a_secret_is_not_echoed(name):
    message = refusal({P + "dags": {"source": "s3", "s3Sync": {name: "hunter2-is-short"}}})
    assert f'{P}dags.s3Sync.{name}: given "[secret]"; unknown key' in message
    assert "hunter2" not in message


@pytest.mark.parametrize("value", [PEM, TOKEN, AWS_SECRET, RANDOM, "github_pat_11ABCDEFG0123456789_abcdefghijKLMNOP"])
def test_a_secret_shaped_value_under_any_key_is_not_echoed(value):
    message = refusal({P + "dags": {"source": "s3", "s3Sync": {"comment": value}}})
    assert f'{P}dags.s3Sync.comment: given "[secret]"; unknown key' in message
    assert value.strip() not in message and value[4:20] not in message


def test_a_secret_shaped_value_with_a_bad_type_under_a_known_key_is_not_echoed():
    message = refusal({P + "database": {"allocatedStorageGib": TOKEN, "dbName": [AWS_SECRET]}})
    assert f'{P}database.allocatedStorageGib: given "[secret]"; expected a whole number' in message
    assert f'{P}database.dbName: given ["[secret]"]; expected text, not a list' in message
    assert TOKEN not in message and AWS_SECRET not in message


def test_a_secret_inside_a_section_that_is_echoed_whole_is_masked():
    message = refusal({P + "databse": {"multiAz": True, "password": "hunter2-is-short", "note": TOKEN}})
    assert f'{P}databse: given {{"multiAz": true, "password": "[secret]", "note": "[secret]"}}' in message
    assert "did you mean database?" in message


def test_credentials_in_a_repository_url_are_not_echoed():
    dags = {
        "source": "gitSync",
        "gitSync": {"repo": "ssh://bot:hunter2-is-short@git.example.com/dags", "auth": "https"},
    }
    message = refusal({P + "dags": dags, P + "gitHttpsToken": {"secure": "v1:x"}})
    assert f"{P}dags.gitSync.repo:" in message
    assert "hunter2" not in message


def test_ordinary_values_are_still_echoed():
    arn = "arn:aws:iam::111122223333:polcy/DataPlatformBoundary2024"
    message = refusal({P + "irsa": {"permissionsBoundaryArn": arn}})
    assert f'{P}irsa.permissionsBoundaryArn: given "{arn}"' in message


def test_a_plain_text_secret_gives_exactly_one_line():
    git = {"repo": "git@github.com:acme/dags.git", "auth": "ssh", "knownHosts": "github.com ssh-ed25519 AAAAC3"}
    message = refusal({P + "dags": {"source": "gitSync", "gitSync": git}, P + "gitSshPrivateKey": PEM})
    assert message.splitlines()[1:] == [
        f"  {P}gitSshPrivateKey: must be set as a secret, not in plain text: remove it from the stack file and "
        "set it with pulumi config set --secret gitSshPrivateKey"
    ]
