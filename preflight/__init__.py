"""Read-only checks of the real AWS account before a stack's first `pulumi up` (`python preflight.py --stack X`).

One module per area; each check function takes the `Context` and returns `Check`s (✓ or ✗ with the fix).
"""

from __future__ import annotations

from preflight.context import Context
from preflight.result import Check
from preflight.run import CHECKS, run_checks

__all__ = ["CHECKS", "Check", "Context", "run_checks"]
