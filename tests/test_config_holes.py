"""Config values that used to slip through (issue 6, "Config holes"): each refused on one line naming its key."""

from __future__ import annotations

from typing import Any

import pytest

from config import ConfigError, Settings
from config.loader import settings_from_flat_config
from offline import REPO, read_stack_config
from tests.support import override, stack_object, stack_settings

P = "airflow-platform:"
DIGEST = "sha256:" + "0123456789abcdef" * 4


def lines_of(stack: str, overrides: dict[str, Any]) -> list[str]:
    """The problem lines for one broken stack file (fails when the config is accepted)."""
    with pytest.raises(ConfigError) as caught:
        stack_settings(stack, overrides)
    return [line.strip() for line in str(caught.value).splitlines()[1:]]


def line_for(stack: str, overrides: dict[str, Any], key: str) -> str:
    """The single line about ``key`` (full key, namespace included)."""
    lines = lines_of(stack, overrides)
    found = [line for line in lines if line.startswith(f"{key}: ")]
    assert len(found) == 1, lines
    return found[0]


# -- world-open CIDRs in prod ------------------------------------------------------------


@pytest.mark.parametrize(
    ("cidrs", "everything"),
    [
        (["10.60.0.0/22", "0.0.0.0/0"], "0.0.0.0/0"),
        (["::/0"], "::/0"),
        (["0.0.0.0/1", "128.0.0.0/1"], "0.0.0.0/0"),
        (["2001:db8::/56", "::/1", "8000::/1"], "::/0"),
    ],
)
def test_prod_front_door_open_to_the_world_is_refused(cidrs, everything):
    front_door = {**stack_object("prod", "frontDoor"), "clientCidrs": cidrs, "ipAddressType": "dualstack"}
    line = line_for("prod", {f"{P}frontDoor": front_door}, f"{P}frontDoor.clientCidrs")
    assert f"prod must not admit the whole internet ({everything}, alone or together)" in line


def test_world_open_clients_are_a_prod_rule_and_ipv6_blocks_are_cidrs():
    uat = stack_settings("uat", override("uat", "frontDoor.clientCidrs", ["0.0.0.0/0"]))
    assert uat.front_door.client_cidrs == ["0.0.0.0/0"]
    ipv6 = ["10.60.0.0/22", "2001:db8:1234::/48"]
    front_door = {**stack_object("prod", "frontDoor"), "clientCidrs": ipv6, "ipAddressType": "dualstack"}
    assert stack_settings("prod", {f"{P}frontDoor": front_door}).front_door.client_cidrs == ipv6


def test_prod_public_endpoint_open_to_the_world_in_halves_is_refused():
    cluster = {
        "mode": "create",
        "name": "data-prod",
        "create": {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/1", "128.0.0.0/1"]},
    }
    line = line_for("prod", {P + "cluster": cluster}, f"{P}cluster.create.publicAccessCidrs")
    assert "prod must not admit the whole internet (0.0.0.0/0" in line


def test_ipv6_world_on_the_eks_public_endpoint_is_named_as_the_whole_internet():
    key = f"{P}cluster.create.publicAccessCidrs[0]"
    line = line_for("dev", override("dev", "cluster.create.publicAccessCidrs", ["::/0"]), key)
    assert line.startswith(f'{key}: given "::/0"; ')
    assert "::/0 admits the whole internet" in line and "IPv4 blocks only" in line


# -- images ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("repository", "reason"),
    [
        ("apache/airflow:latest", "it carries a tag"),
        ("apache/airflow:3.1.7", "it carries a tag"),
        ("registry.local:5000/airflow:3.1.7", "it carries a tag"),
        (f"apache/airflow@{DIGEST}", "it carries a digest"),
        ("Apache/Airflow", "path parts are lowercase"),
        ("registry_local:5000/airflow", "registry host"),
    ],
)
def test_airflow_image_repository_with_a_tag_or_digest_is_refused(repository, reason):
    line = line_for("dev", {P + "airflow": {"image": {"repository": repository}}}, f"{P}airflow.image.repository")
    assert reason in line and "expected an image repository without tag or digest" in line


@pytest.mark.parametrize(
    "repository",
    [
        "apache/airflow",
        "registry.local:5000/airflow",
        "localhost/airflow",
        "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/airflow",
    ],
)
def test_airflow_image_repositories_without_tag_are_accepted(repository):
    settings = stack_settings("dev", {P + "airflow": {"image": {"repository": repository}}})
    assert settings.airflow.image.repository == repository


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        ("public.ecr.aws/aws-cli/aws-cli", "it has no tag or digest"),
        ("registry.local:5000/aws-cli", "it has no tag or digest"),
        ("amazon/aws-cli:latest", "the tag 'latest' is not a version"),
        ("amazon/aws-cli@sha256:1234", "the digest is not sha256:<64 hex digits>"),
    ],
)
def test_s3_sync_image_must_be_pinned_and_says_so(image, reason):
    line = line_for("dev", override("dev", "dags.s3Sync", {"image": image}), f"{P}dags.s3Sync.image")
    assert reason in line and "expected a pinned image: a repository with a version tag or a digest" in line


@pytest.mark.parametrize(
    "image",
    ["amazon/aws-cli:2.22.35", "registry.local:5000/aws-cli:2.22.35", f"public.ecr.aws/aws-cli/aws-cli@{DIGEST}"],
)
def test_pinned_s3_sync_images_are_accepted(image):
    assert stack_settings("dev", override("dev", "dags.s3Sync", {"image": image})).dags.s3_sync.image == image


# -- paths -----------------------------------------------------------------------------

PATH_TRICKS = [
    ("../dags", "'.' and '..' segments"),
    ("team/../../other", "'.' and '..' segments"),
    ("./dags", "'.' and '..' segments"),
    ("dags/.", "'.' and '..' segments"),
    ("team//dags", "empty path segments"),
    ("/dags", "a leading '/'"),
    ("dags/", "a trailing '/'"),
    ("my dags", "spaces and other characters"),
    ("dags\\evil", "spaces and other characters"),
    ("dags\n", "spaces and other characters"),
]
PATH_KEYS = [
    ("dags.s3Prefix", lambda value: override("dev", "dags.s3Prefix", value)),
    ("airflow.logPrefix", lambda value: {P + "airflow": {"logPrefix": value}}),
    (
        "dags.gitSync.subPath",
        lambda value: {
            P + "dags": {
                "source": "gitSync",
                "gitSync": {"repo": "https://x.example/d.git", "auth": "https", "username": "b", "subPath": value},
            },
            P + "gitHttpsToken": {"secure": "v1:x"},
        },
    ),
]


@pytest.mark.parametrize(("key", "overrides"), PATH_KEYS, ids=[k for k, _ in PATH_KEYS])
@pytest.mark.parametrize(("value", "reason"), PATH_TRICKS, ids=[v for v, _ in PATH_TRICKS])
def test_path_tricks_are_refused(key, overrides, value, reason):
    line = line_for("dev", overrides(value), f"{P}{key}")
    assert reason in line and "expected a relative path such as" in line


def test_clean_relative_paths_are_accepted():
    settings = stack_settings("dev", {**PATH_KEYS[1][1]("airflow/task-logs.v2"), **PATH_KEYS[2][1]("")})
    assert settings.airflow.log_prefix == "airflow/task-logs.v2"
    assert settings.dags.git_sync is not None and settings.dags.git_sync.sub_path == ""
    assert stack_settings("dev", PATH_KEYS[0][1]("team-a/v1.2/dags")).dags.s3_prefix == "team-a/v1.2/dags"


# -- tags ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "key", "reason"),
    [
        ({"aws:team": "x"}, 'tags["aws:team"]', "reserved by AWS"),
        ({"AWS:Team": "x"}, 'tags["AWS:Team"]', "reserved by AWS"),
        ({"": "x"}, 'tags[""]', "must not be empty"),
        ({"k" * 129: "x"}, "tags." + "k" * 129, "at most 128 characters, this one has 129"),
        ({"team": "v" * 257}, "tags.team", "at most 256 characters, this one has 257"),
        (
            {"team#1": "x"},
            'tags["team#1"]',
            "'#' not allowed; AWS tags take letters, digits, spaces and _ . : / = + - @",
        ),
        ({"team": "a*b!"}, "tags.team", "'!', '*' not allowed"),
        ({"Name": "mine"}, "tags.Name", "the platform sets this tag itself"),
    ],
)
def test_tags_aws_refuses_are_refused(tags, key, reason):
    line = line_for("dev", {P + "tags": tags}, f"{P}{key}")
    assert reason in line


def test_too_many_tags_are_refused():
    line = line_for("dev", {P + "tags": {f"t{i}": "x" for i in range(41)}}, f"{P}tags")
    assert "expected at most 40 entries" in line


def test_tags_aws_accepts_are_accepted():
    tags = {"cost center": "a_b.c:d/e=f+g-h@i", "Équipe": "données", "ticket": 1234, "Environment": "common"}
    assert stack_settings("dev", {P + "tags": tags}).tags == {**tags, "ticket": "1234"}


# -- namespaces and unknown keys -----------------------------------------------------------


def flat(stack: str, extra: dict[str, str]) -> list[str]:
    config = read_stack_config(REPO, stack)
    with pytest.raises(ConfigError) as caught:
        settings_from_flat_config({**config.values, **extra}, config.secret_keys, stack)
    return [line.strip() for line in str(caught.value).splitlines()[1:]]


def test_a_misspelt_project_namespace_is_refused_with_the_closest_key():
    kms = '{"kmsKeyArn": "arn:aws:kms:eu-west-1:111122223333:key/9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"}'
    assert flat("prod", {"airflow-platfrom:encryption": kms}) == [
        "airflow-platfrom:encryption: unknown namespace airflow-platfrom; did you mean airflow-platform:encryption? "
        "(this program reads only airflow-platform, aws, eks, kubernetes, pulumi, random, tls)"
    ]


def test_a_misspelt_provider_namespace_is_refused_without_echoing_its_value():
    [line] = flat("dev", {"kubernets:context": "ghp_R2d2C3poBB8aKx0Lm4Nq7Ws9Ty1Uv3Xz5Ab6"})
    assert line.startswith("kubernets:context: unknown namespace kubernets; did you mean kubernetes:context?")
    assert "ghp_" not in line


def test_namespace_problems_come_with_the_other_problems():
    lines = flat("dev", {"airflowplatform:tags": "{}", P + "database": '{"multiAz": "maybe"}'})
    assert [line.split(": ")[0] for line in lines] == ["airflowplatform:tags", f"{P}database.multiAz"]


def test_a_key_without_any_namespace_is_refused():
    [line] = flat("dev", {"encryption": "{}"})
    assert line.startswith("encryption: a key without a namespace; did you mean airflow-platform:encryption?")


def test_provider_and_pulumi_namespaces_are_read():
    config = read_stack_config(REPO, "dev")
    extra = {"aws:profile": "data", "pulumi:disable-default-providers": '["kubernetes"]', "random:x": "1", "tls:y": "2"}
    settings = settings_from_flat_config({**config.values, **extra}, config.secret_keys, "dev")
    assert isinstance(settings, Settings)


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("databse", "did you mean database?"),
        ("gitHttpToken", "did you mean gitHttpsToken?"),
        ("database.instanceClass", "set them with pulumi config set --path 'database.instanceClass' VALUE"),
    ],
)
def test_an_unknown_project_key_suggests_the_closest_key(key, hint):
    line = line_for("dev", {P + key: "x"}, f"{P}{key}")
    assert hint in line


def test_an_unknown_nested_key_suggests_the_closest_key():
    line = line_for("dev", {P + "database": {"instanceClas": "db.t4g.large"}}, f"{P}database.instanceClas")
    assert "did you mean instanceClass?" in line


# -- YAML numbers and booleans where text is expected --------------------------------------


def test_yaml_numbers_and_booleans_for_text_keys_keep_their_obvious_meaning():
    sizing = {
        "replicas": 1,
        "resources": {"requests": {"cpu": 0.5, "memory": "1Gi"}, "limits": {"cpu": 2, "memory": "2Gi"}},
    }
    settings = stack_settings(
        "dev",
        {
            **override("dev", "database.engineVersion", 17),
            P + "airflow": {"exposeConfig": False, "scheduler": sizing},
            P + "tags": {"critical": True},
        },
    )
    assert settings.database.engine_version == "17"
    assert settings.airflow.expose_config == "False"
    assert settings.airflow.scheduler.resources.requests.cpu == "0.5"
    assert settings.airflow.scheduler.resources.limits.cpu == "2"
    assert settings.tags == {"critical": "True"}
    assert settings.database.allocated_storage_gib == 20 and settings.database.multi_az is False


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (override("dev", "database.engineVersion", 17.1), "database.engineVersion"),
        (override("dev", "cluster.create.version", 1.3), "cluster.create.version"),
    ],
)
def test_decimals_that_may_have_lost_digits_must_be_quoted(overrides, key):
    line = line_for("dev", overrides, f"{P}{key}")
    assert "YAML reads this unquoted value as a number and may drop digits" in line
    assert 'write it in quotes, e.g. "1.30"' in line
    assert "valid string" not in line and "should be" not in line
