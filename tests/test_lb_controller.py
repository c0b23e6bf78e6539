"""LoadBalancerController: pinned chart in kube-system, its own IRSA role, the documented IAM policy."""

from __future__ import annotations

import json
from functools import cache

import pytest

from components.lb_controller import (
    CHART_REPOSITORY,
    CHART_VERSION,
    IRSA_ANNOTATION,
    POLICY_FILE,
    LoadBalancerController,
    LoadBalancerControllerArgs,
    controller_policy_statements,
)
from config.front_door import CONTROLLER_CHART_VERSIONS
from offline import Inventory
from offline.engine import offline_engine, run_program
from tests.support import REGION, VPC

ISSUER = f"oidc.eks.{REGION}.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
CONTROLLER = LoadBalancerControllerArgs(
    cluster_name="data-test",
    region=REGION,
    vpc_id=VPC,
    oidc_provider_arn=f"arn:aws:iam::111122223333:oidc-provider/{ISSUER}",
    oidc_issuer=f"https://{ISSUER}",
    role_name="data-test-aws-load-balancer-controller",
    tags={"environment": "dev"},
)
RELEASE = "kubernetes:helm.sh/v3:Release"
POLICY = "aws:iam/rolePolicy:RolePolicy"


@cache
def built() -> Inventory:
    with offline_engine("dev", {"aws:region": REGION}, [], [], REGION) as inventory:
        return run_program(inventory, lambda: LoadBalancerController("lbc", CONTROLLER))


def test_the_role_trusts_exactly_the_controllers_service_account() -> None:
    role = built().one("aws:iam/role:Role").inputs
    [statement] = json.loads(role["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Federated": CONTROLLER.oidc_provider_arn}
    assert statement["Condition"] == {
        "StringEquals": {
            f"{ISSUER}:sub": "system:serviceaccount:kube-system:aws-load-balancer-controller",
            f"{ISSUER}:aud": "sts.amazonaws.com",
        }
    }
    assert role["name"] == CONTROLLER.role_name


def test_the_inline_policy_is_the_documented_one() -> None:
    policy = json.loads(built().one(POLICY).inputs["policy"])
    assert policy["Statement"] == json.loads(POLICY_FILE.read_text())["Statement"]


def test_the_policy_file_is_the_one_published_for_the_pinned_chart() -> None:
    text = POLICY_FILE.read_text()
    statements = json.loads(text)["Statement"]
    actions = sum(len(s["Action"]) for s in statements)
    # Measures of docs/install/iam_policy.json at the chart's tag, noted with its source beside the file.
    assert (len(statements), actions, len(text.encode()), sum(not c.isspace() for c in text)) == (16, 86, 8955, 5196)
    sidecar = POLICY_FILE.with_suffix(".md").read_text()
    assert f"tag `v{CHART_VERSION}`" in sidecar and "docs/install/iam_policy.json" in sidecar
    assert CONTROLLER_CHART_VERSIONS == (CHART_VERSION,)


@pytest.mark.parametrize("aws_partition", ["aws-us-gov", "aws-cn"])
def test_other_partitions_get_their_own_arns(aws_partition: str) -> None:
    text = json.dumps(controller_policy_statements(aws_partition))
    assert '"arn:aws:' not in text
    assert text.count(f'"arn:{aws_partition}:') == POLICY_FILE.read_text().count('"arn:aws:') == 13


def test_release_pins_the_chart_in_kube_system_with_cluster_facts_and_the_irsa_account() -> None:
    inventory = built()
    release = inventory.one(RELEASE)
    inputs = release.inputs
    assert (inputs["chart"], inputs["version"], inputs["repositoryOpts"]) == (
        "aws-load-balancer-controller",
        CHART_VERSION,
        {"repo": CHART_REPOSITORY},
    )
    assert inputs["namespace"] == "kube-system"
    values = inputs["values"]
    assert (values["clusterName"], values["region"], values["vpcId"]) == ("data-test", REGION, VPC)
    role_arn = f"arn:aws:iam::111122223333:role/{CONTROLLER.role_name}"
    assert values["serviceAccount"] == {
        "create": True,
        "name": "aws-load-balancer-controller",
        "annotations": {IRSA_ANNOTATION: role_arn},
    }
    assert (values["keepTLSSecret"], values["enableServiceMutatorWebhook"]) == (True, False)
    assert (values["replicaCount"], values["podDisruptionBudget"]) == (2, {"maxUnavailable": 1})
    assert "skipAwait" not in inputs  # the release waits for the controller to be ready
    assert inventory.one(POLICY).urn in release.dependencies


def test_a_chart_version_without_its_policy_file_is_refused() -> None:
    with pytest.raises(ValueError, match=r"IAM policy of chart 3\.5\.0"):
        LoadBalancerControllerArgs(**{**CONTROLLER.__dict__, "chart_version": "3.4.0"})
