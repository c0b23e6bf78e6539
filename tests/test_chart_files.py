"""The vendored chart files: one folder per supported chart version, unmodified, and the schema the tests read."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from airflow_chart.chart import SUPPORTED_CHART_VERSIONS as SUPPORTED_CHARTS
from config.airflow_models import AirflowConfig
from tests.values_support import CHARTS, chart_schema

# The whole chart as released (templates, files, values, schema, license); only these two are ours.
OUR_FILES = {"README.md", "SHA256SUMS"}
UPSTREAM_FILES = {"Chart.yaml", "values.yaml", "values.schema.json", "LICENSE", "NOTICE"}


def recorded_sums(folder: Path) -> dict[str, str]:
    """SHA256SUMS as `sha256sum` writes it: `<hex>  <file>` per line."""
    sums = {}
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        sums[name] = digest
    return sums


def test_the_default_chart_version_is_a_supported_one() -> None:
    assert AirflowConfig.model_fields["chart_version"].default in SUPPORTED_CHARTS


def test_every_vendored_folder_is_a_supported_chart_version() -> None:
    vendored = {path.name for path in CHARTS.iterdir() if path.is_dir()}
    assert vendored == set(SUPPORTED_CHARTS), "vendor the schema of each supported chart, and only those"


@pytest.mark.parametrize("version", SUPPORTED_CHARTS)
def test_vendored_chart_yaml_is_the_pinned_version(version: str) -> None:
    chart = yaml.safe_load((CHARTS / version / "Chart.yaml").read_text())
    assert (chart["name"], chart["version"]) == ("airflow", version)


@pytest.mark.parametrize("version", SUPPORTED_CHARTS)
def test_vendored_files_match_their_recorded_sha256(version: str) -> None:
    folder = CHARTS / version
    sums = recorded_sums(folder)
    on_disk = {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}
    assert set(sums) == on_disk - OUR_FILES, "SHA256SUMS must list every vendored file, and only those"
    assert set(sums) >= UPSTREAM_FILES
    assert (
        any(name.startswith("templates/") for name in sums) and "files/pod-template-file.kubernetes-helm-yaml" in sums
    )
    for name, digest in sums.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, f"{folder.name}/{name} changed"


@pytest.mark.parametrize("version", SUPPORTED_CHARTS)
def test_schema_belongs_to_the_chart_yaml_beside_it(version: str) -> None:
    chart = yaml.safe_load((CHARTS / version / "Chart.yaml").read_text())
    properties = chart_schema(version)["properties"]
    assert properties["defaultAirflowTag"]["default"] == chart["appVersion"]
    assert properties["airflowVersion"]["default"] == chart["appVersion"]


@pytest.mark.parametrize("version", SUPPORTED_CHARTS)
def test_license_notice_is_kept_with_the_copy(version: str) -> None:
    folder = CHARTS / version
    assert "Apache License" in (folder / "LICENSE").read_text()
    assert "The Apache Software Foundation" in (folder / "NOTICE").read_text()
    assert version in (folder / "README.md").read_text()
