"""CPU and memory requests and limits of a container (shared by the Airflow and guardrail models)."""

from __future__ import annotations

from pydantic import Field

from config.models import Model
from config.types import CpuQuantity, MemoryQuantity


class Quantities(Model):
    """CPU and memory of one side (requests or limits)."""

    cpu: CpuQuantity = Field(description="Kubernetes CPU quantity such as 500m, 0.5 or 2")
    memory: MemoryQuantity = Field(description="Kubernetes memory quantity such as 512Mi or 2Gi")


class Resources(Model):
    """Container requests and limits."""

    requests: Quantities = Field(description="requests: cpu, memory")
    limits: Quantities = Field(description="limits: cpu, memory")
