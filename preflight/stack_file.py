"""The stack file names a secrets provider, so no secret is kept with Pulumi's default passphrase or service key."""

from __future__ import annotations

from urllib.parse import parse_qs

from preflight.account import kms_key_check
from preflight.context import Context
from preflight.result import Check, failed, passed

AWS_KMS = "awskms://"


def check_secrets_provider(ctx: Context) -> list[Check]:
    provider = ctx.stack_document.get("secretsprovider")
    if not provider:
        return [
            failed(
                f"Pulumi.{ctx.stack}.yaml names a secrets provider",
                f'pulumi stack change-secrets-provider --stack {ctx.stack} "awskms://alias/pulumi-airflow?region='
                f'{ctx.settings.aws_region}"',
            )
        ]
    checks = [passed(f"Pulumi.{ctx.stack}.yaml names secrets provider {provider.split('?')[0]}")]
    if provider.startswith(AWS_KMS):
        key, _, query = provider.removeprefix(AWS_KMS).partition("?")
        # Pulumi looks the key up in the URL's region (an ARN carries its own); the stack's region otherwise.
        region = (parse_qs(query).get("region") or [None])[0]
        if key.startswith("arn:"):
            region = key.split(":")[3]
        label = "KMS key of the secrets provider" + (f" (in {region})" if region else "")
        checks.append(kms_key_check(ctx, key, label, region))
    return checks
