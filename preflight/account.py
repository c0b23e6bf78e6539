"""Account-wide things the stack uses or creates: KMS keys, SNS topic, permissions boundary, GitHub OIDC, buckets."""

from __future__ import annotations

from botocore.exceptions import ClientError

from config.collisions import GITHUB_OIDC_URL
from config.naming import bucket_name, lb_log_bucket_name
from preflight.context import Context
from preflight.result import Check, failed, not_found, passed


def kms_key_check(ctx: Context, key: str, label: str, region: str | None = None) -> Check:
    """A symmetric encryption key that is enabled (what RDS, S3, Secrets Manager and Pulumi need), looked up in
    `region` (default: the stack's)."""
    try:
        meta = ctx.client("kms", region).describe_key(KeyId=key)["KeyMetadata"]
    except ClientError as error:
        if not not_found(error):
            raise
        return failed(f"{label} {key} exists and is visible to this identity", "create it, or fix the ARN or alias")
    usage, spec = meta.get("KeyUsage", "ENCRYPT_DECRYPT"), meta.get("KeySpec", "SYMMETRIC_DEFAULT")  # AWS's defaults
    usable = usage == "ENCRYPT_DECRYPT" and spec == "SYMMETRIC_DEFAULT"
    if meta.get("KeyState") != "Enabled":
        return failed(
            f"{label} is enabled (it is {meta.get('KeyState')})", f"aws kms enable-key --key-id {meta['KeyId']}"
        )
    if not usable:
        return failed(
            f"{label} is a symmetric encryption key", "use a SYMMETRIC_DEFAULT key with usage ENCRYPT_DECRYPT"
        )
    return passed(f"{label} is enabled and usable (symmetric, encrypt/decrypt)")


def check_kms_keys(ctx: Context) -> list[Check]:
    s = ctx.settings
    keys = [("encryption.kmsKeyArn", s.encryption.kms_key_arn)]
    backend = s.airflow.secrets_backend
    if backend.enabled:
        keys.append(("airflow.secretsBackend.kmsKeyArn", backend.kms_key_arn))
    checks = [kms_key_check(ctx, key, f"KMS key of {label}") for label, key in keys if key]
    dr = s.dr
    if dr.enabled and dr.kms_key_arn and dr.region:
        checks.append(kms_key_check(ctx, dr.kms_key_arn, f"KMS key of dr.kmsKeyArn (in {dr.region})", dr.region))
    return checks


def check_sns_topic(ctx: Context) -> list[Check]:
    topic = ctx.settings.database.alarms.sns_topic_arn
    if not topic:
        return []
    try:
        ctx.client("sns").get_topic_attributes(TopicArn=topic)
    except ClientError as error:
        if not not_found(error):
            raise
        return [
            failed(f"SNS topic {topic} exists", "create it (aws sns create-topic) or fix database.alarms.snsTopicArn")
        ]
    return [passed(f"SNS topic {topic.rsplit(':', 1)[-1]} exists")]


def check_permissions_boundary(ctx: Context) -> list[Check]:
    boundary = ctx.settings.irsa.permissions_boundary_arn
    if not boundary:
        return []
    try:
        ctx.client("iam").get_policy(PolicyArn=boundary)
    except ClientError as error:
        if not not_found(error):
            raise
        return [
            failed(f"permissions boundary {boundary} exists", "create the policy or fix irsa.permissionsBoundaryArn")
        ]
    return [passed(f"permissions boundary {boundary.rsplit('/', 1)[-1]} exists")]


def check_github_oidc(ctx: Context) -> list[Check]:
    """GitHub's OIDC provider exists exactly when dags.githubOidcProvider says existing (IAM holds one per URL)."""
    dags = ctx.settings.dags
    if not dags.publishers:
        return []
    host = GITHUB_OIDC_URL.removeprefix("https://")
    providers = ctx.client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]
    exists = any(p["Arn"].endswith(f":oidc-provider/{host}") for p in providers)
    if dags.github_oidc_provider == "existing":
        if exists:
            return [passed("GitHub's OIDC provider exists (dags.githubOidcProvider: existing)")]
        return [
            failed(
                "GitHub's OIDC provider exists (dags.githubOidcProvider: existing)",
                "set dags.githubOidcProvider: create",
            )
        ]
    if exists:
        return [
            failed(
                "GitHub's OIDC provider is absent (dags.githubOidcProvider: create)",
                "set dags.githubOidcProvider: existing",
            )
        ]
    return [passed("GitHub's OIDC provider is absent: this stack creates it")]


def check_buckets(ctx: Context) -> list[Check]:
    """Each bucket name is free, or already a bucket of this account."""
    s, account = ctx.settings, ctx.account_id
    names = [bucket_name(s, "dags", account), bucket_name(s, "logs", account)]
    if s.front_door.access_logs.enabled:
        names.append(lb_log_bucket_name(s, account))
    s3 = ctx.client("s3")
    ours = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    checks = []
    for name in names:
        try:
            s3.head_bucket(Bucket=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket"):
                checks.append(passed(f"bucket name {name} is free"))
                continue
        if name in ours:
            # Outside us-east-1 the first `up` fails on it (BucketAlreadyOwnedByYou); in us-east-1 S3 answers
            # 200 and the stack silently adopts a bucket with someone else's objects and settings.
            checks.append(
                failed(
                    f"bucket name {name} is free (a bucket of this account already has it)",
                    "before this stack's first up: pulumi import it deliberately, or set buckets.*BucketName "
                    "(once this stack is up the bucket is its own: ignore this line)",
                )
            )
        else:
            checks.append(
                failed(
                    f"bucket name {name} is free (another account owns it)",
                    "S3 names are global: set buckets.*BucketName",
                )
            )
    return checks
