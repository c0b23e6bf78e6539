"""Offline plan: run the real program for one stack with Pulumi's mock engine.

    python plan.py --stack dev [--json plan-dev.json]

No AWS credentials, no Pulumi CLI: resources come from `__main__.py` exactly as
`pulumi up` would register them, answered by the offline cloud (offline/cloud.py).
Secrets are masked. A bad stack config prints one line per problem and exits 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from config import ConfigError
from offline import run_stack
from offline.report import render_json, render_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="stack name; reads Pulumi.<stack>.yaml")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the full inventory as JSON")
    args = parser.parse_args(argv)

    if not (Path(__file__).parent / f"Pulumi.{args.stack}.yaml").is_file():
        print(f"error: Pulumi.{args.stack}.yaml not found", file=sys.stderr)
        return 2
    try:
        inventory = run_stack(args.stack)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(render_text(args.stack, inventory))
    if args.json:
        args.json.write_text(render_json(args.stack, inventory))
        print(f"\nfull inventory written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
