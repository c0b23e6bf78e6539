"""IAM: web-identity trust pinned with StringEquals on sub and aud; no wildcard actions; data
actions (S3, Secrets Manager, KMS) never on Resource "*"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from .common import as_list, policy_statements

ROLE = "aws:iam/role:Role"
# Identity-based policy documents: type -> input holding the JSON.
POLICY_DOCUMENTS = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"
DATA_SERVICES = ("s3", "secretsmanager", "kms")


def _documents(args: ResourceValidationArgs) -> list[Any]:
    """The identity policy documents a resource carries (inline role policies included)."""
    if args.resource_type in POLICY_DOCUMENTS:
        return [args.props.get(POLICY_DOCUMENTS[args.resource_type])]
    if args.resource_type == ROLE:
        return [p.get("policy") for p in args.props.get("inlinePolicies") or [] if isinstance(p, Mapping)]
    return []


def _allow_statements(args: ResourceValidationArgs, report: ReportViolation) -> list[Mapping[str, Any]]:
    statements: list[Mapping[str, Any]] = []
    for document in _documents(args):
        try:
            statements += [s for s in policy_statements(document) if s.get("Effect") == "Allow"]
        except ValueError:
            report(f"{args.name}: the policy document is not valid JSON.")
    return statements


def _is_wildcard_resource(resource: Any) -> bool:
    text = str(resource)
    return text == "*" or text.split(":", 5)[-1] in ("*", "*/*")


def _web_identity_trust(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ROLE:
        return
    try:
        statements = policy_statements(args.props.get("assumeRolePolicy"))
    except ValueError:
        report(f"IAM role {args.name}: assume_role_policy is not valid JSON.")
        return
    for statement in statements:
        actions = as_list(statement.get("Action"))
        if statement.get("Effect") != "Allow" or not {WEB_IDENTITY, "sts:*", "*"} & set(actions):
            continue
        equals = (statement.get("Condition") or {}).get("StringEquals") or {}
        for claim in ("sub", "aud"):
            values = [str(v) for key in equals if key.endswith(f":{claim}") for v in as_list(equals[key])]
            if not values or any("*" in v or "?" in v for v in values):
                report(
                    f"IAM role {args.name}: pin the web-identity trust with a StringEquals condition on "
                    f"<issuer>:{claim} and exact values (given {values or 'none'}); "
                    + (
                        "sub is system:serviceaccount:<namespace>:<name> for IRSA."
                        if claim == "sub"
                        else "aud is sts.amazonaws.com."
                    )
                )


def _no_wildcard_actions(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for statement in _allow_statements(args, report):
        wildcards = [str(a) for a in as_list(statement.get("Action")) if "*" in str(a)]
        if wildcards:
            report(f"{args.name}: replace the wildcard actions {wildcards} with the exact service:Action names needed.")
        if statement.get("NotAction") is not None:
            report(f"{args.name}: replace NotAction in an Allow statement with an explicit Action list.")


def _scoped_data_actions(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for statement in _allow_statements(args, report):
        data_actions = [
            str(a) for a in as_list(statement.get("Action")) if str(a).split(":")[0].lower() in DATA_SERVICES
        ]
        if not data_actions:
            continue
        if statement.get("NotResource") is not None or any(
            _is_wildcard_resource(r) for r in as_list(statement.get("Resource"))
        ):
            report(
                f"{args.name}: {data_actions} must name exact bucket, object-prefix, secret or key ARNs, "
                'not Resource "*" or NotResource.'
            )


POLICIES = [
    ResourceValidationPolicy(
        name="iam-web-identity-trust-pinned",
        description="Web-identity trust policies pin sub and aud with StringEquals.",
        validate=_web_identity_trust,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="iam-no-wildcard-actions",
        description="Identity policies allow exact actions only (no '*', no NotAction).",
        validate=_no_wildcard_actions,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="iam-data-actions-scoped",
        description='S3, Secrets Manager and KMS actions never apply to Resource "*".',
        validate=_scoped_data_actions,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
