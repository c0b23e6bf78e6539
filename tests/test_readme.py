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


def headings(*levels: str, text: str = README) -> list[str]:
    """Headings of the given levels (`##`, `###`) outside code blocks, in order."""
    found, in_code = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.split(" ", 1)[0] in levels:
            found.append(line.split(" ", 1)[1].strip())
    return found


def anchor(title: str) -> str:
    """GitHub's anchor of a heading."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def test_readme_sections_come_in_the_order_people_read_them():
    assert headings("##") == [
        "Contents",
        "What it creates",
        "Prerequisites for a real deploy",
        "Deploying for real",
        "Operating",
        "Reference",
        "How it is built",
        "Tests and CI",
    ]
    section = README.split("\n## Prerequisites for a real deploy\n", 1)[1].split("\n## ", 1)[0]
    assert "preflight.py" in section, "the prerequisites checklist points at preflight"


def test_the_table_of_contents_lists_every_section_and_subsection_in_order():
    contents, rest = README.split("\n## Contents\n", 1)[1].split("\n## ", 1)
    listed = re.findall(r"^\s*- \[[^\]]+\]\(#([^)]+)\)$", contents, re.M)
    assert listed == [anchor(title) for title in headings("##", "###", text="## " + rest)]


def test_no_table_cell_runs_past_a_few_lines():
    for number, line in enumerate(README.splitlines(), start=1):
        if line.startswith("|"):
            for cell in line.strip().strip("|").split(" | "):
                assert len(cell) <= 400, (
                    f"README.md:{number}: a {len(cell)}-character cell; move detail under the table"
                )
