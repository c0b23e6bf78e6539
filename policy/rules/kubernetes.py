"""Kubernetes: no internet-facing load balancer built from a Service, an Ingress or Helm values; no
plaintext secret in Helm values (the chart reads Kubernetes Secrets by name instead)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

SERVICE = "kubernetes:core/v1:Service"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
INGRESS_CLASS_PARAMS = "kubernetes:elbv2.k8s.aws/v1beta1:IngressClassParams"
HELM_RELEASES = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Chart")
ALLOW_INTERNET_FACING = "allowInternetFacing"

# AWS Load Balancer Controller / in-tree annotations that decide a load balancer's scheme.
SERVICE_SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme"
SERVICE_INTERNAL = "service.beta.kubernetes.io/aws-load-balancer-internal"
INGRESS_SCHEME = "alb.ingress.kubernetes.io/scheme"


def _annotations(props: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = props.get("metadata") or {}
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    return annotations if isinstance(annotations, Mapping) else {}


def _service_is_internal(annotations: Mapping[str, Any]) -> bool:
    """Only an explicit internal scheme: the in-tree controller's default is internet-facing."""
    return (
        str(annotations.get(SERVICE_SCHEME, "")).strip().lower() == "internal"
        or str(annotations.get(SERVICE_INTERNAL, "")).strip().lower() == "true"
    )


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (dotted path, value) of a values tree, mappings and lists included."""
    yield path, value
    if isinstance(value, Mapping):
        for key, child in value.items():
            yield from _walk(child, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _walk(child, f"{path}[{index}]")


def _internet_facing_in_values(values: Any) -> list[str]:
    """Paths of Helm values that make a chart build an internet-facing load balancer."""
    found = []
    for path, node in _walk(values):
        if not isinstance(node, Mapping):
            continue
        annotations = node.get("annotations") if isinstance(node.get("annotations"), Mapping) else {}
        if str(node.get("type", "")) == "LoadBalancer" and not _service_is_internal(annotations):
            found.append(f"{path or '<root>'}.type LoadBalancer (no internal scheme annotation)")
        if str(annotations.get(INGRESS_SCHEME, "")).strip().lower() == "internet-facing":
            found.append(f"{path or '<root>'}.annotations {INGRESS_SCHEME}: internet-facing")
    return found


def _load_balancers_internal(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.get_config().get(ALLOW_INTERNET_FACING) is True:
        return
    hint = (
        f'; to allow it in this stack set "k8s-load-balancers-internal": {{"{ALLOW_INTERNET_FACING}": true}} '
        "in policy/config/<stack>.json"
    )
    props = args.props
    if args.resource_type == SERVICE:
        spec = props.get("spec") or {}
        if spec.get("type") == "LoadBalancer" and not _service_is_internal(_annotations(props)):
            report(
                f"Service {args.name}: type LoadBalancer builds an internet-facing load balancer unless annotated "
                f'{SERVICE_SCHEME}: "internal"; use ClusterIP behind the front door{hint}.'
            )
    elif args.resource_type == INGRESS:
        if str(_annotations(props).get(INGRESS_SCHEME, "")).strip().lower() == "internet-facing":
            report(
                f"Ingress {args.name}: {INGRESS_SCHEME}: internet-facing makes the controller build a public ALB; "
                f"set it to internal{hint}."
            )
    elif args.resource_type == INGRESS_CLASS_PARAMS:
        if str((props.get("spec") or {}).get("scheme", "")).strip().lower() == "internet-facing":
            report(f"IngressClassParams {args.name}: spec.scheme internet-facing; set it to internal{hint}.")
    elif args.resource_type in HELM_RELEASES:
        for where in _internet_facing_in_values(props.get("values")):
            report(f"Helm release {args.name}: values {where} build an internet-facing load balancer{hint}.")


# Chart keys whose value is the secret itself (Airflow chart: fernetKey, webserverSecretKey, apiSecretKey,
# jwtSecret, data.metadataConnection.pass, createUserJob.defaultUser.password; Airflow config keys).
SECRET_VALUE_KEYS = frozenset(
    {
        "password",
        "pass",
        "passwd",
        "secret",
        "token",
        "apikey",
        "privatekey",
        "clientsecret",
        "client_secret",
        "fernetkey",
        "fernet_key",
        "webserversecretkey",
        "apisecretkey",
        "secret_key",
        "jwtsecret",
        "jwt_secret",
        "sql_alchemy_conn",
        "sql_alchemy_conn_async",
        "result_backend",
        "broker_url",
    }
)
URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)
SECRET_ENV_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|FERNET_KEY|SQL_ALCHEMY_CONN)", re.IGNORECASE)


def _plaintext_secrets(values: Any) -> list[str]:
    """Paths of Helm values that hold a secret in clear (the values are stored in the release)."""
    found = []
    for path, node in _walk(values):
        key = path.rsplit(".", 1)[-1].split("[")[0].lower()
        if isinstance(node, str) and node.strip():
            if key in SECRET_VALUE_KEYS or URL_WITH_PASSWORD.search(node):
                found.append(path)
        elif isinstance(node, Mapping):
            name, value = node.get("name"), node.get("value")
            if isinstance(name, str) and SECRET_ENV_NAME.search(name) and isinstance(value, str) and value.strip():
                found.append(f"{path}.value ({name})")
            if key == "extrasecrets":
                found += [
                    f"{path}.{n}"
                    for n, s in node.items()
                    if isinstance(s, Mapping) and (s.get("data") or s.get("stringData"))
                ]
    return found


def _no_plaintext_secrets_in_helm_values(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in HELM_RELEASES:
        return
    paths = _plaintext_secrets(args.props.get("values"))
    if paths:
        report(
            f"Helm release {args.name}: values {', '.join(paths)} hold a secret in plain text (Helm keeps values in "
            "the release Secret and pulumi state); create a Kubernetes Secret and pass its name instead "
            "(fernetKeySecretName, data.metadataSecretName, extraSecrets by reference, env valueFrom.secretKeyRef)."
        )


POLICIES = [
    ResourceValidationPolicy(
        name="k8s-load-balancers-internal",
        description="No Service, Ingress or Helm values build an internet-facing load balancer unless allowed.",
        validate=_load_balancers_internal,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PolicyConfigSchema(properties={ALLOW_INTERNET_FACING: {"type": "boolean", "default": False}}),
    ),
    ResourceValidationPolicy(
        name="helm-no-plaintext-secrets",
        description="Helm values never carry a password, key, token or connection string with credentials.",
        validate=_no_plaintext_secrets_in_helm_values,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
