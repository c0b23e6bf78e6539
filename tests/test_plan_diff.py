"""Offline plan diff: per-stack added/changed/removed resources, Helm value paths, both plan shapes."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from offline.plan_diff import MARKER, MAX_COMMENT_CHARS, diff_plans, flatten, load_plans, main, render_markdown
from offline.report import render_json
from tests.support import stack_inventory

RELEASE = "kubernetes:helm.sh/v3:Release"
INSTANCE = "aws:rds/instance:Instance"


@cache
def _plan_text(stack: str) -> str:
    return render_json(stack, stack_inventory(stack))


def plan(stack: str) -> dict[str, Any]:
    """A fresh copy of the real plan document of a stack, as `plan.py --json` writes it."""
    return json.loads(_plan_text(stack))


def resource(document: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return next(r for r in document["resources"] if r["type"] == resource_type)


def write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return path


def test_identical_plans_have_no_changes() -> None:
    diffs = diff_plans({"prod": plan("prod")}, {"prod": plan("prod")})
    assert [d.has_changes for d in diffs] == [False]
    text = render_markdown(diffs)
    assert (
        text.startswith(MARKER) and "| prod | 0 | 0 | 0 |" in text and "No resource, setting or output changes." in text
    )


def test_changed_inputs_helm_value_paths_added_removed_and_outputs() -> None:
    base, head = plan("prod"), plan("prod")
    release = resource(head, RELEASE)
    release["inputs"]["values"]["scheduler"]["replicas"] = 3
    release["inputs"]["values"]["config"]["core"]["new_option"] = "on"
    resource(head, INSTANCE)["inputs"]["backupRetentionPeriod"] = 21
    gone = head["resources"].pop(
        next(i for i, r in enumerate(head["resources"]) if r["name"] == "buckets-logs-lifecycle")
    )
    extra = copy.deepcopy(gone) | {"urn": gone["urn"] + "-archive", "name": "buckets-logs-archive"}
    head["resources"].append(extra)
    head["outputs"]["dbPort"] = 6432

    [diff] = diff_plans({"prod": base}, {"prod": head})
    assert [r["name"] for r in diff.added] == ["buckets-logs-archive"]
    assert [r["name"] for r in diff.removed] == ["buckets-logs-lifecycle"]
    changed = {c.name: c for c in diff.changed}
    assert set(changed) == {"metadata-db-instance", "airflow-release"}
    assert [(c.path, c.before, c.after) for c in changed["metadata-db-instance"].settings] == [
        ("backupRetentionPeriod", 14, 21)
    ]
    assert changed["airflow-release"].settings == []
    assert [c.path for c in changed["airflow-release"].helm_values] == ["config.core.new_option", "scheduler.replicas"]

    text = render_markdown([diff], "base `abc1234`")
    assert "| prod | 1 | 2 | 1 |" in text
    assert "- `scheduler.replicas`: `2` → `3`" in text
    assert '- `config.core.new_option`: `(absent)` → `"on"`' in text
    assert "- `dbPort`: `5432` → `6432`" in text
    assert "on this PR against base `abc1234`" in text


def test_iam_policy_json_changes_show_the_statement_path() -> None:
    base, head = plan("prod"), plan("prod")
    role_policy = next(r for r in head["resources"] if r["type"] == "aws:iam/rolePolicy:RolePolicy")
    document = json.loads(role_policy["inputs"]["policy"])
    document["Statement"][0]["Action"] = ["s3:ListBucket", "s3:GetBucketLocation"]
    role_policy["inputs"]["policy"] = json.dumps(document)
    [change] = diff_plans({"prod": base}, {"prod": head})[0].changed
    assert [c.path for c in change.settings] == ["policy.Statement[0].Action[1]"]


def test_lists_of_named_items_are_keyed_by_name() -> None:
    before = {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}
    after = {"env": [{"name": "B", "value": "2"}, {"name": "A", "value": "9"}]}
    assert flatten(before)["env[A].value"] == "1"
    [diff] = diff_plans({"s": {"resources": [], "outputs": before}}, {"s": {"resources": [], "outputs": after}})
    assert [(c.path, c.before, c.after) for c in diff.outputs] == [("env[A].value", "1", "9")]


def test_single_and_multi_stack_files_and_directories_are_read(tmp_path: Path) -> None:
    single = write(tmp_path / "dev.json", plan("dev"))
    both = write(tmp_path / "all.json", {"stacks": {"uat": plan("uat"), "prod": plan("prod")}})
    assert set(load_plans(single)) == {"dev"}
    assert set(load_plans(both)) == {"uat", "prod"}
    assert set(load_plans(tmp_path)) == {"dev", "uat", "prod"}


def test_unreadable_base_is_reported_and_an_unreadable_head_fails(tmp_path: Path, capsys) -> None:
    base = write(tmp_path / "base.json", "Traceback (most recent call last): ...")
    head = write(tmp_path / "head.json", {"stacks": {"dev": plan("dev"), "prod": plan("prod")}})
    output = tmp_path / "comment.md"
    assert main([str(base), str(head), "--output", str(output)]) == 0
    text = output.read_text()
    assert "| dev | base plan unavailable" in text and "| prod | base plan unavailable" in text
    assert "No resource, setting or output changes." not in text
    assert main([str(head), str(tmp_path / "missing")]) == 1
    assert "no readable plan" in capsys.readouterr().err


def test_a_stack_missing_from_head_is_flagged() -> None:
    [diff] = diff_plans({"uat": plan("uat")}, {"dev": plan("dev")})[1:]
    assert diff.stack == "uat" and not diff.head_available
    assert "| uat | head plan unavailable" in render_markdown([diff])


def test_long_diffs_are_cut_below_githubs_comment_limit() -> None:
    base, head = plan("prod"), plan("prod")
    values = resource(head, RELEASE)["inputs"]["values"]
    values["extra"] = {f"key{i:05d}": "x" * 60 for i in range(2000)}
    text = render_markdown(diff_plans({"prod": base}, {"prod": head}))
    assert len(text) <= MAX_COMMENT_CHARS + 200
    assert "more lines not shown" in text
