"""The front door as the program wires it: per-stack load balancer, binding, controller, URL, API peers."""

from __future__ import annotations

import json
from collections.abc import Callable

import pulumi
import pytest

import wiring
from components.lb_controller import NAMESPACE, SERVICE_ACCOUNT
from components.load_balancer import READINESS_GATE_LABEL, WebLoadBalancer, WebLoadBalancerArgs
from config import ConfigError
from config.front_door_rules import API_TERMINATION_GRACE_SECONDS
from config.naming import aws_names
from offline import Inventory
from offline.cloud import ACCOUNT_ID, OfflineCloud
from offline.engine import unwrap
from tests.support import PROJECT_PREFIX as P
from tests.support import (
    REGION,
    STACKS,
    SUBNETS,
    VPC,
    environment_of,
    override,
    stack_inventory,
    stack_object,
    stack_settings,
)
from tests.values_support import AIRFLOW_2, airflow_override
from tests.variants import UAT_OWN_LB_SUBNETS, airflow_2_stack, uat_with_own_lb_subnets_and_longer_backups

LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
BINDING = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
RELEASE = "kubernetes:helm.sh/v3:Release"
CONTROLLER = "airflow-platform:network:LoadBalancerController"


def airflow_values(inventory: Inventory) -> dict:
    return unwrap(inventory.one(RELEASE, "airflow-release").inputs["values"])


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_has_an_internal_load_balancer_of_its_type_admitting_exactly_its_clients(stack: str) -> None:
    settings, inventory = stack_settings(stack), stack_inventory(stack)
    front_door = settings.front_door
    lb = inventory.one(LB).inputs
    assert lb["internal"] is True
    assert lb["loadBalancerType"] == {"nlb": "network", "alb": "application"}[front_door.type]
    assert (front_door.type, front_door.tls) == {"dev": ("nlb", False), "uat": ("nlb", False), "prod": ("alb", True)}[
        environment_of(stack)
    ]
    group = inventory.one("aws:ec2/securityGroup:SecurityGroup", "front-door-sg")
    rules = [r.inputs for r in inventory.of_type(INGRESS) if r.parent == group.parent]
    ports = {listener.inputs["port"] for listener in inventory.of_type(LISTENER)}
    assert ports == ({443, 80} if front_door.type == "alb" and front_door.tls else {front_door.port or 80})
    for port in ports:
        admitted = sorted(r["cidrIpv4"] for r in rules if r["fromPort"] == port == r["toPort"])
        assert admitted == sorted(front_door.client_cidrs)
    assert {r["fromPort"] for r in rules} == ports


def test_prod_serves_https_with_its_certificate_and_redirects_http() -> None:
    settings, inventory = stack_settings("prod"), stack_inventory("prod")
    listeners = {r.inputs["protocol"]: r.inputs for r in inventory.of_type(LISTENER)}
    assert set(listeners) == {"HTTPS", "HTTP"}
    assert listeners["HTTPS"]["certificateArn"] == settings.front_door.certificate_arn
    assert listeners["HTTPS"]["sslPolicy"].startswith("ELBSecurityPolicy-TLS13-1-2-")
    assert listeners["HTTP"]["defaultActions"][0]["type"] == "redirect"
    lb = inventory.one(LB).inputs
    assert lb["enableDeletionProtection"] is True
    assert lb["accessLogs"]["enabled"] is True


@pytest.mark.parametrize("stack", STACKS)
def test_target_group_checks_the_majors_health_path_on_the_api_port_the_release_exports(stack: str) -> None:
    settings, inventory = stack_settings(stack), stack_inventory(stack)
    group = inventory.one(TARGET_GROUP).inputs
    assert group["healthCheck"]["path"] == settings.shape.health_path == "/api/v2/monitor/health"
    assert group["targetType"] == "ip"
    assert group["port"] == inventory.outputs["apiServicePort"]
    assert group["deregistrationDelay"] < 30  # the API pods' termination grace period (chart 1.19.0)


def test_airflow_2_health_path_reaches_the_load_balancer_args() -> None:
    settings = stack_settings("uat", airflow_override("uat", **AIRFLOW_2))
    args = wiring.load_balancer_args(settings, aws_names(settings), VPC, pulumi.Output.from_input(ACCOUNT_ID))
    assert args.health_check_path == "/health"
    assert args.target_port == settings.shape.api_service_port


@pytest.mark.parametrize("stack", STACKS)
def test_binding_names_the_service_and_port_the_release_exports_and_waits_for_it(stack: str) -> None:
    inventory = stack_inventory(stack)
    binding = inventory.one(BINDING)
    spec = unwrap(binding.inputs["spec"])
    assert spec["serviceRef"] == {
        "name": inventory.outputs["apiServiceName"],
        "port": inventory.outputs["apiServicePort"],
    }
    assert binding.inputs["metadata"]["namespace"] == inventory.outputs["namespace"]
    assert spec["targetType"] == "ip"
    settings = stack_settings(stack)
    protocol = {"alb": "HTTP", "nlb": "TCP"}[settings.front_door.type]
    assert (spec["targetGroupProtocol"], spec["ipAddressType"]) == (protocol, "ipv4")
    assert spec["vpcID"] == settings.network.vpc_id
    # The controller gates the API pods' readiness on their target's health (rollouts keep serving).
    labels = inventory.one("kubernetes:core/v1:Namespace", "airflow-namespace").inputs["metadata"]["labels"]
    assert labels[READINESS_GATE_LABEL] == "enabled"
    forwards = [a for r in inventory.of_type(LISTENER) for a in r.inputs["defaultActions"] if a["type"] == "forward"]
    assert [a["targetGroupArn"] for a in forwards] == [spec["targetGroupARN"]]
    waits_for = set(binding.dependencies)
    assert inventory.one(RELEASE, "airflow-release").urn in waits_for
    controller = inventory.of_type(CONTROLLER)
    if stack_settings(stack).cluster.mode == "create":
        assert inventory.one(RELEASE, "lb-controller-release").urn in waits_for
    else:
        assert controller == [], "an existing cluster already runs the controller (frontDoor.controller.install)"


def test_the_controller_dev_installs_is_trusted_by_exactly_its_service_account() -> None:
    inventory = stack_inventory("dev")
    [role] = [
        r
        for r in inventory.of_type("aws:iam/role:Role")
        if r.inputs["name"] == aws_names(stack_settings("dev")).lb_controller_role
    ]
    condition = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    subjects = [v for k, v in condition.items() if k.endswith(":sub")]
    assert subjects == [f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"]


@pytest.mark.parametrize("stack", STACKS)
def test_airflow_url_is_exported_and_is_airflows_base_url(stack: str) -> None:
    inventory = stack_inventory(stack)
    url = inventory.outputs["airflowUrl"]
    assert airflow_values(inventory)["config"]["api"]["base_url"] == url
    expected = "https://airflow.data.example.com" if stack == "prod" else "http://"
    assert url.startswith(expected)
    assert "airflowUrl" not in inventory.secret_outputs


@pytest.mark.parametrize("stack", ["uat", "prod"])
def test_api_network_policy_admits_the_load_balancers_subnets_and_airflows_pods(stack: str) -> None:
    """Neither uat's NLB (no client-IP preservation) nor prod's ALB (a proxy) connects from the clients.

    Prod's load balancer has subnets of its own, so its blocks hold no pod or node of the stack.
    """
    settings, inventory = stack_settings(stack), stack_inventory(stack)
    cloud = OfflineCloud(REGION)
    lb_subnets = settings.front_door.subnet_ids or settings.network.private_subnet_ids
    subnets = sorted(cloud.describe_subnet(s)["cidrBlock"] for s in lb_subnets)
    peers = airflow_values(inventory)["apiServer"]["networkPolicy"]["ingress"]["from"]
    assert [p["ipBlock"]["cidr"] for p in peers if "ipBlock" in p] == subnets
    assert inventory.one(LB).inputs["subnets"] == list(lb_subnets)
    if stack == "prod":
        workload_blocks = {cloud.describe_subnet(s)["cidrBlock"] for s in settings.network.private_subnet_ids}
        assert not workload_blocks & set(subnets)
    assert {"podSelector": {"matchLabels": {"tier": "airflow", "release": "airflow"}}} in peers


def test_an_nlb_preserving_client_ips_is_reached_from_the_clients_and_its_health_checks(
    run_components: Callable[..., Inventory],
) -> None:
    def program() -> None:
        args = WebLoadBalancerArgs(
            type="nlb",
            name="etl-airflow-uat",
            vpc_id=VPC,
            subnet_ids=SUBNETS,
            client_cidrs=["10.60.4.0/22", "10.60.0.0/22"],
            target_port=8080,
            health_check_path="/api/v2/monitor/health",
            preserve_client_ip=True,
        )
        pulumi.export("sources", WebLoadBalancer("front-door", args).source_cidrs())

    sources = run_components(program).outputs["sources"]
    subnets = [OfflineCloud(REGION).describe_subnet(s)["cidrBlock"] for s in SUBNETS]
    # The clients, and the NLB's own subnets: its health checks come from its node addresses.
    assert sources == sorted(["10.60.0.0/22", "10.60.4.0/22", *subnets])


@pytest.mark.parametrize(
    ("front_door", "key", "words"),
    [
        ({"certificateArn": None}, "frontDoor.certificateArn", "prod requires TLS"),
        ({"internetFacing": True}, "frontDoor.internetFacing", "prod requires false"),
    ],
)
def test_prod_refuses_a_front_door_without_tls_or_facing_the_internet(front_door, key, words) -> None:
    document = {**stack_object("prod", "frontDoor"), **front_door}
    document = {k: v for k, v in document.items() if v is not None}
    with pytest.raises(ConfigError) as caught:
        stack_settings("prod", {P + "frontDoor": document})
    assert any(str(p).startswith(P + key) and words in str(p) for p in caught.value.problems)


def test_a_stack_without_client_cidrs_is_refused_by_name() -> None:
    with pytest.raises(ConfigError) as caught:
        stack_settings("uat", override("uat", "frontDoor.clientCidrs", None))
    assert any(str(p).startswith(P + "frontDoor.clientCidrs") for p in caught.value.problems)


@pytest.mark.parametrize(("stack", "lb_type"), [("uat", "nlb"), ("prod", "alb")])
def test_on_airflow_2_the_load_balancer_fronts_the_webserver(stack: str, lb_type: str) -> None:
    """The NLB (uat) and the ALB (prod) on Airflow 2: /health, the webserver Service, [webserver] base_url."""
    inventory = airflow_2_stack(stack)
    assert inventory.one(LB).inputs["loadBalancerType"] == {"nlb": "network", "alb": "application"}[lb_type]
    group = inventory.one(TARGET_GROUP).inputs
    assert group["healthCheck"]["path"] == "/health"
    service, port = inventory.outputs["apiServiceName"], inventory.outputs["apiServicePort"]
    assert (service, port) == ("airflow-webserver", 8080)  # chart 1.19.0: <release>-webserver, port airflow-ui
    assert group["port"] == port
    spec = unwrap(inventory.one(BINDING).inputs["spec"])
    assert spec["serviceRef"] == {"name": service, "port": port}
    values = airflow_values(inventory)
    url = inventory.outputs["airflowUrl"]
    assert values["config"]["webserver"]["base_url"] == url
    assert "base_url" not in values["config"].get("api", {})
    assert url.startswith("https://" if stack == "prod" else "http://")
    peers = values["webserver"]["networkPolicy"]["ingress"]["from"]
    cloud = OfflineCloud(REGION)
    settings = stack_settings(stack)
    lb_subnets = settings.front_door.subnet_ids or settings.network.private_subnet_ids
    subnets = sorted(cloud.describe_subnet(s)["cidrBlock"] for s in lb_subnets)
    assert [p["ipBlock"]["cidr"] for p in peers if "ipBlock" in p] == subnets


def test_load_balancer_subnets_of_its_own_are_all_the_api_server_admits_besides_airflow() -> None:
    own = UAT_OWN_LB_SUBNETS
    inventory = uat_with_own_lb_subnets_and_longer_backups()
    assert inventory.one(LB).inputs["subnets"] == own
    cloud = OfflineCloud(REGION)
    peers = airflow_values(inventory)["apiServer"]["networkPolicy"]["ingress"]["from"]
    assert [p["ipBlock"]["cidr"] for p in peers if "ipBlock" in p] == sorted(
        cloud.describe_subnet(s)["cidrBlock"] for s in own
    )


@pytest.mark.parametrize(
    ("subnets", "said"),
    [(["subnet-0f1e2d3c4b5a69871"], "at least 2"), (["subnet-0f1e2d3c4b5a69871"] * 2, "distinct subnet ids")],
)
def test_load_balancer_subnets_are_checked_by_name(subnets: list[str], said: str) -> None:
    with pytest.raises(ConfigError) as caught:
        stack_settings("uat", override("uat", "frontDoor.subnetIds", subnets))
    assert any(str(p).startswith(P + "frontDoor.subnetIds") and said in str(p) for p in caught.value.problems)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_leaving_api_pod_keeps_serving_while_the_load_balancer_drains_it(stack: str) -> None:
    """preStop sleep, then SIGTERM: no new requests reach a pod that is already shutting down."""
    inventory = stack_inventory(stack)
    hooks = airflow_values(inventory)["apiServer"]["containerLifecycleHooks"]
    command = hooks["preStop"]["exec"]["command"]
    assert command[0] == "sleep"  # coreutils in the Airflow image; no shell needed
    drain = int(command[1])
    deregistration = inventory.one(TARGET_GROUP).inputs["deregistrationDelay"]
    assert 10 <= drain < API_TERMINATION_GRACE_SECONDS  # room for the server's own shutdown after SIGTERM
    assert deregistration > drain  # connections the LB still holds stay open past the drain
