"""Reusable constrained string types for the stack config.

Each validator raises ``ValueError`` with a sentence that says what is allowed, in words
and with an example; the loader turns it into one ``<key>: given …; <sentence>`` line.
No regular expression ever reaches a message.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Annotated

from pydantic import AfterValidator


class DecimalText:
    """Marks a text field where an unquoted YAML decimal (``cpu: 0.5``) keeps its meaning."""


DECIMAL_TEXT = DecimalText()


def _matcher(pattern: str, allowed: str) -> Callable[[str], str]:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(allowed)
        return value

    return check


def _checked(problem_of: Callable[[str], str | None]) -> Callable[[str], str]:
    def check(value: str) -> str:
        problem = problem_of(value)
        if problem:
            raise ValueError(problem)
        return value

    return check


# -- network --------------------------------------------------------------------------

_CIDR_RULE = "expected a CIDR block such as 10.20.0.0/16 or 2001:db8::/56"
_IPV4_CIDR_RULE = "expected an IPv4 CIDR block such as 198.51.100.0/24"


def _network(value: str, rule: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if "/" not in value:
        raise ValueError(f"{rule} (the /prefix length is required)")
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError:
        pass
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(rule) from None
    raise ValueError(f"host bits are set (did you mean {network}?); {rule}")


def _cidr(value: str) -> str:
    _network(value, _CIDR_RULE)
    return value


def _ipv4_cidr(value: str) -> str:
    network = _network(value, _IPV4_CIDR_RULE)
    if network.version == 6:
        world = " and ::/0 admits the whole internet" if network.prefixlen == 0 else ""
        raise ValueError(f"the EKS public endpoint takes IPv4 blocks only{world}; {_IPV4_CIDR_RULE}")
    return value


def world_open(cidrs: Iterable[str]) -> str | None:
    """'0.0.0.0/0' or '::/0' when the blocks together admit every address of that family."""
    networks = [ipaddress.ip_network(c, strict=False) for c in cidrs]
    for version, everything in ((4, "0.0.0.0/0"), (6, "::/0")):
        family = [n for n in networks if n.version == version]
        if any(n.prefixlen == 0 for n in ipaddress.collapse_addresses(family)):
            return everything
    return None


# -- S3 -------------------------------------------------------------------------------

_IP_LIKE = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
_BUCKET_CHARS = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
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


_SEGMENT = re.compile(r"[A-Za-z0-9_.-]+")


def relative_path_problem(value: str, example: str) -> str | None:
    """Why ``value`` is not a clean relative path (S3 key prefix, repository folder), or None."""
    rule = (
        f"expected a relative path such as {example}: names of letters, digits, '_', '.' and '-' joined by single '/'"
    )
    segments = value.split("/")
    if not value:
        return f"must not be empty; {rule}"
    if value.startswith("/"):
        return f"a leading '/' is not allowed; {rule}"
    if value.endswith("/"):
        return f"a trailing '/' is not allowed; {rule}"
    if "" in segments:
        return f"empty path segments ('//') are not allowed; {rule}"
    if any(set(segment) == {"."} for segment in segments):
        return f"'.' and '..' segments are not allowed; {rule}"
    if not all(_SEGMENT.fullmatch(segment) for segment in segments):
        return f"spaces and other characters are not allowed; {rule}"
    if len(value) > 512:
        return f"at most 512 characters; {rule}"
    return None


def _relative_path(example: str, *, optional: bool = False) -> Callable[[str], str]:
    def problem(value: str) -> str | None:
        if optional and value == "":
            return None
        found = relative_path_problem(value, example)
        return f"{found} (or empty for the repository root)" if found and optional else found

    return _checked(problem)


# -- container images -----------------------------------------------------------------

_HOST = re.compile(r"([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:\d{1,5})?")
_PATH_PART = re.compile(r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"\w[\w.-]{0,127}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")
_REPOSITORY_RULE = (
    "expected an image repository without tag or digest, such as apache/airflow, "
    "111122223333.dkr.ecr.eu-west-1.amazonaws.com/airflow or registry.local:5000/airflow"
)


def _split_host(value: str) -> tuple[str | None, str]:
    first, _, rest = value.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return None, value


def image_repository_problem(value: str) -> str | None:
    """Why ``value`` is not an image repository name (host[:port]/path, no tag), or None."""
    host, path = _split_host(value)
    if not value:
        return f"must not be empty; {_REPOSITORY_RULE}"
    if "@" in value:
        return f"it carries a digest; {_REPOSITORY_RULE}"
    if ":" in path:
        return f"it carries a tag (the tag is always <airflow.version><tagSuffix>); {_REPOSITORY_RULE}"
    if host is not None and not _HOST.fullmatch(host):
        return f"the registry host {host!r} is not a host name with an optional :port; {_REPOSITORY_RULE}"
    if not all(_PATH_PART.fullmatch(part) for part in path.split("/")) or len(value) > 255:
        return (
            f"path parts are lowercase letters and digits separated by '.', '_' or '-', "
            f"joined by '/'; {_REPOSITORY_RULE}"
        )
    return None


_PINNED_RULE = (
    "expected a pinned image: a repository with a version tag or a digest, such as "
    "public.ecr.aws/aws-cli/aws-cli:2.22.35 or public.ecr.aws/aws-cli/aws-cli@sha256:<64 hex digits>"
)


def pinned_image_problem(value: str) -> str | None:
    """Why ``value`` is not an image pinned by tag or digest, or None."""
    repository, at, digest = value.partition("@")
    if at:
        if not _DIGEST.fullmatch(digest):
            return f"the digest is not sha256:<64 hex digits>; {_PINNED_RULE}"
    else:
        host, path = _split_host(value)
        name, colon, tag = path.rpartition(":")
        if not colon:
            return f"it has no tag or digest; {_PINNED_RULE}"
        if tag == "latest" or not _TAG.fullmatch(tag):
            return f"the tag {tag!r} is not a version; {_PINNED_RULE}"
        repository = f"{host}/{name}" if host else name
    if image_repository_problem(repository):
        return f"the repository part is not valid; {_PINNED_RULE}"
    return None


_TAG_SUFFIX = re.compile(r"-[A-Za-z0-9.]+")


def _tag_suffix(value: str) -> str:
    if value and not _TAG_SUFFIX.fullmatch(value):
        raise ValueError("expected empty or '-' followed by letters, digits and '.', such as -python3.12")
    return value


# -- AWS tags -------------------------------------------------------------------------

# Tag keys the platform sets itself (config/settings.py base_tags, components' Name and
# service-account tags); a user tag with one of these keys would be silently replaced.
PLATFORM_TAG_KEYS = frozenset(
    {"app", "environment", "managed-by", "Name", "kubernetes-service-account", "github-subject"}
)
_TAG_CHARS = "letters, digits, spaces and _ . : / = + - @"


def _tag_text_problem(value: str) -> str | None:
    bad = sorted({c for c in value if not (c.isalnum() or c in " _.:/=+-@")})
    if bad:
        return f"{', '.join(repr(c) for c in bad)} not allowed; AWS tags take {_TAG_CHARS}"
    return None


def tag_key_problem(key: str) -> str | None:
    """Why AWS (or this platform) refuses ``key`` as a user tag key, or None."""
    if not key:
        return "tag keys must not be empty"
    if key.lower().startswith("aws:"):
        return "tag keys starting with aws: are reserved by AWS; use a key such as team or cost-center"
    if key in PLATFORM_TAG_KEYS:
        return "the platform sets this tag itself (" + ", ".join(sorted(PLATFORM_TAG_KEYS)) + "); use another key"
    if len(key) > 128:
        return f"tag keys are at most 128 characters, this one has {len(key)}"
    return _tag_text_problem(key)


def tag_value_problem(value: str) -> str | None:
    """Why AWS refuses ``value`` as a tag value, or None."""
    if len(value) > 256:
        return f"tag values are at most 256 characters, this one has {len(value)}"
    return _tag_text_problem(value)


# -- everything else ------------------------------------------------------------------

_ARN = r"arn:aws(-cn|-us-gov)?"
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minutes(clock: str) -> int | None:
    match = re.fullmatch(r"(\d\d):(\d\d)", clock)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        return None
    return int(match.group(1)) * 60 + int(match.group(2))


def _window_length(start: int | None, end: int | None, week: int) -> int | None:
    if start is None or end is None:
        return None
    return (end - start) % week


def backup_window_problem(value: str) -> str | None:
    """Why ``value`` is not a daily RDS backup window, or None."""
    rule = "expected a daily UTC window hh:mm-hh:mm of at least 30 minutes, such as 01:00-02:00"
    start, _, end = value.partition("-")
    length = _window_length(_minutes(start), _minutes(end), 24 * 60)
    return rule if length is None or length < 30 else None


def maintenance_window_problem(value: str) -> str | None:
    """Why ``value`` is not a weekly RDS maintenance window, or None."""
    rule = (
        "expected a weekly UTC window day:hh:mm-day:hh:mm of at least 30 minutes, days mon..sun, "
        "such as sun:03:00-sun:04:00"
    )
    bounds = []
    for side in value.split("-") if value.count("-") == 1 else []:
        day, _, clock = side.partition(":")
        minutes = _minutes(clock)
        if day not in _DAYS or minutes is None:
            return rule
        bounds.append(_DAYS.index(day) * 24 * 60 + minutes)
    length = _window_length(*bounds, 7 * 24 * 60) if len(bounds) == 2 else None
    return rule if length is None or length < 30 else None


def git_ref_problem(value: str) -> str | None:
    """Why ``value`` is not a plain git branch, tag or commit, or None."""
    rule = "expected a branch, tag or commit such as main, v1.2.0 or release/2025-q1"
    if not re.fullmatch(r"[A-Za-z0-9_./-]+", value):
        return f"letters, digits, '_', '.', '/' and '-' only; {rule}"
    if value.startswith(("-", "/")) or value.endswith(("/", ".", ".lock")) or ".." in value or "//" in value:
        return f"no leading '-' or '/', no trailing '/', '.' or '.lock', no '..' or '//'; {rule}"
    return None


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
Ipv4Cidr = Annotated[str, AfterValidator(_ipv4_cidr)]
BucketName = Annotated[str, AfterValidator(_checked(bucket_name_problem))]
S3Prefix = Annotated[str, AfterValidator(_relative_path("dags or team-a/dags"))]
LogPrefix = Annotated[str, AfterValidator(_relative_path("task-logs or airflow/task-logs"))]
RepositoryFolder = Annotated[str, AfterValidator(_relative_path("dags or airflow/dags", optional=True))]
ImageRepository = Annotated[str, AfterValidator(_checked(image_repository_problem))]
PinnedImage = Annotated[str, AfterValidator(_checked(pinned_image_problem))]
ImageTagSuffix = Annotated[str, AfterValidator(_tag_suffix)]
TagKey = Annotated[str, AfterValidator(_checked(tag_key_problem))]
TagValue = Annotated[str, AfterValidator(_checked(tag_value_problem))]
BackupWindow = Annotated[str, AfterValidator(_checked(backup_window_problem))]
MaintenanceWindow = Annotated[str, AfterValidator(_checked(maintenance_window_problem))]
GitRef = Annotated[str, AfterValidator(_checked(git_ref_problem))]
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
AwsRegion = Annotated[
    str,
    AfterValidator(_matcher(r"[a-z]{2}(-gov)?-[a-z]+-\d", "expected an AWS region such as eu-west-1 (aws:region)")),
]
DnsLabel = Annotated[
    str,
    AfterValidator(
        _matcher(
            r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?",
            "expected a Kubernetes DNS-1123 label: lowercase letters, digits and '-', 1-63 characters, "
            "starting and ending with a letter or digit, such as airflow-prod",
        )
    ),
]
HelmReleaseName = Annotated[
    str,
    AfterValidator(
        _matcher(
            r"[a-z0-9]([a-z0-9-]{0,51}[a-z0-9])?",
            "expected a Helm release name: 1-53 characters of lowercase letters, digits and '-', "
            "starting and ending with a letter or digit, such as airflow",
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
InstanceName = Annotated[
    str,
    AfterValidator(
        _matcher(
            r"[a-z]([a-z0-9-]{0,28}[a-z0-9])?",
            "expected 1-30 characters of a-z, 0-9 and '-', starting with a letter and ending with a letter or digit "
            "(used in bucket, role and DB names and the namespace)",
        )
    ),
]
SemVer = Annotated[
    str, AfterValidator(_matcher(r"\d+\.\d+\.\d+", "expected a version such as 3.1.7 (major.minor.patch)"))
]
KubernetesMinor = Annotated[
    str, AfterValidator(_matcher(r"1\.\d{2}", "expected a Kubernetes minor version such as 1.34, in quotes"))
]
EksClusterName = Annotated[
    str,
    AfterValidator(
        _matcher(
            r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}",
            "expected an EKS cluster name: 1-100 letters, digits, '-' and '_', starting with a letter or digit, "
            "such as data-prod",
        )
    ),
]
PostgresIdentifier = Annotated[
    str,
    AfterValidator(
        _matcher(
            r"[a-z][a-z0-9_]{0,62}",
            "expected 1-63 characters of lowercase letters, digits and '_', starting with a letter, such as airflow",
        )
    ),
]
StatementId = Annotated[
    str, AfterValidator(_matcher(r"[A-Za-z0-9]+", "expected letters and digits only, such as ReadArtifacts"))
]
AirflowUserName = Annotated[
    str,
    AfterValidator(
        _matcher(
            r"[A-Za-z0-9_.-]{3,64}",
            "expected 3-64 letters, digits, '_', '.' and '-', such as platform-admin",
        )
    ),
]
EmailAddress = Annotated[
    str,
    AfterValidator(
        _matcher(r"[^@\s]+@[^@\s]+\.[^@\s]+", "expected an e-mail address such as airflow-admins@example.com")
    ),
]
CpuQuantity = Annotated[
    str,
    DECIMAL_TEXT,
    AfterValidator(_matcher(r"\d+(\.\d+)?m?", "expected a Kubernetes CPU quantity such as 500m, 0.5 or 2")),
]
MemoryQuantity = Annotated[
    str,
    AfterValidator(
        _matcher(r"\d+(Ki|Mi|Gi|Ti|k|M|G|T)?", "expected a Kubernetes memory quantity such as 512Mi or 2Gi")
    ),
]


# -- front door (load balancer, DNS, TLS) ---------------------------------------------

_ACM_RULE = "expected an ACM certificate ARN such as arn:aws:acm:eu-west-1:111122223333:certificate/<certificate id>"
_ACM_ARN = re.compile(_ARN + r":acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")


def acm_certificate_arn_problem(value: str) -> str | None:
    """Why ``value`` is not an ACM certificate ARN, or None."""
    if _ACM_ARN.fullmatch(value):
        return None
    if ":iam::" in value and ":server-certificate/" in value:
        return f"IAM server certificates are not accepted, import the certificate into ACM; {_ACM_RULE}"
    return _ACM_RULE


_ZONE_RULE = (
    "expected a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ: 'Z' and up to 31 capital letters or digits"
)
_ZONE_ID = re.compile(r"Z[0-9A-Z]{1,31}")


def hosted_zone_id_problem(value: str) -> str | None:
    """Why ``value`` is not a Route 53 hosted zone id, or None."""
    if _ZONE_ID.fullmatch(value):
        return None
    if value.startswith("/hostedzone/"):
        return f"leave out the /hostedzone/ prefix; {_ZONE_RULE}"
    return _ZONE_RULE


_HOSTNAME_RULE = (
    "expected a DNS host name such as airflow.example.com: two or more labels of lowercase letters, digits and '-' "
    "joined by '.', each label 1-63 characters not starting or ending with '-', 253 characters at most"
)
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def hostname_problem(value: str) -> str | None:
    """Why ``value`` is not a fully qualified host name this program can publish, or None."""
    if "://" in value or "/" in value:
        return f"give the host name only, without scheme or path; {_HOSTNAME_RULE}"
    if value.endswith("."):
        return f"leave out the trailing '.'; {_HOSTNAME_RULE}"
    if "*" in value:
        return f"wildcards are not allowed, the record names one host; {_HOSTNAME_RULE}"
    if value != value.lower():
        return f"use lowercase letters; {_HOSTNAME_RULE}"
    labels = value.split(".")
    if len(value) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        return _HOSTNAME_RULE
    return None


# TLS 1.3 policy families whose minimum is TLS 1.2 or 1.3 (TLS13-1-0 / TLS13-1-1 still accept TLS 1.0 / 1.1).
ELB_TLS13_POLICY_PREFIXES = ("ELBSecurityPolicy-TLS13-1-2-", "ELBSecurityPolicy-TLS13-1-3-")
_TLS_POLICY_RULE = (
    "expected an Elastic Load Balancing TLS 1.3 security policy with TLS 1.2 or newer as the minimum, such as "
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09 (the name starts with ELBSecurityPolicy-TLS13-1-2- or "
    "ELBSecurityPolicy-TLS13-1-3-)"
)


def elb_tls_policy_problem(value: str) -> str | None:
    """Why ``value`` is not an acceptable ELB TLS security policy name, or None."""
    prefix = next((p for p in ELB_TLS13_POLICY_PREFIXES if value.startswith(p)), None)
    if prefix is None or not re.fullmatch(r"[A-Za-z0-9-]+", value) or len(value) == len(prefix):
        return _TLS_POLICY_RULE
    return None


AcmCertificateArn = Annotated[str, AfterValidator(_checked(acm_certificate_arn_problem))]
HostedZoneId = Annotated[str, AfterValidator(_checked(hosted_zone_id_problem))]
DnsHostname = Annotated[str, AfterValidator(_checked(hostname_problem))]
ElbTlsPolicy = Annotated[str, AfterValidator(_checked(elb_tls_policy_problem))]


def distinct(what: str) -> AfterValidator:
    """A list check refusing repeated items, e.g. `Annotated[list[SubnetId], distinct("subnet ids")]`."""

    def check(value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"expected distinct {what}")
        return value

    return AfterValidator(check)
