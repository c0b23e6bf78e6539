"""Identity and secrets config: field checks in words, cross-field and prod rules, full keys."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from config import build_settings
from config.errors import ConfigError, problems_from_validation
from config.identity import (
    OIDC_CLIENT_SECRET_KEY,
    AuthConfig,
    DagPublisherConfig,
    GuardrailsConfig,
    SecretsBackendConfig,
    publisher_role_name,
)
from config.identity_rules import (
    auth_problems,
    auth_secret_problems,
    image_problems,
    publisher_problems,
    secrets_backend_problems,
    sso_transport_problems,
)
from tests.support import AIRFLOW_ACCESS, FRONT_DOOR, REGION, minimal_raw

OIDC = {
    "type": "oidc",
    "issuerUrl": "https://login.example.com/realms/acme",
    "clientId": "airflow-prod",
    "roleMapping": {"Admin": ["platform-admins"], "Viewer": ["analysts"]},
}
BREAK_GLASS = {"email": "airflow-admins@example.com"}


def lines(model: type[BaseModel], raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(raw)
    return [str(p).removeprefix("airflow-platform:") for p in problems_from_validation(caught.value)]


def keys(problems: list[Any]) -> list[str]:
    return [p.key for p in problems]


def test_defaults_are_password_login_secrets_backend_on_and_restricted_pods() -> None:
    auth = AuthConfig()
    assert (auth.type, auth.groups_claim, auth.scopes, auth.role_mapping) == (
        "password",
        "groups",
        ["openid", "email", "profile"],
        {},
    )
    assert SecretsBackendConfig().prefixes("uat") == ("airflow/uat/connections", "airflow/uat/variables")
    guardrails = GuardrailsConfig()
    assert (guardrails.resource_quota, guardrails.pod_security, guardrails.launched_pods) == (True, "restricted", 0)


def test_auth_fields_are_explained_in_words() -> None:
    problems = lines(
        AuthConfig,
        {
            "type": "oidc",
            "issuerUrl": "https://login.example.com/.well-known/openid-configuration",
            "clientId": "has space",
            "groupsClaim": "groups claim",
            "scopes": ["email"],
            "roleMapping": {"Owner": ["x"], "Admin": ["{{ .Values }}"]},
        },
    )
    assert problems == [
        'issuerUrl: given "https://login.example.com/.well-known/openid-configuration"; give the issuer, not its '
        "discovery document (the program adds /.well-known/...); expected the issuer's https:// URL, such as "
        "https://login.example.com/realms/acme",
        'clientId: given "has space"; expected the OAuth client id registered at the issuer: 1-255 characters, '
        "no spaces or braces",
        'groupsClaim: given "groups claim"; expected a claim name of letters, digits and _ : . / -, such as groups '
        "or cognito:groups",
        'scopes: given ["email"]; must include openid: the verified ID token carries the user\'s claims',
        "roleMapping.Owner: key not allowed: expected one of Admin, Op, User, Viewer",
        'roleMapping.Admin[0]: given "{{ .Values }}"; expected a group name as the IdP sends it in the groups '
        "claim: 1-256 printable characters without braces or surrounding spaces, such as airflow-admins",
    ]


def test_a_client_secret_in_the_stack_file_is_refused_and_never_echoed() -> None:
    with pytest.raises(ValidationError) as caught:
        AuthConfig.model_validate({**OIDC, "clientSecret": "xyz-client-secret"})
    error = ConfigError(problems_from_validation(caught.value))
    assert 'clientSecret: given "[secret]"; unknown key' in str(error)
    assert "xyz-client-secret" not in str(error)


def test_publisher_fields_are_explained_in_words() -> None:
    problems = lines(
        DagPublisherConfig,
        {"name": "Team_A", "repository": "acme", "ref": "main", "folder": "../x"},
    )
    assert [p.split(";")[0] for p in problems] == [
        'name: given "Team_A"',
        'repository: given "acme"',
        'ref: given "main"',
        'folder: given "../x"',
    ]
    assert "refs/heads/main" in problems[2]


def test_oidc_needs_issuer_client_and_a_mapping() -> None:
    problems = auth_problems("dev", AuthConfig(type="oidc"))
    assert keys(problems) == ["airflow.auth.issuerUrl", "airflow.auth.clientId", "airflow.auth.roleMapping"]
    assert auth_problems("prod", AuthConfig.model_validate(OIDC)) == []


def test_prod_oidc_maps_someone_to_admin() -> None:
    viewers_only = AuthConfig.model_validate({**OIDC, "roleMapping": {"Viewer": ["analysts"]}})
    assert keys(auth_problems("prod", viewers_only)) == ["airflow.auth.roleMapping.Admin"]
    assert auth_problems("uat", viewers_only) == []


def test_oidc_needs_a_tls_front_door_in_every_environment() -> None:
    auth = AuthConfig.model_validate(OIDC)
    [problem] = sso_transport_problems(auth, front_door_tls=False, front_door_type="alb")
    assert problem.key == "frontDoor.certificateArn" and "required with airflow.auth.type oidc" in str(problem)
    assert sso_transport_problems(auth, front_door_tls=True, front_door_type="alb") == []
    assert sso_transport_problems(AuthConfig(), front_door_tls=False, front_door_type="nlb") == []  # password login


def test_oidc_behind_an_nlb_is_refused_with_the_reason() -> None:
    [problem] = sso_transport_problems(AuthConfig.model_validate(OIDC), front_door_tls=True, front_door_type="nlb")
    assert str(problem) == (
        'airflow-platform:frontDoor.type: given "nlb"; must be alb with airflow.auth.type oidc: an NLB adds no '
        "X-Forwarded-Proto, so the login would send the identity provider an http:// redirect URI that does not "
        "match the registered https one"
    )


def test_a_stack_with_oidc_behind_an_nlb_is_refused() -> None:
    raw = minimal_raw(
        airflow={**AIRFLOW_ACCESS, "auth": OIDC, "adminUser": {"create": False}},
        frontDoor={**FRONT_DOOR, "type": "nlb"},
    )
    raw[OIDC_CLIENT_SECRET_KEY] = "client-secret-from-pulumi"
    with pytest.raises(ConfigError) as caught:
        build_settings(raw, stack="uat", region=REGION, secret_keys=frozenset({OIDC_CLIENT_SECRET_KEY}))
    assert [p.key for p in caught.value.problems] == ["frontDoor.type"]


def test_oidc_has_no_password_accounts() -> None:
    auth = AuthConfig.model_validate({**OIDC, "breakGlassAdmin": BREAK_GLASS})
    assert keys(auth_problems("dev", auth, admin_user_create=True)) == [
        "airflow.auth.breakGlassAdmin",
        "airflow.adminUser.create",
    ]


def test_prod_password_login_requires_a_break_glass_admin() -> None:
    [problem] = auth_problems("prod", AuthConfig())
    assert problem.key == "airflow.auth.breakGlassAdmin"
    assert "documented way in" in problem.message
    assert auth_problems("prod", AuthConfig.model_validate({"breakGlassAdmin": BREAK_GLASS})) == []
    assert auth_problems("dev", AuthConfig()) == []


def test_password_login_refuses_oidc_keys_and_a_second_admin_job() -> None:
    auth = AuthConfig.model_validate(
        {"issuerUrl": OIDC["issuerUrl"], "groupsClaim": "roles", "breakGlassAdmin": BREAK_GLASS}
    )
    assert keys(auth_problems("dev", auth, admin_user_create=True)) == [
        "airflow.auth.issuerUrl",
        "airflow.auth.groupsClaim",
        "airflow.adminUser.create",
    ]


def test_the_client_secret_is_a_pulumi_secret_exactly_when_oidc_needs_it() -> None:
    oidc = AuthConfig.model_validate(OIDC)
    [missing] = auth_secret_problems(oidc, frozenset())
    assert missing.key == OIDC_CLIENT_SECRET_KEY == "airflowOidcClientSecret"
    assert f"pulumi config set --secret {OIDC_CLIENT_SECRET_KEY}" in missing.message
    assert auth_secret_problems(oidc, frozenset({OIDC_CLIENT_SECRET_KEY})) == []
    [unused] = auth_secret_problems(AuthConfig(), frozenset({OIDC_CLIENT_SECRET_KEY}))
    assert "pulumi config rm" in unused.message


def test_login_needs_an_image_with_the_fab_provider() -> None:
    assert keys(image_problems("-python3.13")) == ["airflow.image.tagSuffix"]
    assert image_problems("-python3.12") == image_problems("") == []


def test_secrets_backend_prefixes_stay_apart_and_the_key_in_region() -> None:
    backend = SecretsBackendConfig.model_validate(
        {
            "connectionsPrefix": "airflow/prod",
            "variablesPrefix": "airflow/prod/variables",
            "kmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/abc",
        }
    )
    assert keys(secrets_backend_problems("prod", "eu-west-1", backend)) == [
        "airflow.secretsBackend.variablesPrefix",
        "airflow.secretsBackend.kmsKeyArn",
    ]
    assert secrets_backend_problems("prod", "eu-west-1", SecretsBackendConfig()) == []


def publisher(**fields: Any) -> DagPublisherConfig:
    return DagPublisherConfig.model_validate(
        {"name": "team-a", "repository": "acme/dags", "ref": "refs/heads/main", "folder": "team-a", **fields}
    )


def test_publishers_need_s3_and_one_ref_or_environment() -> None:
    assert keys(publisher_problems("gitSync", [publisher()], "etl-airflow-prod")) == ["dags.publishers"]
    both = publisher(environment="prod")
    neither = publisher(name="team-b", folder="team-b", ref=None)
    assert keys(publisher_problems("s3", [both, neither], "etl-airflow-prod")) == [
        "dags.publishers[0]",
        "dags.publishers[1]",
    ]
    assert publisher_problems("s3", [publisher()], "etl-airflow-prod") == []


def test_publishers_have_distinct_names_separate_folders_and_short_role_names() -> None:
    found = publisher_problems(
        "s3",
        [publisher(), publisher(folder="team-a/etl"), publisher(name="b" * 24, folder="b")],
        "a-much-longer-name-prefix-airflow-prod",
    )
    assert keys(found) == ["dags.publishers[2].name", "dags.publishers[1].name", "dags.publishers[1].folder"]
    assert "64" in found[0].message
    assert publisher_role_name("etl-airflow-prod", "team-a") == "etl-airflow-prod-publish-team-a"
