"""Preflight: check the real AWS account, read-only, before a stack's first `pulumi up`.

    python preflight.py --stack prod

Credentials come from the usual AWS chain (AWS_PROFILE, environment, SSO, instance role). Every call is a
Describe, Get, List or Head: a botocore hook refuses anything else (preflight/readonly.py). Prints one line
per check, ✓ or ✗ with the fix; exit status 0 all passed, 1 a check failed, 2 bad arguments, stack config
or no credentials.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from config import ConfigError
from preflight import Context, run_checks
from preflight.readonly import read_only_session
from preflight.result import render

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None, directory: Path = HERE, session_for=read_only_session) -> int:
    """The command; `directory` holds the stack files, `session_for(region, profile)` opens the read-only session."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="stack name (reads Pulumi.<stack>.yaml)")
    parser.add_argument("--profile", help="AWS profile (default: the usual credential chain)")
    args = parser.parse_args(argv)
    if not (directory / f"Pulumi.{args.stack}.yaml").is_file():
        print(f"error: Pulumi.{args.stack}.yaml not found in {directory}", file=sys.stderr)
        return 2
    try:
        ctx = Context.load(args.stack, directory, lambda region: session_for(region, args.profile))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        identity = ctx.identity
    except NoCredentialsError:
        print(
            "error: no AWS credentials found (AWS_PROFILE, environment, SSO or instance role); preflight reads "
            "the account with them",
            file=sys.stderr,
        )
        return 2
    except (ClientError, BotoCoreError) as error:
        print(f"error: cannot identify the caller: {error}", file=sys.stderr)
        return 2
    print(
        f"Preflight of stack {args.stack}: account {identity['Account']}, region {ctx.settings.aws_region}, "
        f"as {identity['Arn']} (read-only)"
    )
    checks = run_checks(ctx)
    sys.stdout.write(render(checks))
    return 0 if all(check.ok for check in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
