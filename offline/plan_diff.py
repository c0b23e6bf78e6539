"""Diff two offline plans per stack and render a short Markdown comment for a pull request.

    python -m offline.plan_diff BASE HEAD [--output FILE] [--base-label TEXT]

BASE and HEAD are `plan.py --json` files, either one stack (`{"stack", "resources", "outputs"}`)
or several (`{"stacks": {"dev": {...}, ...}}`), or directories of such files. A base that cannot
be read (its plan.py failed) is reported as "base plan unavailable"; a head that cannot be read
exits 1. Resources are matched by URN; Helm values show as changed value paths.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MARKER = "<!-- airflow-platform:offline-plan-diff -->"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
COMPARED_FIELDS = ("protect", "retainOnDelete", "parent", "provider", "dependsOn")
MAX_COMMENT_CHARS = 60_000  # GitHub refuses comments over 65,536 characters
MAX_VALUE_CHARS = 80
MISSING = object()

Plans = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Change:
    """One value path whose value differs (MISSING on the side where it does not exist)."""

    path: str
    before: Any
    after: Any


@dataclass
class ResourceChange:
    """A resource present on both sides with different settings."""

    type: str
    name: str
    settings: list[Change]
    helm_values: list[Change]


@dataclass
class StackDiff:
    """What changes in one stack between base and head."""

    stack: str
    base_available: bool = True
    head_available: bool = True
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[ResourceChange] = field(default_factory=list)
    outputs: list[Change] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.outputs)


def _is_plan(document: Any) -> bool:
    return isinstance(document, dict) and isinstance(document.get("resources"), list)


def plans_in(document: Any) -> Plans:
    """Stack name -> plan, from a single-stack document or a `{"stacks": {...}}` one."""
    if isinstance(document, dict) and isinstance(document.get("stacks"), dict):
        return {str(name): plan for name, plan in document["stacks"].items() if _is_plan(plan)}
    if _is_plan(document) and document.get("stack"):
        return {str(document["stack"]): document}
    return {}


def load_plans(path: Path) -> Plans:
    """Every readable plan in a file or a directory of `*.json` files (unreadable ones are skipped)."""
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    plans: Plans = {}
    for file in files:
        try:
            plans.update(plans_in(json.loads(file.read_text())))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
    return plans


def _json_object(text: str) -> Any:
    if text[:1] not in "{[":
        return MISSING
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return MISSING


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf paths of a value: dict keys joined by '.', list items by index or by their `name`.

    JSON text (IAM policies) is parsed first so a change shows as the path that changed.
    """
    if isinstance(value, str) and (parsed := _json_object(value)) is not MISSING:
        value = parsed
    if isinstance(value, dict) and value:
        leaves: dict[str, Any] = {}
        for key in sorted(value):
            leaves.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return leaves
    if isinstance(value, list) and value:
        names = [item.get("name") if isinstance(item, dict) else None for item in value]
        named = all(isinstance(n, str) for n in names) and len(set(names)) == len(names)
        leaves = {}
        for index, item in enumerate(value):
            leaves.update(flatten(item, f"{prefix}[{names[index] if named else index}]"))
        return leaves
    return {prefix: value}


def diff_values(before: Any, after: Any, prefix: str = "") -> list[Change]:
    """Changed leaf paths between two values, sorted by path."""
    old, new = flatten(before, prefix), flatten(after, prefix)
    return [
        Change(path, old.get(path, MISSING), new.get(path, MISSING))
        for path in sorted(old.keys() | new.keys())
        if old.get(path, MISSING) != new.get(path, MISSING)
    ]


def _resource_change(base: dict[str, Any], head: dict[str, Any]) -> ResourceChange | None:
    base_inputs, head_inputs = dict(base.get("inputs") or {}), dict(head.get("inputs") or {})
    helm: list[Change] = []
    if head.get("type") == HELM_RELEASE:
        helm = diff_values(base_inputs.pop("values", {}), head_inputs.pop("values", {}))
    settings = diff_values(base_inputs, head_inputs)
    for name in COMPARED_FIELDS:
        if base.get(name) != head.get(name):
            settings.append(Change(name, base.get(name, MISSING), head.get(name, MISSING)))
    if not settings and not helm:
        return None
    return ResourceChange(str(head.get("type")), str(head.get("name")), settings, helm)


def diff_stack(stack: str, base: dict[str, Any] | None, head: dict[str, Any] | None) -> StackDiff:
    """Added, removed and changed resources (by URN) and changed outputs of one stack."""
    result = StackDiff(stack, base_available=base is not None, head_available=head is not None)
    if base is None or head is None:
        return result
    old = {r["urn"]: r for r in base["resources"] if r.get("custom", True)}
    new = {r["urn"]: r for r in head["resources"] if r.get("custom", True)}
    result.added = [new[urn] for urn in sorted(new.keys() - old.keys())]
    result.removed = [old[urn] for urn in sorted(old.keys() - new.keys())]
    for urn in sorted(old.keys() & new.keys()):
        change = _resource_change(old[urn], new[urn])
        if change:
            result.changed.append(change)
    result.outputs = diff_values(base.get("outputs") or {}, head.get("outputs") or {})
    return result


def diff_plans(base: Plans | None, head: Plans) -> list[StackDiff]:
    """One StackDiff per stack found on either side, sorted by stack name."""
    stacks = sorted((base or {}).keys() | head.keys())
    return [diff_stack(s, (base or {}).get(s), head.get(s)) for s in stacks]


def _shown(value: Any) -> str:
    if value is MISSING:
        return "(absent)"
    text = json.dumps(value, sort_keys=True).replace("`", "'")
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _change_line(change: Change) -> str:
    return f"  - `{change.path}`: `{_shown(change.before)}` → `{_shown(change.after)}`"


def _summary_row(diff: StackDiff) -> str:
    if not diff.head_available:
        return f"| {diff.stack} | head plan unavailable (stack removed or its plan failed) | | |"
    if not diff.base_available:
        return f"| {diff.stack} | base plan unavailable (new stack, or plan.py failed on the base) | | |"
    return f"| {diff.stack} | {len(diff.added)} | {len(diff.changed)} | {len(diff.removed)} |"


def _stack_lines(diff: StackDiff) -> list[str]:
    lines = [f"#### {diff.stack}", ""]
    for resource in diff.added:
        lines.append(f"- **added** `{resource.get('type')}` {resource.get('name')}")
    for resource in diff.removed:
        lines.append(f"- **removed** `{resource.get('type')}` {resource.get('name')}")
    for change in diff.changed:
        lines.append(f"- **changed** `{change.type}` {change.name}")
        lines.extend(_change_line(c) for c in change.settings)
        if change.helm_values:
            lines.append(f"  - Helm values ({len(change.helm_values)} paths):")
            lines.extend("  " + _change_line(c) for c in change.helm_values)
    if diff.outputs:
        lines.append("- **outputs**")
        lines.extend(_change_line(c) for c in diff.outputs)
    return [*lines, ""]


def render_markdown(diffs: list[StackDiff], base_label: str = "the base branch") -> str:
    """The PR comment: a summary table, then the details of each stack that changes."""
    lines = [
        MARKER,
        "### Offline plan diff",
        "",
        f"`plan.py` (mock engine, no credentials) on this PR against {base_label}. Secrets are masked, so "
        "changes to them do not show. Resources are matched by URN: a rename shows as removed + added.",
        "",
        "| stack | added | changed | removed |",
        "|---|---|---|---|",
        *(_summary_row(d) for d in diffs),
        "",
    ]
    if all(d.base_available and d.head_available and not d.has_changes for d in diffs):
        lines.append("No resource, setting or output changes.")
    details = [line for d in diffs if d.has_changes for line in _stack_lines(d)]
    budget = MAX_COMMENT_CHARS - sum(len(line) + 1 for line in lines)
    for index, line in enumerate(details):
        if len(line) + 1 > budget:
            lines.append(
                f"… {len(details) - index} more lines not shown: run `python plan.py --stack <name> --json` locally."
            )
            break
        lines.append(line)
        budget -= len(line) + 1
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="plan file or directory of the base commit")
    parser.add_argument("head", type=Path, help="plan file or directory of the head commit")
    parser.add_argument("--output", type=Path, help="write the Markdown here instead of stdout")
    parser.add_argument("--base-label", default="the base branch", help="how the comment names the base")
    args = parser.parse_args(argv)

    head = load_plans(args.head)
    if not head:
        print(f"error: no readable plan in {args.head}", file=sys.stderr)
        return 1
    text = render_markdown(diff_plans(load_plans(args.base) or None, head), args.base_label)
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
