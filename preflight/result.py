"""One line of the checklist: what was checked, whether it holds, and the fix when it does not."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

OK, FAIL = "✓", "✗"


@dataclass(frozen=True)
class Check:
    """A checklist line."""

    ok: bool
    what: str
    fix: str = ""

    @property
    def line(self) -> str:
        mark = OK if self.ok else FAIL
        return f"{mark} {self.what}" + ("" if self.ok or not self.fix else f" — fix: {self.fix}")


def passed(what: str) -> Check:
    return Check(True, what)


def failed(what: str, fix: str) -> Check:
    return Check(False, what, fix)


def render(checks: Iterable[Check]) -> str:
    """The checklist, one line per check."""
    return "\n".join(check.line for check in checks) + "\n"


# Error codes that mean "no such thing" (anything else, such as AccessDenied, is reported as it is).
_NOT_FOUND = frozenset({"404", "NoSuchBucket", "NoSuchEntity", "NotFound", "NotFoundException", "NoSuchHostedZone"})


def not_found(error: Exception) -> bool:
    """Whether an AWS error says the thing does not exist (EC2's *.NotFound and *NotFoundException included)."""
    code = str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))
    return code in _NOT_FOUND or code.endswith(("NotFound", "NotFoundException"))
