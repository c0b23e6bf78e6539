"""Read the cluster's Kubernetes API with the caller's AWS identity (an EKS token), GET requests only."""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from botocore.signers import RequestSigner

from preflight.context import Context

TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_HEADER = "x-k8s-aws-id"
TOKEN_SECONDS = 60


def eks_token(ctx: Context, cluster_name: str) -> str:
    """What `aws eks get-token` prints: a presigned STS GetCallerIdentity URL naming the cluster (nothing is sent)."""
    sts = ctx.client("sts")
    signer = RequestSigner(
        sts.meta.service_model.service_id,
        ctx.settings.aws_region,
        "sts",
        "v4",
        sts._request_signer._credentials,
        sts.meta.events,
    )
    url = signer.generate_presigned_url(
        {
            "method": "GET",
            "url": f"https://sts.{ctx.settings.aws_region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
            "body": {},
            "headers": {CLUSTER_HEADER: cluster_name},
            "context": {},
        },
        region_name=ctx.settings.aws_region,
        expires_in=TOKEN_SECONDS,
        operation_name="",
    )
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


@dataclass
class KubeApi:
    """GET on one cluster's API server."""

    endpoint: str
    ca_pem: bytes
    token: str
    timeout: float = 10.0

    def get(self, path: str) -> dict[str, Any] | None:
        """The object at `path`, or None when the API answers 404."""
        try:
            context = ssl.create_default_context(cadata=self.ca_pem.decode())
        except (UnicodeDecodeError, ssl.SSLError) as error:
            raise OSError(f"the cluster's CA certificate is unreadable ({error})") from None
        request = urllib.request.Request(self.endpoint + path, headers={"Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=context) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise


def cluster_api(ctx: Context) -> KubeApi:
    """The reader of the stack's (existing) cluster."""
    cluster = ctx.cluster or {}
    ca = base64.b64decode(cluster.get("certificateAuthority", {}).get("data", ""))
    return KubeApi(str(cluster.get("endpoint", "")), ca, eks_token(ctx, ctx.settings.cluster.name))
