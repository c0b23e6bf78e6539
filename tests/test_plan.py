"""plan.py and its text: every resource (pulumi-eks insides too), section order, policies in full, units, CLI."""

from __future__ import annotations

import dataclasses
import json
import re
from importlib.metadata import version
from pathlib import Path

import pytest

import plan
from offline import REPO, Inventory, run_stack
from offline.plan_items import build_plan
from offline.remote_components import (
    PULUMI_EKS_VERSION,
    UnmodelledInputError,
    cluster_resources,
    node_group_resources,
)
from offline.report import render_json, render_text
from offline.units import bytes_as_gib, duration
from tests.support import STACKS, override, stack_inventory, stack_settings

CLUSTER = "eks:index:Cluster"
NODES = "eks:index:ManagedNodeGroup"


def created(text: str) -> list[tuple[str, str]]:
    """(type, name) of every `+` line of a plan text."""
    return [(m[1], m[2]) for m in re.finditer(r"^  \+ (\S+)  (\S+)", text, re.M)]


def eks_inputs(resource_type: str) -> dict:
    """The inputs dev passes to a pulumi-eks component (cluster.mode create)."""
    return dict(stack_inventory("dev").one(resource_type).inputs)


def inner_types(resources) -> list[str]:
    return [r.type for r in resources]


# -- pulumi-eks table -------------------------------------------------------------------


def test_the_eks_table_describes_the_installed_and_pinned_pulumi_eks() -> None:
    assert version("pulumi-eks") == PULUMI_EKS_VERSION
    assert f"pulumi-eks=={PULUMI_EKS_VERSION}" in (REPO / "requirements.txt").read_text().split()


def test_dev_cluster_as_configured_creates_role_control_plane_addons_and_oidc_provider() -> None:
    inner = cluster_resources("cluster-eks", eks_inputs(CLUSTER), "eu-west-1")
    names = {(r.type, r.name) for r in inner}
    assert ("aws:eks/cluster:Cluster", "cluster-eks-eksCluster") in names
    assert ("aws:iam/role:Role", "cluster-eks-eksRole-role") in names
    assert ("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "cluster-eks-oidcProvider") in names
    assert {"cluster-eks-kube-proxy", "cluster-eks-vpc-cni"} <= {
        r.name for r in inner if r.type == "aws:eks/addon:Addon"
    }
    # skipDefaultSecurityGroups and API authentication: no security groups, no aws-auth ConfigMap.
    assert not [t for t in inner_types(inner) if t.startswith("aws:ec2/")]
    assert "kubernetes:core/v1:ConfigMap" not in inner_types(inner)


def test_eks_inputs_change_the_set_as_pulumi_eks_does() -> None:
    base = eks_inputs(CLUSTER)
    with_groups = cluster_resources("c", {**base, "skipDefaultSecurityGroups": False}, "eu-west-1")
    assert inner_types(with_groups).count("aws:ec2/securityGroup:SecurityGroup") == 2
    without_oidc = cluster_resources("c", {**base, "createOidcProvider": False}, "eu-west-1")
    assert "aws:iam/openIdConnectProvider:OpenIdConnectProvider" not in inner_types(without_oidc)
    without_entries = {key: value for key, value in base.items() if key != "accessEntries"}  # API mode only
    config_map = cluster_resources("c", {**without_entries, "authenticationMode": "CONFIG_MAP"}, "eu-west-1")
    assert ("kubernetes:core/v1:ConfigMap", "c-nodeAccess") in {(r.type, r.name) for r in config_map}
    admin = {"principalArn": "arn:aws:iam::111122223333:role/admin", "accessPolicies": {"cluster-admin": {}}}
    entries = cluster_resources("c", {**base, "accessEntries": {"admin-0": admin}}, "cn-north-1")
    names = {r.name for r in entries}
    assert {"c-admin-0", "c-admin-0-cluster-admin"} <= names
    policy = next(r for r in entries if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert policy.settings["policyArn"].startswith("arn:aws-cn:")


@pytest.mark.parametrize(
    "change", [{"fargate": True}, {"skipDefaultNodeGroup": False}, {"storageClasses": "gp3"}, {"autoMode": {}}]
)
def test_an_eks_input_the_table_does_not_model_is_refused(change: dict) -> None:
    with pytest.raises(UnmodelledInputError, match=r"pulumi-eks|not modelled"):
        cluster_resources("c", {**eks_inputs(CLUSTER), **change}, "eu-west-1")


def test_node_group_gets_a_launch_template_only_for_the_inputs_that_need_one() -> None:
    base = eks_inputs(NODES)
    assert inner_types(node_group_resources("n", base, "eu-west-1")) == ["aws:eks/nodeGroup:NodeGroup"]
    with_imds = node_group_resources("n", {**base, "enableIMDSv2": True}, "eu-west-1")
    assert "aws:ec2/launchTemplate:LaunchTemplate" in inner_types(with_imds)
    with pytest.raises(UnmodelledInputError):
        node_group_resources("n", {**base, "someNewInput": 1}, "eu-west-1")


# -- the text plan ------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_plan_lists_every_registered_resource_and_counts_them(stack: str) -> None:
    inventory = stack_inventory(stack)
    text = render_text(stack, inventory)
    lines = set(created(text))
    for resource in inventory.resources:
        if resource.custom or resource.type in (CLUSTER, NODES):
            assert (resource.type, resource.name) in lines, resource.name
    items = build_plan(inventory)
    total = sum(1 for r in inventory.resources if r.custom) + items.inner
    assert f"Offline plan for stack {stack}: {total} resources to create" in text


def test_dev_plan_shows_the_eks_cluster_and_node_group_with_what_they_create() -> None:
    text = render_text("dev", stack_inventory("dev"))
    lines = created(text)
    assert ("eks:index:Cluster", "cluster-eks") in lines
    assert ("aws:eks/cluster:Cluster", "cluster-eks-eksCluster") in lines
    assert ("aws:eks/nodeGroup:NodeGroup", "cluster-nodes") in lines
    assert "aws:eks/nodeGroup:NodeGroup  cluster-nodes  (inside cluster-nodes)" in text
    assert "pulumi-eks 4.4.0" in text.splitlines()[0]


def test_existing_cluster_stacks_plan_no_eks_insides() -> None:
    text = render_text("prod", stack_inventory("prod"))
    assert "(inside " not in text
    assert "pulumi-eks" not in text.splitlines()[0]


@pytest.mark.parametrize("stack", STACKS)
def test_sections_come_in_order_aws_kubernetes_state_outputs(stack: str) -> None:
    text = render_text(stack, stack_inventory(stack))
    heads = [text.index(h) for h in ("## AWS:", "## Kubernetes:", "## Generated by Pulumi", "== stack outputs")]
    assert heads == sorted(heads)
    aws, kubernetes = heads[0], heads[1]
    for kind, name in created(text):
        position = text.index(f"+ {kind}  {name}")
        if kind.startswith("aws:"):
            assert aws < position < kubernetes, name
        if kind.startswith("kubernetes:"):
            assert position > kubernetes, name


def test_helm_values_are_summarised_unless_asked_for_then_printed_last() -> None:
    inventory = stack_inventory("uat")
    short = render_text("uat", inventory)
    assert "## Helm values" not in short
    assert "airflowVersion" not in short
    assert "plan.py --values prints them in full" in short
    full = render_text("uat", inventory, values=True)
    assert full.index("\n## Helm values\n") > full.index("== stack outputs")
    assert "airflowVersion: 3.1.7" in full[full.index("## Helm values") :]


@pytest.mark.parametrize("stack", STACKS)
def test_every_iam_policy_is_printed_in_full_as_indented_json(stack: str) -> None:
    inventory = stack_inventory(stack)
    text = render_text(stack, inventory)
    documents = [r.inputs["assumeRolePolicy"] for r in inventory.of_type("aws:iam/role:Role")]
    documents += [r.inputs["policy"] for r in inventory.of_type("aws:iam/rolePolicy:RolePolicy")]
    documents += [r.inputs["policy"] for r in inventory.of_type("aws:s3/bucketPolicy:BucketPolicy")]
    assert len(documents) >= 12
    for document in documents:
        pretty = json.dumps(json.loads(document), indent=2)
        assert "\n".join("        " + line for line in pretty.splitlines()) in text
    assert "..." not in text


def test_sizes_and_durations_are_also_shown_in_human_units() -> None:
    settings = stack_settings("prod")
    text = render_text("prod", stack_inventory("prod"))
    free = settings.database.alarms.free_storage_gib
    assert f"threshold: {free * 1024**3}  ({free} GiB)" in text
    storage = settings.database.allocated_storage_gib
    assert f"allocatedStorage: {storage}  ({storage} GiB)" in text
    timeout = settings.airflow.helm.timeout_seconds
    assert f"timeout: {timeout}  ({duration(timeout)})" in text


@pytest.mark.parametrize(
    ("seconds", "shown"), [(900, "15 min"), (90, "1 min 30 s"), (3600, "1 h"), (45, "45 s"), (3660, "1 h 1 min")]
)
def test_duration(seconds: int, shown: str) -> None:
    assert duration(seconds) == shown


def test_bytes_as_gib() -> None:
    assert bytes_as_gib(5 * 1024**3) == "5 GiB"
    assert bytes_as_gib(1.5 * 1024**3) == "1.5 GiB"


# -- the CLI -------------------------------------------------------------------------------


@pytest.fixture
def cached_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """plan.main uses the suite's cached stack runs instead of running the program again."""
    monkeypatch.setattr(plan, "run_stack", stack_inventory)


def test_stack_all_writes_one_document_per_stack(cached_runs, tmp_path: Path, capsys) -> None:
    target = tmp_path / "plans.json"
    assert plan.main(["--stack", "all", "--json", str(target)]) == 0
    first = target.read_bytes()
    document = json.loads(first)
    assert list(document) == ["stacks"]
    assert list(document["stacks"]) == sorted(STACKS)
    for stack in STACKS:
        assert document["stacks"][stack] == json.loads(render_json(stack, stack_inventory(stack)))
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("Offline plan for stack")] == [
        f"Offline plan for stack {s}: " + line.split(": ", 1)[1]
        for s, line in zip(STACKS, [render_text(s, stack_inventory(s)).splitlines()[0] for s in STACKS], strict=True)
    ]
    assert plan.main(["--stack", "all", "--json", str(target)]) == 0
    assert target.read_bytes() == first


def test_single_stack_json_keeps_its_shape(cached_runs, tmp_path: Path) -> None:
    target = tmp_path / "uat.json"
    assert plan.main(["--stack", "uat", "--json", str(target)]) == 0
    assert target.read_text() == render_json("uat", stack_inventory("uat"))
    assert set(json.loads(target.read_text())) == {"stack", "resources", "outputs"}


def test_json_into_a_missing_folder_is_one_line_and_exit_2(monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setattr(plan, "run_stack", lambda stack: pytest.fail("ran a stack before checking --json"))
    assert plan.main(["--stack", "dev", "--json", str(tmp_path / "missing" / "plan.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "missing" in err and "does not exist" in err and "Traceback" not in err


def test_unknown_stack_lists_the_stacks_that_exist(capsys) -> None:
    assert plan.main(["--stack", "no-such-stack"]) == 2
    err = capsys.readouterr().err
    assert "Pulumi.no-such-stack.yaml not found" in err
    assert f"stacks here: {', '.join(STACKS)}" in err
    assert plan.available_stacks() == list(STACKS)


def test_stack_all_with_one_bad_stack_exits_2_and_writes_no_json(monkeypatch, tmp_path: Path, capsys) -> None:
    broken = override("prod", "database.multiAz", False)
    monkeypatch.setattr(
        plan, "run_stack", lambda stack: run_stack(stack, broken) if stack == "prod" else stack_inventory(stack)
    )
    target = tmp_path / "plans.json"
    assert plan.main(["--stack", "all", "--json", str(target)]) == 2
    captured = capsys.readouterr()
    assert "[prod] error:" in captured.err
    assert "airflow-platform:database.multiAz" in captured.err
    assert "Offline plan for stack dev" in captured.out
    assert not target.exists()


def test_values_flag_prints_the_helm_values_last(cached_runs, capsys) -> None:
    assert plan.main(["--stack", "dev", "--values"]) == 0
    out = capsys.readouterr().out
    assert out.index("\n## Helm values\n") > out.index("== stack outputs")


def test_an_unmodelled_eks_input_stops_the_plan_with_exit_1(monkeypatch, capsys) -> None:
    dev = stack_inventory("dev")
    changed = [
        dataclasses.replace(r, inputs={**r.inputs, "fargate": True}) if r.type == CLUSTER else r for r in dev.resources
    ]
    inventory = Inventory(resources=changed, outputs=dev.outputs, region=dev.region)
    monkeypatch.setattr(plan, "run_stack", lambda stack: inventory)
    assert plan.main(["--stack", "dev"]) == 1
    assert "fargate" in capsys.readouterr().err
