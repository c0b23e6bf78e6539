"""The chart rendered with the values a whole-program run gives the Helm Release (cached per run)."""

from __future__ import annotations

from functools import cache
from typing import Any

from airflow_chart.render import RenderedChart, plain_numbers, render_chart
from offline import Inventory
from offline.engine import unwrap
from tests.support import stack_inventory

RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"


def render_inventory(inventory: Inventory) -> RenderedChart:
    """Render the vendored chart exactly as the run's Release asks: its version, values, name and namespace."""
    release = unwrap(inventory.one(RELEASE_TYPE, "airflow-release").inputs)
    return render_chart(release["version"], release["values"], release["name"], release["namespace"])


_rendered: dict[int, RenderedChart] = {}


def rendered(inventory: Inventory) -> RenderedChart:
    """`render_inventory`, once per inventory object (inventories are cached by the runs that build them)."""
    key = id(inventory)
    if key not in _rendered:
        _rendered[key] = render_inventory(inventory)
    return _rendered[key]


@cache
def rendered_stack(stack: str) -> RenderedChart:
    """A real stack file, run and rendered."""
    return rendered(stack_inventory(stack))


def program_objects(inventory: Inventory) -> list[dict[str, Any]]:
    """The Kubernetes objects the program creates itself (not through the chart), as manifests."""
    objects = []
    for registration in inventory.resources:
        group_kind = registration.type.removeprefix("kubernetes:")
        if group_kind == registration.type or registration.type == RELEASE_TYPE:
            continue
        manifest = plain_numbers(unwrap(registration.inputs))
        manifest.setdefault("kind", group_kind.rsplit(":", 1)[-1])
        objects.append(manifest)
    return objects
