"""Offline engine: run the real program against a fake AWS account (plan.py and tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from offline.engine import REPO, Inventory, offline_engine, run_program
from offline.stack_file import read_stack_config


def run_stack(stack: str, overrides: dict[str, Any] | None = None, directory: Path = REPO) -> Inventory:
    """Run `__main__.py` for one stack file offline and return what it registered.

    Raises the program's error (e.g. ConfigError); `Inventory` is then not returned, so
    callers that need it on failure use `offline_engine` directly.
    """
    config = read_stack_config(directory, stack, overrides)
    with offline_engine(
        stack, config.values, config.secret_keys, config.fake_clusters(), config.region, config.project, directory
    ) as inventory:
        return run_program(inventory)


__all__ = ["Inventory", "offline_engine", "read_stack_config", "run_program", "run_stack"]
