"""The log shipper's values rendered by the vendored aws-for-fluent-bit chart: what the DaemonSet really gets."""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path

import yaml

from airflow_chart.render import RenderedChart, render_chart_at
from components.log_shipper import CHART, CHART_VERSION, IRSA_ANNOTATION, MULTILINE_PARSER, SERVICE_ACCOUNT
from config.naming import installs_log_shipper
from offline import REPO
from offline.engine import unwrap
from tests.support import STACKS, environment_of, namespace_of, stack_inventory, stack_settings

FOLDER = REPO / "charts" / CHART / CHART_VERSION
# One stack that installs the shipper, a prod one when there is one.
STACK = sorted(
    (s for s in STACKS if installs_log_shipper(stack_settings(s))), key=lambda s: environment_of(s) != "prod"
)[0]
NAMESPACE = namespace_of(STACK)


@cache
def rendered() -> RenderedChart:
    release = stack_inventory(STACK).one("kubernetes:helm.sh/v3:Release", "log-shipper-release").inputs
    return render_chart_at(FOLDER, unwrap(release["values"]), release["name"], release["namespace"])


def fluent_bit_conf() -> str:
    return rendered().get("ConfigMap", f"{NAMESPACE}-logs")["data"]["fluent-bit.conf"]


def sections(text: str) -> list[tuple[str, dict[str, list[str]]]]:
    """Classic-mode sections: `[NAME]` at the start of a line, `Key Value` lines indented below it."""
    found: list[tuple[str, dict[str, list[str]]]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        header = re.fullmatch(r"\[([A-Z_]+)\]", line)
        if header:
            found.append((header.group(1), {}))
            continue
        assert line.startswith("    ") and found, f"setting outside a section or not indented: {line!r}"
        key, _, value = line.strip().partition(" ")
        found[-1][1].setdefault(key.lower(), []).append(value.strip())
    return found


def test_the_vendored_chart_is_the_pinned_one_unmodified() -> None:
    chart = yaml.safe_load((FOLDER / "Chart.yaml").read_text())
    assert (chart["name"], chart["version"]) == (CHART, CHART_VERSION)
    for line in (FOLDER / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        assert hashlib.sha256((FOLDER / name).read_bytes()).hexdigest() == digest, name
    listed = {line.split("  ", 1)[1] for line in (FOLDER / "SHA256SUMS").read_text().splitlines()}
    on_disk = {str(p.relative_to(FOLDER)) for p in Path(FOLDER).rglob("*") if p.is_file()}
    assert listed == on_disk - {"README.md", "SHA256SUMS"}
    assert "Apache License" in (FOLDER / "LICENSE").read_text()


def test_the_config_tails_only_the_airflow_namespace_and_writes_only_to_its_groups() -> None:
    parsed = sections(fluent_bit_conf())
    inputs = [settings for name, settings in parsed if name == "INPUT"]
    assert inputs and all(settings["name"] == ["tail"] for settings in inputs)
    for settings in inputs:
        [paths] = settings["path"]
        assert all(path.startswith(f"/var/log/containers/*_{NAMESPACE}_") for path in paths.split(","))
    assert not any(settings["path"] == ["/var/log/containers/*.log"] for settings in inputs)  # the chart's default
    outputs = [settings for name, settings in parsed if name == "OUTPUT"]
    assert {s["name"][0] for s in outputs} == {"cloudwatch_logs"}
    groups = sorted(s["log_group_name"][0] for s in outputs)
    assert groups == sorted(stack_inventory(STACK).outputs["logGroupNames"].values())
    assert all(s["auto_create_group"] == ["Off"] for s in outputs)
    [service] = [settings for name, settings in parsed if name == "SERVICE"]
    assert "/fluent-bit/etc/parser_extra.conf" in service["parsers_file"]
    [multiline] = [settings for name, settings in parsed if name == "FILTER"]
    assert multiline["name"] == ["multiline"] and multiline["multiline.parser"] == [MULTILINE_PARSER]
    assert "kubernetes" not in {settings["name"][0] for name, settings in parsed if name == "FILTER"}


def test_the_multiline_parser_lands_in_the_parsers_file_the_service_loads() -> None:
    data = rendered().get("ConfigMap", f"{NAMESPACE}-logs")["data"]
    [(name, parser)] = sections(data["parser_extra.conf"])
    assert name == "MULTILINE_PARSER" and parser["name"] == [MULTILINE_PARSER]
    assert [rule.split()[0] for rule in parser["rule"]] == ['"start_state"', '"cont"']


def test_the_daemonset_reads_the_container_logs_read_only_writes_only_its_state_and_runs_locked_down() -> None:
    [daemonset] = rendered().of_kind("DaemonSet")
    assert daemonset["metadata"]["namespace"] == f"{NAMESPACE}-logs"
    pod = daemonset["spec"]["template"]["spec"]
    host_paths = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v}
    state = f"/var/fluent-bit/state/{NAMESPACE}-logs"  # one directory per stack's shipper
    assert sorted(host_paths.values()) == sorted(["/var/log/containers", "/var/log/pods", state])
    assert pod["serviceAccountName"].strip() == SERVICE_ACCOUNT
    [container] = pod["containers"]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    writable = {host_paths[name] for name, m in mounts.items() if name in host_paths and not m.get("readOnly")}
    assert writable == {state}
    # Container logs are links into /var/log/pods: both read-only, at the node's own paths so the links resolve.
    for path in ("/var/log/containers", "/var/log/pods"):
        [name] = [n for n, p in host_paths.items() if p == path]
        assert mounts[name]["mountPath"] == path and mounts[name]["readOnly"] is True
    [state_mount] = [m["mountPath"] for n, m in mounts.items() if host_paths.get(n) == state]
    tails = [settings for name, settings in sections(fluent_bit_conf()) if name == "INPUT"]
    assert tails and all(t["db"][0].startswith(state_mount + "/") for t in tails)
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["image"] == "public.ecr.aws/aws-observability/aws-for-fluent-bit:3.2.1"


def test_the_service_account_carries_the_role_and_cluster_wide_names_are_per_stack() -> None:
    [account] = rendered().of_kind("ServiceAccount")
    assert account["metadata"]["name"] == SERVICE_ACCOUNT
    role = stack_inventory(STACK).one("aws:iam/role:Role", "log-shipper-irsa-role").inputs["name"]
    assert account["metadata"]["annotations"] == {IRSA_ANNOTATION: f"arn:aws:iam::111122223333:role/{role}"}
    [cluster_role] = rendered().of_kind("ClusterRole")
    assert cluster_role["metadata"]["name"] == f"{NAMESPACE}-logs"  # two stacks in one cluster never collide
