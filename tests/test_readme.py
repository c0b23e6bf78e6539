"""The README's promises: its two set-up commands, CI running the same test command, a current config reference."""

from __future__ import annotations

import re

from config.reference import readme_section, reference_rows, render_markdown
from offline import REPO

README = (REPO / "README.md").read_text()


def test_config_reference_section_matches_the_models():
    assert readme_section(README) == render_markdown(), "run: python -m config.reference --update-readme"


def test_every_settings_key_is_documented():
    keys = {row.key for row in reference_rows()}
    assert {"database.instanceClass", "airflow.pgbouncer.metadataPoolSize", "dags.gitSync.knownHosts"} <= keys
    assert all(row.description for row in reference_rows())


def test_readme_opens_with_the_two_set_up_commands_and_ci_runs_the_same_tests():
    first_block = re.search(r"```bash\n(.*?)```", README, re.S).group(1)
    commands = [line for line in first_block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    assert commands[0].endswith("plan.py --stack dev")
    test_command = commands[1].split("&& ")[-1]
    assert test_command == ".venv/bin/python -m pytest -q"
    assert test_command in (REPO / ".ci" / "run").read_text()
