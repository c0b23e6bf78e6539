"""The policy pack: assembles the rules of `rules/` (building it serves the engine until killed)."""

from pulumi_policy import EnforcementLevel, PolicyPack
from rules import ALL_POLICIES

PolicyPack(
    name="airflow-platform",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=ALL_POLICIES,
)
