"""Config models of identity and secrets: UI login, the Secrets Manager backend, DAG publishers, guardrails.

Where they go in the stack config: `airflow.auth` (`AuthConfig`), `airflow.secretsBackend`
(`SecretsBackendConfig`), `airflow.guardrails` (`GuardrailsConfig`), `dags.publishers` (a list of
`DagPublisherConfig`) and `dags.githubOidcProvider` (`GithubOidcProvider`). Cross-field and
per-environment rules live in config/identity_rules.py. The OIDC client secret is never a field
here: it is the Pulumi secret `airflowOidcClientSecret` (`OIDC_CLIENT_SECRET_KEY`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, field_validator

from config.models import Model
from config.quantities import Quantities, Resources
from config.types import AirflowUserName, EmailAddress, KmsKeyArn, git_ref_problem, relative_path_problem

OIDC_CLIENT_SECRET_KEY = "airflowOidcClientSecret"
AirflowRole = Literal["Admin", "Op", "User", "Viewer"]
GithubOidcProvider = Literal["create", "existing"]


def _check(problem_of: Callable[[str], str | None]) -> AfterValidator:
    def check(value: str) -> str:
        problem = problem_of(value)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


def _printable(value: str) -> bool:
    return value.isprintable() and value == value.strip()


def issuer_url_problem(value: str) -> str | None:
    """Why ``value`` is not an OpenID Connect issuer URL, or None."""
    rule = "expected the issuer's https:// URL, such as https://login.example.com/realms/acme"
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        return f"must start with https:// and name a host; {rule}"
    if parts.query or parts.fragment or not _printable(value) or " " in value or "{" in value or "}" in value:
        return f"no query, fragment, spaces or braces; {rule}"
    if value.rstrip("/").endswith("/.well-known/openid-configuration"):
        return f"give the issuer, not its discovery document (the program adds /.well-known/...); {rule}"
    return None


def _client_id_problem(value: str) -> str | None:
    if not value or len(value) > 255 or not _printable(value) or re.search(r"[\s{}]", value):
        return "expected the OAuth client id registered at the issuer: 1-255 characters, no spaces or braces"
    return None


def _claim_problem(value: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z0-9_:./-]{1,128}", value):
        return "expected a claim name of letters, digits and _ : . / -, such as groups or cognito:groups"
    return None


def _scope_problem(value: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z0-9_:./-]{1,128}", value):
        return "expected one scope per item (letters, digits and _ : . / -), such as openid"
    return None


def _group_problem(value: str) -> str | None:
    if not value or len(value) > 256 or not _printable(value) or "{" in value or "}" in value:
        return (
            "expected a group name as the IdP sends it in the groups claim: 1-256 printable characters without "
            "braces or surrounding spaces, such as airflow-admins"
        )
    return None


def _secret_prefix_problem(value: str) -> str | None:
    return relative_path_problem(value, "airflow/prod/connections")


def _publisher_name_problem(value: str) -> str | None:
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?", value):
        return "expected 1-24 lowercase letters, digits and '-', starting and ending with a letter or digit, such as team-a"
    return None


_REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}(@\d+)?/[A-Za-z0-9_.-]{1,100}(@\d+)?")


def _repository_problem(value: str) -> str | None:
    if not _REPOSITORY.fullmatch(value) or value.split("/")[1].split("@")[0] in {".", ".."}:
        return (
            "expected a GitHub repository ORG/REPO spelt as GitHub shows it, such as acme/airflow-dags "
            "(or ORG@ID/REPO@ID for immutable subject claims)"
        )
    return None


def _full_ref_problem(value: str) -> str | None:
    rule = "expected a full git ref such as refs/heads/main or refs/tags/v1.2.0"
    for prefix in ("refs/heads/", "refs/tags/"):
        if value.startswith(prefix):
            problem = git_ref_problem(value.removeprefix(prefix))
            return f"{problem.split(';')[0]}; {rule}" if problem else None
    return f"must start with refs/heads/ or refs/tags/ (the token's subject carries the full ref); {rule}"


def _environment_problem(value: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,255}", value):
        return "expected a GitHub environment name of letters, digits, '_', '.' and '-', such as prod"
    return None


def _folder_problem(value: str) -> str | None:
    return relative_path_problem(value, "team-a or team-a/etl")


IssuerUrl = Annotated[str, _check(issuer_url_problem)]
OAuthClientId = Annotated[str, _check(_client_id_problem)]
ClaimName = Annotated[str, _check(_claim_problem)]
OAuthScope = Annotated[str, _check(_scope_problem)]
IdpGroup = Annotated[str, _check(_group_problem)]
SecretsPrefix = Annotated[str, _check(_secret_prefix_problem)]
PublisherName = Annotated[str, _check(_publisher_name_problem)]
GithubRepository = Annotated[str, _check(_repository_problem)]
FullGitRef = Annotated[str, _check(_full_ref_problem)]
GithubEnvironment = Annotated[str, _check(_environment_problem)]
PublisherFolder = Annotated[str, _check(_folder_problem)]


class BreakGlassAdminConfig(Model):
    """The one Airflow Admin with a generated password, for `auth.type: password` (prod's way in)."""

    username: AirflowUserName = Field(default="break-glass-admin", description="user name")
    email: EmailAddress = Field(description="e-mail of the team owning the account, such as airflow-admins@example.com")
    first_name: str = Field(default="Break-Glass", min_length=1, max_length=64, description="first name")
    last_name: str = Field(default="Admin", min_length=1, max_length=64, description="last name")


class AuthConfig(Model):
    """How people log in to the Airflow UI."""

    type: Literal["oidc", "password"] = Field(
        default="password",
        description="oidc (company identity provider, roles from groups) or password (accounts in the metadata DB)",
    )
    issuer_url: IssuerUrl | None = Field(
        default=None, description="OpenID Connect issuer, such as https://login.example.com/realms/acme (type oidc)"
    )
    client_id: OAuthClientId | None = Field(
        default=None,
        description="OAuth client id at the issuer (type oidc); its secret is the Pulumi secret airflowOidcClientSecret",
    )
    groups_claim: ClaimName = Field(
        default="groups", description="claim holding the user's groups, such as groups or cognito:groups (type oidc)"
    )
    username_claim: ClaimName = Field(
        default="email", description="claim used as the Airflow user name, such as email or preferred_username"
    )
    scopes: list[OAuthScope] = Field(
        default=["openid", "email", "profile"],
        min_length=1,
        description="scopes requested at login; must include openid (add the IdP's groups scope if it has one)",
    )
    role_mapping: dict[AirflowRole, list[IdpGroup]] = Field(
        default={},
        description="Airflow role (Admin, Op, User, Viewer) -> IdP groups granting it; roles are synced at every login",
    )
    default_role: Literal["Viewer"] | None = Field(
        default=None, description="role of users none of whose groups is mapped: Viewer; default: no access"
    )
    break_glass_admin: BreakGlassAdminConfig | None = Field(
        default=None, description="Admin with a generated password (secret stack output), for type password"
    )

    @field_validator("scopes")
    @classmethod
    def _openid_scope(cls, value: list[str]) -> list[str]:
        if "openid" not in value:
            raise ValueError("must include openid: the verified ID token carries the user's claims")
        if len(set(value)) != len(value):
            raise ValueError("expected each scope once")
        return value


class SecretsBackendConfig(Model):
    """Airflow connections and variables from AWS Secrets Manager."""

    enabled: bool = Field(default=True, description="read connections and variables from Secrets Manager")
    connections_prefix: SecretsPrefix | None = Field(
        default=None, description="secret-name prefix of connections; default: airflow/<instanceName>/connections"
    )
    variables_prefix: SecretsPrefix | None = Field(
        default=None, description="secret-name prefix of variables; default: airflow/<instanceName>/variables"
    )
    kms_key_arn: KmsKeyArn | None = Field(
        default=None, description="customer KMS key the secrets are encrypted with; default: the AWS-managed key"
    )

    def prefixes(self, instance: str) -> tuple[str, str]:
        """The connections and variables prefixes, defaults filled in."""
        return (
            self.connections_prefix or f"airflow/{instance}/connections",
            self.variables_prefix or f"airflow/{instance}/variables",
        )


class DagPublisherConfig(Model):
    """A GitHub repository allowed to publish one folder of DAGs to the DAG bucket."""

    name: PublisherName = Field(description="short id, such as team-a: names the IAM role and its ARN output")
    repository: GithubRepository = Field(description="GitHub repository ORG/REPO, such as acme/airflow-dags")
    ref: FullGitRef | None = Field(
        default=None, description="full git ref allowed to publish, such as refs/heads/main (or give environment)"
    )
    environment: GithubEnvironment | None = Field(
        default=None, description="GitHub environment allowed to publish, such as prod (or give ref)"
    )
    folder: PublisherFolder = Field(description="folder under the DAG prefix this publisher owns, such as team-a")


class GuardrailsConfig(Model):
    """Limits on the Airflow namespace."""

    resource_quota: bool = Field(
        default=True, description="ResourceQuota sized from parallelism, plus a LimitRange of container defaults"
    )
    pod_security: Literal["restricted", "baseline"] = Field(
        default="restricted", description="Pod Security level enforced: restricted or baseline (restricted is audited)"
    )
    launched_pods: int = Field(
        default=0,
        ge=0,
        le=1000,
        description="pods tasks start themselves at once (KubernetesPodOperator), counted at containerDefaults",
    )
    container_defaults: Resources = Field(
        default=Resources(
            requests=Quantities(cpu="100m", memory="128Mi"), limits=Quantities(cpu="500m", memory="512Mi")
        ),
        description="requests and limits of containers that set none (LimitRange defaults)",
    )


def publisher_role_name(aws_prefix: str, publisher: str) -> str:
    """IAM role name of a DAG publisher: `<namePrefix>-<instanceName>-publish-<name>`."""
    return f"{aws_prefix}-publish-{publisher}"
