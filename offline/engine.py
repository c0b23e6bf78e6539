"""Run the real program in-process against the offline cloud and record what it registers.

Used by `plan.py` and by the tests: one implementation of the mock engine.
"""

from __future__ import annotations

import asyncio
import json
import os
import runpy
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format, struct_pb2
from pulumi.output import Unknown
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import rpc, settings
from pulumi.runtime.proto import source_pb2

from offline.cloud import FakeCluster, OfflineCloud

REPO = Path(__file__).resolve().parent.parent
SECRET_SIG = rpc._special_sig_key
SECRET_MARK = rpc._special_secret_sig


@dataclass
class Registration:
    """One resource the program registered."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    protect: bool
    retain_on_delete: bool
    provider: str
    dependencies: list[str]
    inputs: dict[str, Any]
    # input name -> URNs that input's value came from (what the engine hands policy packs)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    replace_on_changes: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    # `replacement_trigger`: a value whose change replaces the resource (None when not set)
    replacement_trigger: Any = None


@dataclass
class Inventory:
    """Everything one run registered, in registration order, plus the stack outputs."""

    resources: list[Registration] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)
    region: str = ""

    def of_type(self, resource_type: str) -> list[Registration]:
        """Resources of one type token."""
        return [r for r in self.resources if r.type == resource_type]

    def one(self, resource_type: str, name: str | None = None) -> Registration:
        """The single resource of a type (and name); fails loudly otherwise."""
        found = [r for r in self.of_type(resource_type) if name is None or r.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one {resource_type} {name or ''}, found {[r.name for r in found]}")
        return found[0]

    def by_urn(self, urn: str) -> Registration | None:
        """The registration with this URN, if any."""
        return next((r for r in self.resources if r.urn == urn), None)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also keeping parent and protection options per resource."""

    def __init__(self, mocks: pulumi.runtime.Mocks, inventory: Inventory):
        super().__init__(mocks)
        self.inventory = inventory

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        # The SDK's mock monitor would resolve resource references (e.g. a node group's
        # `cluster`) on its own thread's event loop and break the run; record them as URNs.
        _references_to_urns(request.object)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.inventory.resources.append(
                Registration(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent,
                    custom=bool(request.custom),
                    protect=bool(request.protect),
                    retain_on_delete=bool(request.retainOnDelete),
                    provider=request.provider,
                    dependencies=sorted(request.dependencies),
                    inputs=rpc.deserialize_properties(request.object, keep_unknowns=True),
                    property_dependencies={
                        key: sorted(deps.urns)
                        for key, deps in sorted(request.propertyDependencies.items())
                        if deps.urns
                    },
                    replace_on_changes=sorted(request.replaceOnChanges),
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    replacement_trigger=rpc.deserialize_property(
                        json_format.MessageToDict(request.replacement_trigger), keep_unknowns=True
                    )
                    if request.HasField("replacement_trigger")
                    else None,
                )
            )
        return response


def _references_to_urns(struct: struct_pb2.Struct) -> None:
    plain = json_format.MessageToDict(struct)

    def swap(value: Any) -> Any:
        if isinstance(value, dict):
            if value.get(SECRET_SIG) == rpc._special_resource_sig:
                return value.get("urn", "")
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    swapped = swap(plain)
    if swapped != plain:
        struct.Clear()
        struct.update(swapped)


def is_secret_value(value: Any) -> bool:
    """True for an input the SDK sent as a secret."""
    return isinstance(value, dict) and value.get(SECRET_SIG) == SECRET_MARK


def unwrap(value: Any) -> Any:
    """Remove secret wrappers (tests assert on the plain value; the plan masks instead)."""
    if is_secret_value(value):
        return unwrap(value["value"])
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


@contextmanager
def offline_engine(
    stack: str,
    config: Mapping[str, str],
    secret_keys: list[str],
    clusters: list[FakeCluster],
    region: str,
    project: str = "airflow-platform",
    directory: Path = REPO,
) -> Iterator[Inventory]:
    """Install the mock engine and the stack's config the way the Pulumi language host does.

    Config goes through PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS, the same channel a real
    `pulumi up` uses; both are restored on exit. `directory` is the project root the program
    sees (where its stack files are).
    """
    inventory = Inventory(region=region)
    saved = {k: os.environ.get(k) for k in ("PULUMI_CONFIG", "PULUMI_CONFIG_SECRET_KEYS")}
    os.environ["PULUMI_CONFIG"] = json.dumps(dict(config))
    os.environ["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(sorted(secret_keys))
    asyncio.set_event_loop(asyncio.new_event_loop())
    settings.ROOT.set(None)
    pulumi.runtime.set_all_config({}, [])
    cloud = OfflineCloud(region=region, clusters=clusters)
    # The SDK walks the Python stack on every registration to tell the engine where a resource was
    # declared; nothing here reads it, and it costs about a sixth of each run.
    stack_trace = pulumi_resource._get_stack_trace
    pulumi_resource._get_stack_trace = source_pb2.StackTrace
    # Every Output re-walks its whole value for unknowns through a recursive closure; the same walk
    # done iteratively (same answer, see `contains_unknowns`) saves about a tenth of each run.
    sdk_contains_unknowns = rpc.contains_unknowns
    rpc.contains_unknowns = contains_unknowns
    pulumi.runtime.set_mocks(
        cloud, project=project, stack=stack, preview=False, monitor=RecordingMonitor(cloud, inventory)
    )
    settings.SETTINGS.root_directory = str(directory)
    try:
        yield inventory
    finally:
        pulumi_resource._get_stack_trace = stack_trace
        rpc.contains_unknowns = sdk_contains_unknowns
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_SCALARS = (str, int, float, bool, type(None))


def contains_unknowns(value: Any) -> bool:
    """Whether `value` holds `pulumi.output.Unknown` anywhere in its dicts and lists (the SDK's rule)."""
    pending = [value]
    seen: set[int] = set()
    while pending:
        item = pending.pop()
        if isinstance(item, _SCALARS):
            continue
        if isinstance(item, Unknown):
            return True
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def run_program(inventory: Inventory, program: Callable[[], Any] | None = None) -> Inventory:
    """Run ``program`` (default: the repo's ``__main__.py``) to completion and collect outputs.

    Whatever ``program`` returns (an Output, a coroutine) is awaited too, so assertions made
    inside ``Output.all(...).apply(check)`` fail the run instead of passing silently.
    """

    def body():
        result = None
        if program is None:
            runpy.run_path(str(REPO / "__main__.py"), run_name="__main__")
        else:
            result = program()  # may return an Output whose apply asserts
        return pulumi.Output.all(result, pulumi.Output.from_input(_collect_outputs(inventory)))

    pulumi.runtime.test(body)()
    return inventory


async def _collect_outputs(inventory: Inventory) -> None:
    root = settings.get_root_resource()
    for name, value in (root.outputs if root else {}).items():
        output = pulumi.Output.from_input(value)
        inventory.outputs[name] = await output.future()
        if await output.is_secret():
            inventory.secret_outputs.add(name)
