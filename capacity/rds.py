"""RDS instance-class facts used by validation, alarms and connection budgeting.

RDS for PostgreSQL sets ``max_connections`` to ``LEAST(DBInstanceClassMemory/9531392, 5000)``.
``DBInstanceClassMemory`` is the class memory minus what the OS and RDS reserve, so the
estimate below uses 90% of the nominal memory.
"""

from __future__ import annotations

import re

GIB = 1024**3
_MAX_CONNECTIONS_DIVISOR = 9531392
_USABLE_MEMORY_FRACTION = 0.9

# GiB of memory per vCPU for the general-purpose (m) and memory-optimised (r) families.
_GIB_PER_VCPU = {"m": 4, "r": 8}
_STANDARD_FAMILIES = ("m5", "m6g", "m6i", "m7g", "m7i", "m8g", "r5", "r6g", "r6i", "r7g", "r7i", "r8g")
_BURSTABLE_GIB = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32}
_BURSTABLE_FAMILIES = ("t3", "t4g")

_CLASS = re.compile(r"db\.([a-z0-9]+)\.([a-z0-9]+)")

SUPPORTED_FAMILIES = _BURSTABLE_FAMILIES + _STANDARD_FAMILIES


def _vcpus(size: str) -> int | None:
    if size == "large":
        return 2
    if size == "xlarge":
        return 4
    match = re.fullmatch(r"(\d+)xlarge", size)
    return 4 * int(match.group(1)) if match else None


def instance_memory_gib(instance_class: str) -> float | None:
    """Nominal memory of an RDS instance class, or None if the class is not known here."""
    match = _CLASS.fullmatch(instance_class)
    if not match:
        return None
    family, size = match.groups()
    if family in _BURSTABLE_FAMILIES:
        return _BURSTABLE_GIB.get(size)
    if family in _STANDARD_FAMILIES:
        vcpus = _vcpus(size)
        return vcpus * _GIB_PER_VCPU[family[0]] if vcpus else None
    return None


def instance_class_problem(instance_class: str) -> str | None:
    """Why ``instance_class`` is not accepted, or None."""
    if not instance_class.startswith("db."):
        return "expected an RDS instance class starting with 'db.' such as db.t4g.medium"
    if instance_memory_gib(instance_class) is None:
        return (
            "expected db.<family>.<size> with family one of "
            + ", ".join(SUPPORTED_FAMILIES)
            + " and a size such as medium, large, xlarge, 2xlarge"
        )
    return None


def default_max_connections(instance_class: str) -> int:
    """Estimated RDS default ``max_connections`` for the class."""
    memory = instance_memory_gib(instance_class)
    if memory is None:
        raise ValueError(f"unknown instance class {instance_class}")
    return min(int(memory * GIB * _USABLE_MEMORY_FRACTION / _MAX_CONNECTIONS_DIVISOR), 5000)
