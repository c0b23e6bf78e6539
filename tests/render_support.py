"""The chart rendered with the values a whole-program run gives the Helm Release (cached per run)."""

from __future__ import annotations

from functools import cache

from airflow_chart.render import RenderedChart, render_chart
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
