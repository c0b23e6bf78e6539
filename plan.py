"""Offline plan: run the real program for one stack (or all) with Pulumi's mock engine.

    python plan.py --stack dev [--values] [--json plan-dev.json]
    python plan.py --stack all [--json plans.json]

No AWS credentials, no Pulumi CLI: resources come from `__main__.py` exactly as `pulumi up` would register
them, answered by the offline cloud (offline/cloud.py). Secrets are masked. A bad stack config prints one
line per problem and exits 2.
"""

from __future__ import annotations

import gc
import sys

if __name__ == "__main__":
    # A short-lived CLI: the cyclic garbage collector costs ~20% of the run while the SDKs build their
    # classes, and nothing here lives long enough to need it (~170 MB for --stack all).
    gc.disable()

import argparse
import os
from pathlib import Path

from config import ConfigError
from offline import Inventory, run_stack
from offline.remote_components import UnmodelledInputError
from offline.report import render_json, render_json_all, render_text

HERE = Path(__file__).resolve().parent
ALL = "all"
ENVIRONMENT_ORDER = ("dev", "uat", "prod")

EPILOG = """\
output: AWS resources first (including those pulumi-eks creates inside its Cluster and
ManagedNodeGroup components), then Kubernetes resources, then what only lives in the Pulumi
state (random, tls), then the physical names the stack claims, then the stack outputs. IAM
policies are printed in full; sizes and durations also in GiB / min. The Helm values are summarised by a digest unless --values is given.

--json writes what the program registers, as the mock engine records it (byte-identical for
the same config): {"stack", "resources", "outputs"} for one stack, {"stacks": {<name>: ...}}
with --stack all. Exit status: 0 planned, 2 bad arguments or stack config, 1 a pulumi-eks
input the plan cannot expand yet (extend offline/remote_components.py).
"""


def available_stacks(directory: Path = HERE) -> list[str]:
    """Stack names from the Pulumi.<stack>.yaml files, dev/uat/prod first."""
    names = [path.name[len("Pulumi.") : -len(".yaml")] for path in directory.glob("Pulumi.*.yaml")]
    return sorted(names, key=lambda n: (ENVIRONMENT_ORDER.index(n) if n in ENVIRONMENT_ORDER else 99, n))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", required=True, help=f"stack name (reads Pulumi.<stack>.yaml), or '{ALL}'")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the full inventory as JSON")
    parser.add_argument("--values", action="store_true", help="print the Helm values in full, at the end")
    return parser


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _stacks(requested: str) -> list[str] | str:
    """The stacks to plan, or an error message."""
    known = available_stacks()
    if requested == ALL:
        return known or "no Pulumi.<stack>.yaml file here"
    if requested not in known:
        listed = ", ".join(known) or "none"
        return f"Pulumi.{requested}.yaml not found; stacks here: {listed} (or --stack {ALL})"
    return [requested]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stacks = _stacks(args.stack)
    if isinstance(stacks, str):
        return _error(stacks)
    if args.json and not args.json.parent.is_dir():
        return _error(f"cannot write {args.json}: folder {args.json.parent} does not exist")

    inventories: dict[str, Inventory] = {}
    failed = False
    for stack in stacks:
        try:
            inventories[stack] = run_stack(stack)
        except ConfigError as error:
            prefix = f"[{stack}] " if len(stacks) > 1 else ""
            print(f"{prefix}error: {error}", file=sys.stderr)
            failed = True
    try:
        for number, (stack, inventory) in enumerate(inventories.items()):
            sys.stdout.write(("\n" if number else "") + render_text(stack, inventory, values=args.values))
    except UnmodelledInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if failed:
        return 2
    if args.json:
        single = args.stack != ALL
        document = render_json(args.stack, inventories[args.stack]) if single else render_json_all(inventories)
        try:
            args.json.write_text(document)
        except OSError as error:
            return _error(f"cannot write {args.json}: {error.strerror}")
        print(f"\nfull inventory written to {args.json}")
    return 0


if __name__ == "__main__":
    try:
        status = main()
        # Leave without tearing down the runs' object graph and thread pools (about a second, checks nothing):
        # everything is printed and every file written and closed by now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    except BrokenPipeError:  # piped into head or less, which quit early: no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
