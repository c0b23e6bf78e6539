"""Airflow connections and variables from AWS Secrets Manager, with a read grant on exactly their prefixes.

`SecretsManagerBackend` owns no AWS resource (the secrets are created by people or other
stacks): it knows the two name prefixes, renders Airflow's `[secrets]` settings and grants
`secretsmanager:GetSecretValue` on `arn:<partition>:secretsmanager:<region>:<account>:secret:<prefix>/*`.

Facts behind it (amazon provider `SecretsManagerBackend`): the only API call is `GetSecretValue`
on `<prefix>/<id>` (no DescribeSecret or ListSecrets); a missing secret returns nothing and the
lookup moves on, an AccessDenied is logged as an error. Airflow searches the backend *before*
`AIRFLOW_CONN_*` / `AIRFLOW_VAR_*` environment variables, so a secret named like a connection defined
in the environment would take its place: `reserved_connection_ids` keeps those ids out of the backend.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.grants import Grantable

BACKEND_CLASS = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
POLICY_NAME = "secrets-backend-read"
# Secret names: letters, digits and /_+=.@- (AWS); no '%' either, airflow.cfg interpolates it.
_SECRET_NAME = re.compile(r"[A-Za-z0-9_+=.@-]+(/[A-Za-z0-9_+=.@-]+)*")


def default_prefixes(environment: str) -> tuple[str, str]:
    """The connections and variables prefixes of one environment: `airflow/<environment>/…`."""
    return f"airflow/{environment}/connections", f"airflow/{environment}/variables"


def secret_prefix_arn(partition: str, region: str, account_id: str, prefix: str) -> str:
    """ARN pattern of every secret under ``prefix/`` (the `*` also covers the 6-character suffix AWS appends)."""
    return f"arn:{partition}:secretsmanager:{region}:{account_id}:secret:{prefix.strip('/')}/*"


def read_statements(secret_arns: Sequence[str], kms_key_arn: str | None) -> list[dict[str, Any]]:
    """`GetSecretValue` on ``secret_arns`` only, plus `kms:Decrypt` on the secrets' customer key."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadAirflowSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": sorted(secret_arns),
        }
    ]
    if kms_key_arn:
        statements.append(
            {"Sid": "DecryptAirflowSecrets", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [kms_key_arn]}
        )
    return statements


def connection_lookup_pattern(reserved_connection_ids: Sequence[str]) -> str | None:
    """Regex of the connection ids the backend may look up: all but the reserved ones."""
    if not reserved_connection_ids:
        return None
    alternatives = "|".join(re.escape(conn_id) for conn_id in sorted(set(reserved_connection_ids)))
    return f"^(?!(?:{alternatives})$)"


def backend_config(
    region: str,
    connections_prefix: str,
    variables_prefix: str,
    reserved_connection_ids: Sequence[str] = (),
) -> dict[str, str]:
    """The chart's `config.secrets` section: `backend` and `backend_kwargs` (a JSON string; scalars only).

    `config_prefix` is off (Airflow options stay in airflow.cfg and the environment), and the region is
    explicit (IRSA gives the pods credentials, not a region).
    """
    kwargs: dict[str, Any] = {
        "connections_prefix": connections_prefix,
        "variables_prefix": variables_prefix,
        "config_prefix": None,
        "region_name": region,
    }
    pattern = connection_lookup_pattern(reserved_connection_ids)
    if pattern:
        kwargs["connections_lookup_pattern"] = pattern
    text = json.dumps(kwargs, sort_keys=True)
    if "{{" in text or "%" in text:  # Helm's tpl and airflow.cfg's interpolation both read this value
        raise ValueError("backend_kwargs must contain neither '{{' nor '%'")
    return {"backend": BACKEND_CLASS, "backend_kwargs": text}


@dataclass(frozen=True)
class SecretsBackendArgs:
    """Where Airflow's connections and variables live in Secrets Manager."""

    region: str
    """AWS region of the secrets (and of the Airflow pods' Secrets Manager client)."""
    account_id: pulumi.Input[str]
    """AWS account holding the secrets."""
    connections_prefix: str
    """Name prefix of connection secrets, e.g. `airflow/prod/connections` (no leading or trailing '/')."""
    variables_prefix: str
    """Name prefix of variable secrets, e.g. `airflow/prod/variables` (no leading or trailing '/')."""
    partition: str = "aws"
    """AWS partition of the ARNs. Default: `aws`."""
    kms_key_arn: str | None = None
    """Customer KMS key the secrets are encrypted with. Default: none (AWS-managed key, no KMS grant needed)."""
    reserved_connection_ids: Sequence[str] = ()
    """Connection ids defined elsewhere (`AIRFLOW_CONN_*`) that the backend must not look up. Default: none."""

    def __post_init__(self) -> None:
        for label, prefix in (
            ("connections_prefix", self.connections_prefix),
            ("variables_prefix", self.variables_prefix),
        ):
            if not _SECRET_NAME.fullmatch(prefix):
                raise ValueError(
                    f"{label} {prefix!r} is not a Secrets Manager name prefix such as airflow/prod/connections"
                )
        first, second = sorted((self.connections_prefix, self.variables_prefix))
        if second == first or second.startswith(first + "/"):
            raise ValueError("connections_prefix and variables_prefix must not be equal or nested")


class SecretsManagerBackend:
    """Airflow's Secrets Manager backend for one environment, with a read-grant intent."""

    def __init__(self, args: SecretsBackendArgs):
        self.args = args

    def prefix_arns(self, account_id: str) -> list[str]:
        """ARN patterns of the connection and variable secrets."""
        a = self.args
        return [
            secret_prefix_arn(a.partition, a.region, account_id, p) for p in (a.connections_prefix, a.variables_prefix)
        ]

    def airflow_config(self) -> dict[str, str]:
        """Values of the chart's `config.secrets` section."""
        a = self.args
        return backend_config(a.region, a.connections_prefix, a.variables_prefix, a.reserved_connection_ids)

    def grant_read(self, grantable: Grantable) -> aws.iam.RolePolicy:
        """Let ``grantable`` read the connection and variable secrets (and decrypt them)."""
        statements = pulumi.Output.from_input(self.args.account_id).apply(
            lambda account: read_statements(self.prefix_arns(account), self.args.kms_key_arn)
        )
        return grantable.add_policy(POLICY_NAME, statements)
