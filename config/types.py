"""Reusable constrained string types for the stack config.

Each validator raises ``ValueError`` with a sentence that says what is allowed; the
loader turns it into one ``<key>: given …; <sentence>`` line.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator


def _matcher(pattern: str, allowed: str) -> Callable[[str], str]:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(allowed)
        return value

    return check


def _cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError("expected an IPv4 CIDR block such as 10.20.0.0/16 (host bits zero)") from None
    if network.version != 4 or "/" not in value:
        raise ValueError("expected an IPv4 CIDR block such as 10.20.0.0/16 (host bits zero)")
    return value


_IP_LIKE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_BUCKET_CHARS = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_BUCKET_RULE = (
    "expected a DNS-valid S3 bucket name: 3-63 characters of a-z, 0-9, '.', '-', starting and "
    "ending with a letter or digit, no '..', not an IP address, no 'xn--'/'sthree-' prefix or "
    "'-s3alias'/'--ol-s3' suffix"
)


def bucket_name_problem(value: str) -> str | None:
    """Return why ``value`` is not a valid S3 bucket name, or None when it is."""
    if (
        not _BUCKET_CHARS.fullmatch(value)
        or ".." in value
        or _IP_LIKE.fullmatch(value)
        or value.startswith(("xn--", "sthree-", "amzn-s3-demo-"))
        or value.endswith(("-s3alias", "--ol-s3", "--x-s3", ".mrap"))
    ):
        return _BUCKET_RULE
    return None


def _bucket_name(value: str) -> str:
    problem = bucket_name_problem(value)
    if problem:
        raise ValueError(problem)
    return value


_ARN = r"arn:aws(-cn|-us-gov)?"

VpcId = Annotated[
    str, AfterValidator(_matcher(r"vpc-[0-9a-f]{8}([0-9a-f]{9})?", "expected a VPC id such as vpc-0a1b2c3d4e5f60789"))
]
SubnetId = Annotated[
    str,
    AfterValidator(
        _matcher(r"subnet-[0-9a-f]{8}([0-9a-f]{9})?", "expected a subnet id such as subnet-0a1b2c3d4e5f60789")
    ),
]
SecurityGroupId = Annotated[
    str,
    AfterValidator(
        _matcher(r"sg-[0-9a-f]{8}([0-9a-f]{9})?", "expected a security group id such as sg-0a1b2c3d4e5f60789")
    ),
]
Cidr = Annotated[str, AfterValidator(_cidr)]
BucketName = Annotated[str, AfterValidator(_bucket_name)]
KmsKeyArn = Annotated[
    str,
    AfterValidator(
        _matcher(
            _ARN + r":kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+",
            "expected a KMS key ARN such as arn:aws:kms:eu-west-1:111122223333:key/<key-id>",
        )
    ),
]
SnsTopicArn = Annotated[
    str,
    AfterValidator(
        _matcher(
            _ARN + r":sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}",
            "expected an SNS topic ARN such as arn:aws:sns:eu-west-1:111122223333:ops-alerts",
        )
    ),
]
IamRoleArn = Annotated[
    str,
    AfterValidator(
        _matcher(
            _ARN + r":iam::\d{12}:role/[\w+=,.@/-]{1,512}",
            "expected an IAM role ARN such as arn:aws:iam::111122223333:role/deployer",
        )
    ),
]
IamPolicyArn = Annotated[
    str,
    AfterValidator(
        _matcher(
            _ARN + r":iam::(\d{12}|aws):policy/[\w+=,.@/-]{1,512}",
            "expected an IAM policy ARN such as arn:aws:iam::111122223333:policy/boundary",
        )
    ),
]
DnsLabel = Annotated[
    str,
    AfterValidator(
        _matcher(
            r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?",
            "expected a Kubernetes DNS-1123 label: lowercase letters, digits and '-', 1-63 characters",
        )
    ),
]
NamePrefix = Annotated[
    str,
    AfterValidator(
        _matcher(
            r"[a-z][a-z0-9-]{1,28}[a-z0-9]",
            "expected 3-30 characters of a-z, 0-9 and '-', starting with a letter (used in bucket, role and DB names)",
        )
    ),
]
SemVer = Annotated[
    str, AfterValidator(_matcher(r"\d+\.\d+\.\d+", "expected a version such as 3.1.7 (major.minor.patch)"))
]
