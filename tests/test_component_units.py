"""Components built from explicit args (no stack config): what each registers, and its intents."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

from components.airflow_release import AirflowRelease, AirflowReleaseArgs, HelmChart
from components.buckets import AirflowBuckets, AirflowBucketsArgs, BucketSpec
from components.common import DatabaseEndpoint
from components.grants import Grantable
from components.irsa import IrsaRole, IrsaRoleArgs
from components.release_types import ReleaseFeatures, ReleaseNames, ReleaseWiring, SecretNames, TaskIsolation
from offline.engine import unwrap

KMS = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF"
PROVIDER_ARN = f"arn:aws:iam::111122223333:oidc-provider/{ISSUER}"


class RecordingPrincipal:
    """A Grantable that is not an IrsaRole: intents must accept any principal with add_policy."""

    def __init__(self) -> None:
        self.policies: dict[str, Any] = {}

    def add_policy(self, policy_name: str, statements: pulumi.Input[Sequence[Mapping[str, Any]]]) -> Any:
        self.policies[policy_name] = pulumi.Output.from_input(statements)
        return None


def buckets() -> AirflowBuckets:
    return AirflowBuckets(
        "b",
        AirflowBucketsArgs(
            dags=BucketSpec(name="acme-dags", versioned=True),
            logs=BucketSpec(name="acme-logs", versioned=False, expire_objects_after_days=30),
            noncurrent_version_expiration_days=90,
            abort_incomplete_multipart_days=7,
            force_destroy=False,
            kms_key_arn=KMS,
        ),
    )


def test_buckets_are_locked_down_and_kept_by_default(run_components):
    inventory = run_components(buckets)
    assert sorted(b.inputs["bucket"] for b in inventory.of_type("aws:s3/bucket:Bucket")) == ["acme-dags", "acme-logs"]
    assert all(b.retain_on_delete for b in inventory.of_type("aws:s3/bucket:Bucket"))
    for block in inventory.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"):
        assert all(
            block.inputs[k]
            for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        )
    [rule] = inventory.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )[0].inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"kmsMasterKeyId": KMS, "sseAlgorithm": "aws:kms"}


def test_grant_read_accepts_any_grantable(run_components):
    principal = RecordingPrincipal()
    assert isinstance(principal, Grantable)

    def program():
        b = buckets()
        b.dags.grant_read(principal, prefix="dags")
        return principal.policies["dags-bucket-read"].apply(check)

    def check(statements: list[dict[str, Any]]) -> None:
        listing, reading, kms = statements
        assert listing["Resource"] == ["arn:aws:s3:::acme-dags"]
        assert listing["Condition"] == {"StringLike": {"s3:prefix": ["dags/*", "dags"]}}
        assert reading["Resource"] == ["arn:aws:s3:::acme-dags/dags/*"]
        assert "s3:PutObject" not in reading["Action"]
        assert kms == {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [KMS]}

    run_components(program)


def test_irsa_role_trusts_exactly_one_service_account(run_components):
    def program():
        IrsaRole(
            "r",
            IrsaRoleArgs(
                namespace="kube-system",
                service_account_name="some-controller",
                role_name="some-controller",
                oidc_provider_arn=PROVIDER_ARN,
                oidc_issuer=f"https://{ISSUER}",
                role_permissions_boundary_arn="arn:aws:iam::111122223333:policy/boundary",
            ),
        )

    role = run_components(program).one("aws:iam/role:Role").inputs
    [statement] = json.loads(role["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Federated": PROVIDER_ARN}
    assert statement["Condition"] == {
        "StringEquals": {
            f"{ISSUER}:sub": "system:serviceaccount:kube-system:some-controller",
            f"{ISSUER}:aud": "sts.amazonaws.com",
        }
    }
    assert role["permissionsBoundary"] == "arn:aws:iam::111122223333:policy/boundary"
    assert role["tags"]["kubernetes-service-account"] == "kube-system:some-controller"


def _names() -> ReleaseNames:
    secrets = SecretNames(*(f"r-{field}" for field in SecretNames.__dataclass_fields__))
    return ReleaseNames(
        api_service="r-api-server",
        api_service_port=8080,
        api_server_selector={"component": "api-server"},
        triggerer_selector={"component": "triggerer"},
        triggerer_log_port=8794,
        pgbouncer_host="r-pgbouncer.ns",
        pgbouncer_database="r-metadata",
        statsd_service="r-statsd",
        statsd_selector={"component": "statsd"},
        object_prefix="r",
        secrets=secrets,
        tasks=TaskIsolation(
            namespace="ns-tasks",
            worker_account="r-worker",
            launcher_account="r-scheduler",
            log_reader_account="r-api-server",
            cleanup_account="r-cleanup",
            task_selector={"component": "worker"},
            git_known_hosts="r-git-known-hosts",
        ),
        bootstrap_namespace="ns-bootstrap",
    )


def test_release_hands_resolved_wiring_to_the_values_function(run_components):
    seen: list[ReleaseWiring] = []

    def values(wiring: ReleaseWiring) -> dict[str, Any]:
        seen.append(wiring)
        return {"scheduler": {"serviceAccount": {"annotations": {"arn": wiring.role_arns["scheduler"]}}}}

    def program():
        AirflowRelease(
            "a",
            AirflowReleaseArgs(
                release_name="r",
                namespace="ns",
                chart=HelmChart(name="airflow", version="1.19.0", repository="https://airflow.apache.org"),
                names=_names(),
                values=values,
                features=ReleaseFeatures(generated_keys=(), async_metadata_url=False, api_reads_triggerer_logs=False),
                role_arns={
                    "scheduler": pulumi.Output.from_input("arn:aws:iam::111122223333:role/s"),
                    "worker": "arn:aws:iam::111122223333:role/w",
                },
                dag_bucket="d",
                log_bucket="l",
                database=DatabaseEndpoint("db.internal", 5432, "airflow", "admin", "pw"),
                app_username="airflow_app",
                bootstrap_image="postgres:17.6-alpine",
            ),
        )

    inventory = run_components(program)
    release = unwrap(inventory.one("kubernetes:helm.sh/v3:Release").inputs)
    assert release["values"] == {
        "scheduler": {"serviceAccount": {"annotations": {"arn": "arn:aws:iam::111122223333:role/s"}}}
    }
    assert (release["name"], release["namespace"], release["version"]) == ("r", "ns", "1.19.0")
    roles = {"scheduler": "arn:aws:iam::111122223333:role/s", "worker": "arn:aws:iam::111122223333:role/w"}
    assert seen == [ReleaseWiring(roles, "d", "l", None)]
    # Without PgBouncer, no PgBouncer Secrets; without network policies, only the (always present) IMDS block.
    secrets = {r.inputs["metadata"]["name"] for r in inventory.of_type("kubernetes:core/v1:Secret")}
    assert "r-pgbouncer_config" not in secrets and "r-metadata" in secrets
    policies = inventory.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    assert [p.inputs["metadata"]["name"] for p in policies] == ["task-pods-no-instance-metadata"]
