"""Cross-field and per-environment rules of the identity and secrets config (config/identity.py).

Plain functions returning Problems, with the full key of each problem. They take the pieces they
check (not Settings) so they can be registered as `lambda s: auth_problems(s.environment, …)`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from config.errors import Problem
from config.identity import (
    OIDC_CLIENT_SECRET_KEY,
    AuthConfig,
    DagPublisherConfig,
    SecretsBackendConfig,
    publisher_role_name,
)

AUTH = "airflow.auth"
SECRETS_BACKEND = "airflow.secretsBackend"
PUBLISHERS = "dags.publishers"
_OIDC_ONLY = ("issuer_url", "client_id", "groups_claim", "username_claim", "scopes", "role_mapping", "default_role")


def _alias(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(part.title() for part in rest)


def auth_problems(environment: str, auth: AuthConfig, admin_user_create: bool = False) -> list[Problem]:
    """Each login type's required keys; prod always has a documented way in."""
    problems: list[Problem] = []
    if auth.type == "oidc":
        if auth.issuer_url is None:
            problems.append(Problem(f"{AUTH}.issuerUrl", "required with type oidc, such as https://login.example.com"))
        if auth.client_id is None:
            problems.append(Problem(f"{AUTH}.clientId", "required with type oidc: the OAuth client id at the issuer"))
        if not any(auth.role_mapping.values()):
            problems.append(
                Problem(
                    f"{AUTH}.roleMapping",
                    "required with type oidc: map IdP groups to Airflow roles, such as {Admin: [airflow-admins]}",
                )
            )
        elif environment == "prod" and not auth.role_mapping.get("Admin"):
            problems.append(
                Problem(f"{AUTH}.roleMapping.Admin", "prod requires at least one group mapped to Admin", [])
            )
        if auth.break_glass_admin is not None:
            problems.append(
                Problem(
                    f"{AUTH}.breakGlassAdmin",
                    "only with type password: with oidc the UI has no password login",
                    "(set)",
                )
            )
        if admin_user_create:
            problems.append(
                Problem(
                    "airflow.adminUser.create",
                    "must be false with airflow.auth.type oidc: the UI has no password login",
                    True,
                )
            )
        return problems
    for field in _OIDC_ONLY:
        if field in auth.model_fields_set:
            problems.append(Problem(f"{AUTH}.{_alias(field)}", "only with type oidc", getattr(auth, field)))
    if environment == "prod" and auth.break_glass_admin is None:
        problems.append(
            Problem(
                f"{AUTH}.breakGlassAdmin",
                "prod with type password requires a break-glass admin (email, optionally username) so there is "
                "a documented way in; or use type oidc",
            )
        )
    if auth.break_glass_admin is not None and admin_user_create:
        problems.append(
            Problem(
                "airflow.adminUser.create",
                "must be false when airflow.auth.breakGlassAdmin is set: the create-user job creates that admin",
                True,
            )
        )
    return problems


def sso_transport_problems(auth: AuthConfig, *, front_door_tls: bool, front_door_type: str) -> list[Problem]:
    """OIDC login needs the UI behind an ALB with TLS.

    The login code and the session cookie must not travel in clear; and FAB builds the callback
    it sends the identity provider from X-Forwarded-Proto (`[fab] enable_proxy_fix`), which only an
    ALB adds: behind an NLB the callback is http://..., which no https registration matches.
    """
    if auth.type != "oidc":
        return []
    problems = []
    if front_door_type != "alb":
        problems.append(
            Problem(
                "frontDoor.type",
                "must be alb with airflow.auth.type oidc: an NLB adds no X-Forwarded-Proto, so the login would "
                "send the identity provider an http:// redirect URI that does not match the registered https one",
                front_door_type,
            )
        )
    if not front_door_tls:
        problems.append(
            Problem(
                "frontDoor.certificateArn",
                "required with airflow.auth.type oidc: identity providers send the login code to an https "
                "redirect URI, and the session cookie must not travel in clear",
            )
        )
    return problems


def image_problems(tag_suffix: str) -> list[Problem]:
    """The official images for Python 3.13 and later leave out the FAB provider (and authlib) every login needs."""
    match = re.search(r"python3\.(\d+)", tag_suffix)
    if match and int(match.group(1)) >= 13:
        return [
            Problem(
                "airflow.image.tagSuffix",
                "the official Airflow images for Python 3.13 and later do not include the FAB provider and authlib "
                "that the UI login needs; use the default image (empty) or -python3.12",
                tag_suffix,
            )
        ]
    return []


def auth_secret_problems(auth: AuthConfig, present: frozenset[str]) -> list[Problem]:
    """The OIDC client secret is set (as a Pulumi secret) exactly when the login needs it."""
    if auth.type == "oidc" and OIDC_CLIENT_SECRET_KEY not in present:
        return [
            Problem(
                OIDC_CLIENT_SECRET_KEY,
                f"required for airflow.auth type oidc: pulumi config set --secret {OIDC_CLIENT_SECRET_KEY} "
                "(the client secret from the identity provider)",
            )
        ]
    if auth.type != "oidc" and OIDC_CLIENT_SECRET_KEY in present:
        return [
            Problem(
                OIDC_CLIENT_SECRET_KEY,
                f"only used with airflow.auth type oidc; remove it with pulumi config rm {OIDC_CLIENT_SECRET_KEY}",
            )
        ]
    return []


def _nested(first: str, second: str) -> bool:
    return first == second or second.startswith(first + "/") or first.startswith(second + "/")


def secrets_backend_problems(instance: str, region: str, backend: SecretsBackendConfig) -> list[Problem]:
    """Distinct prefixes, and a key in the stack's region."""
    if not backend.enabled:
        return []
    problems = []
    connections, variables = backend.prefixes(instance)
    if _nested(connections, variables):
        problems.append(
            Problem(
                f"{SECRETS_BACKEND}.variablesPrefix",
                f"must not equal or nest with the connections prefix {connections!r}, or a variable could be read "
                "as a connection",
                variables,
            )
        )
    key = backend.kms_key_arn
    if key and key.split(":")[3] != region:
        problems.append(Problem(f"{SECRETS_BACKEND}.kmsKeyArn", f"must be in the stack's region {region}", key))
    return problems


def publisher_problems(dags_source: str, publishers: Sequence[DagPublisherConfig], aws_prefix: str) -> list[Problem]:
    """Publishers need S3 delivery, one ref or environment each, distinct names and separate folders.

    ``aws_prefix`` is `<namePrefix>-<instanceName>`, the start of every role name the stack derives.
    """
    if not publishers:
        return []
    if dags_source != "s3":
        return [Problem(PUBLISHERS, "only with dags.source s3: publishers write to the DAG bucket", "(set)")]
    problems: list[Problem] = []
    for index, publisher in enumerate(publishers):
        key = f"{PUBLISHERS}[{index}]"
        if (publisher.ref is None) == (publisher.environment is None):
            problems.append(
                Problem(
                    key,
                    "give exactly one of ref (such as refs/heads/main) or environment (such as prod): a job that "
                    "names a GitHub environment gets a token for the environment, not the branch",
                )
            )
        role = publisher_role_name(aws_prefix, publisher.name)
        if len(role) > 64:
            problems.append(
                Problem(
                    f"{key}.name",
                    f"gives IAM role name {role!r} ({len(role)} characters), which IAM allows 64; shorten it",
                    publisher.name,
                )
            )
    for (i, first), (j, second) in itertools.combinations(enumerate(publishers), 2):
        if first.name == second.name:
            problems.append(Problem(f"{PUBLISHERS}[{j}].name", f"already used by {PUBLISHERS}[{i}]", second.name))
        if _nested(first.folder, second.folder):
            problems.append(
                Problem(
                    f"{PUBLISHERS}[{j}].folder",
                    f"must not equal or nest with {PUBLISHERS}[{i}].folder {first.folder!r}: each publisher owns "
                    "its folder alone",
                    second.folder,
                )
            )
    return problems
