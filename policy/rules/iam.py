"""IAM: web-identity trust pinned with StringEquals on sub and aud; no wildcard principal in a trust
policy; no wildcard actions; no admin managed policy; no PassRole or '*' on everything; data actions
(S3, Secrets Manager, KMS) never on Resource "*"."""

from __future__ import annotations

import re
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


# Attachments of managed policies: type -> input holding the ARN(s).
ATTACHMENTS = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "policyArn",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": "policyArn",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": "policyArn",
    "aws:iam/policyAttachment:PolicyAttachment": "policyArn",
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": "policyArns",
    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive": "policyArns",
    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive": "policyArns",
}
# AWS managed policies that grant (or let one grant oneself) everything.
ADMIN_MANAGED_POLICIES = frozenset({"AdministratorAccess", "PowerUserAccess", "IAMFullAccess"})
# Actions that let a holder act as another role or as everything, whatever the rest of the policy says.
ESCALATION_ACTIONS = frozenset({"*", "*:*", "iam:*", "iam:passrole", "sts:*"})


def _admin_policy_arns(args: ResourceValidationArgs) -> list[str]:
    if args.resource_type in ATTACHMENTS:
        arns = as_list(args.props.get(ATTACHMENTS[args.resource_type]))
    elif args.resource_type == ROLE:
        arns = as_list(args.props.get("managedPolicyArns"))
    else:
        return []
    found = []
    for arn in map(str, arns):
        managed = re.fullmatch(r"arn:aws[a-z-]*:iam::aws:policy/(?:.*/)?([^/]+)", arn)
        if managed and (managed[1] in ADMIN_MANAGED_POLICIES or managed[1].endswith("FullAccess")):
            found.append(arn)
    return found


def _no_admin_managed_policies(args: ResourceValidationArgs, report: ReportViolation) -> None:
    arns = _admin_policy_arns(args)
    if arns:
        report(
            f"{args.name}: do not attach {', '.join(arns)}; grant the exact actions on the stack's own resources "
            "in an inline policy (components/grants.py)."
        )


def _trust_principals(statement: Mapping[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if isinstance(principal, Mapping):
        return [str(v) for values in principal.values() for v in as_list(values)]
    return [str(v) for v in as_list(principal)]


def _trust_no_wildcard_principal(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ROLE:
        return
    try:
        statements = policy_statements(args.props.get("assumeRolePolicy"))
    except ValueError:
        return  # iam-web-identity-trust-pinned reports it
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        wildcards = [p for p in _trust_principals(statement) if "*" in p]
        if wildcards or statement.get("NotPrincipal") is not None:
            report(
                f"IAM role {args.name}: the trust policy lets {wildcards or 'everyone but NotPrincipal'} assume it; "
                "name the exact service, account role or federated provider."
            )


def _no_privilege_escalation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for statement in _allow_statements(args, report):
        actions = [str(a) for a in as_list(statement.get("Action")) if str(a).lower() in ESCALATION_ACTIONS]
        everywhere = statement.get("NotResource") is not None or any(
            str(r) == "*" or _is_wildcard_resource(r) or str(r).endswith(":role/*")
            for r in as_list(statement.get("Resource"))
        )
        if actions and everywhere:
            report(
                f"{args.name}: {actions} on every resource lets the holder take any role or do anything; "
                "allow iam:PassRole only on the exact role ARNs (with iam:PassedToService), never '*' on '*'."
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
        name="iam-no-admin-managed-policies",
        description="No AdministratorAccess, PowerUserAccess, IAMFullAccess or *FullAccess managed policy attached.",
        validate=_no_admin_managed_policies,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="iam-trust-no-wildcard-principal",
        description="Trust policies name exact principals: no '*' in Principal, no NotPrincipal.",
        validate=_trust_no_wildcard_principal,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="iam-no-privilege-escalation",
        description="No iam:PassRole, iam:*, sts:* or '*' on Resource '*'.",
        validate=_no_privilege_escalation,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="iam-data-actions-scoped",
        description='S3, Secrets Manager and KMS actions never apply to Resource "*".',
        validate=_scoped_data_actions,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
