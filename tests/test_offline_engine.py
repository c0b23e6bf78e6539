"""The offline engine's stand-ins for SDK internals answer exactly as the SDK does."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.output import UNKNOWN
from pulumi.runtime import rpc

from offline.engine import contains_unknowns

cycle: dict[str, Any] = {"a": [1, "x"]}
cycle["self"] = cycle
CASES = [
    None,
    "text",
    7,
    2.5,
    True,
    UNKNOWN,
    [],
    {},
    {"a": {"b": [1, {"c": "d"}]}},
    {"a": {"b": [1, {"c": UNKNOWN}]}},
    [[[UNKNOWN]]],
    ("tuple", UNKNOWN),  # the SDK does not look inside tuples
    cycle,
    {"values": cycle, "later": [UNKNOWN]},
]


@pytest.mark.parametrize("value", CASES, ids=range(len(CASES)))
def test_contains_unknowns_agrees_with_the_sdk(value: Any) -> None:
    assert contains_unknowns(value) is rpc.contains_unknowns(value)
