"""Classify a drift run: `pulumi preview --refresh --json` of one stack, with the policy pack.

    python -m pipeline.drift EXIT_CODE STDOUT_FILE STDERR_FILE   # prints clean, drift, policy or error
    python -m pipeline.drift --changes STDOUT_FILE              # one line per resource that would change

clean: the preview succeeded and every step is `same`. drift: it succeeded with changes (the cloud no
longer matches the program). policy: it failed on a mandatory policy violation (the program or the
pack changed, not the cloud). error: anything else (credentials, runner, engine, unparsable output).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

POLICY_FAILURE = re.compile(r"mandatory policy violation|policy violations?\b|\[mandatory\]", re.IGNORECASE)


def _preview(stdout: str) -> dict[str, Any] | None:
    try:
        document = json.loads(stdout)
    except json.JSONDecodeError:
        return None
    return document if isinstance(document, dict) else None


def changes(stdout: str) -> list[str]:
    """`<op> <urn>` for every step of the preview that is not `same`."""
    document = _preview(stdout) or {}
    return [
        f"{step.get('op')} {step.get('urn')}"
        for step in document.get("steps") or []
        if isinstance(step, dict) and step.get("op") not in (None, "same")
    ]


def classify(exit_code: int, stdout: str, stderr: str) -> str:
    """clean, drift, policy or error (see the module docstring)."""
    if exit_code != 0:
        return "policy" if POLICY_FAILURE.search(stdout + "\n" + stderr) else "error"
    document = _preview(stdout)
    if document is None or not isinstance(document.get("changeSummary"), dict):
        return "error"
    changed = {op: n for op, n in document["changeSummary"].items() if op != "same" and n}
    return "drift" if changed or changes(stdout) else "clean"


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0].lstrip("-").isdigit():
        print(classify(int(argv[0]), Path(argv[1]).read_text(), Path(argv[2]).read_text()))
        return 0
    if len(argv) == 2 and argv[0] == "--changes":
        print("\n".join(changes(Path(argv[1]).read_text())))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
