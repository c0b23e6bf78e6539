"""`python preflight.py`: one line when something stops it before the checks, the checklist otherwise."""

from __future__ import annotations

import os
import runpy

import pytest
import yaml

import preflight as package
from offline import REPO
from preflight.result import Check, render

# The script, not the `preflight` package beside it (which `import preflight` finds first).
entry = runpy.run_path(str(REPO / "preflight.py"), run_name="preflight_cli")


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    """No AWS credentials anywhere in the chain, and no instance-metadata lookup (no network)."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))


def test_without_credentials_preflight_fails_in_one_line(no_credentials, capsys):
    assert entry["main"](["--stack", "dev"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: no AWS credentials found")


def test_an_unknown_stack_or_a_bad_config_fails_before_any_aws_call(no_credentials, capsys, tmp_path):
    assert entry["main"](["--stack", "nope"]) == 2
    assert "Pulumi.nope.yaml not found" in capsys.readouterr().err
    (tmp_path / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.bad.yaml").write_text(yaml.safe_dump({"config": {"airflow-platform:environment": "qa"}}))
    assert entry["main"](["--stack", "bad"], directory=tmp_path) == 2
    assert 'airflow-platform:environment: given "qa"' in capsys.readouterr().err


def test_the_checklist_is_one_line_per_check_with_the_fix_on_failures():
    text = render([Check(True, "VPC exists"), Check(False, "SNS topic exists", "create it")])
    assert text == "✓ VPC exists\n✗ SNS topic exists — fix: create it\n"
    assert package.CHECKS, "the package exposes its checks"
