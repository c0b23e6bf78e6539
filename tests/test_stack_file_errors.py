"""Broken stack files through the reader and through `plan.py`: one line each, exit 2, no traceback, no secret."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import plan
from config import ConfigError
from config.yaml_scalars import stack_file_problems
from offline import REPO, read_stack_config
from offline.stack_file import StackFileError
from tests.support import STACKS

HEADER = "config:\n  aws:region: eu-west-1\n"


@pytest.mark.parametrize(
    ("body", "where", "reason"),
    [
        (
            "  airflow-platform:dags:\n\tsource: s3\n",
            "line 4, column 1",
            "a tab character; YAML indents with spaces only",
        ),
        ("  airflow-platform:dags:\n    source: s3\n   extra: 1\n", "line 5, column 4", "bad indentation"),
        ("  airflow-platform:tags: {team: data\n", "line 4, column 1", "a {...} map (opened on line 3)"),
        ("  airflow-platform:namePrefix: [etl\n", "line 4, column 1", "a [...] list (opened on line 3)"),
        ('  airflow-platform:namePrefix: "etl\n', "line 4, column 1", "a quoted string (opened on line 3)"),
        (
            "  airflow-platform:dags:\n    source: s3\n  airflow-platform:dags:\n    source: gitSync\n",
            "line 5, column 3",
            "duplicate key 'airflow-platform:dags' (first set on line 3)",
        ),
        (
            "  airflow-platform:database:\n    multiAz: true\n    multiAz: false\n",
            "line 5, column 5",
            "duplicate key 'multiAz' (first set on line 4)",
        ),
    ],
    ids=["tab", "indent", "unclosed-brace", "unclosed-bracket", "unclosed-quote", "duplicate-top", "duplicate-nested"],
)
def test_invalid_yaml_is_one_line_naming_file_and_line(tmp_path: Path, body: str, where: str, reason: str) -> None:
    shutil.copy(REPO / "Pulumi.yaml", tmp_path)
    (tmp_path / "Pulumi.broken.yaml").write_text(HEADER + body)
    with pytest.raises(StackFileError) as caught:
        read_stack_config(tmp_path, "broken")
    message = str(caught.value)
    assert message.startswith(f"Pulumi.broken.yaml {where}: invalid YAML: ")
    assert reason in message and "\n" not in message
    assert isinstance(caught.value, ConfigError)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- config\n", "Pulumi.broken.yaml: expected a map of keys at the top level (e.g. config:)"),
        ("config: [a, b]\n", "Pulumi.broken.yaml: expected config: to be a map of namespace:key entries"),
    ],
)
def test_a_stack_file_of_the_wrong_shape_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    shutil.copy(REPO / "Pulumi.yaml", tmp_path)
    (tmp_path / "Pulumi.broken.yaml").write_text(text)
    with pytest.raises(StackFileError) as caught:
        read_stack_config(tmp_path, "broken")
    assert str(caught.value) == message


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    shutil.copy(REPO / "Pulumi.yaml", tmp_path)
    body = "  x:a: &size {cpu: 1}\n  x:b:\n    <<: *size\n    cpu: 2\n"
    (tmp_path / "Pulumi.merge.yaml").write_text(HEADER + body)
    assert read_stack_config(tmp_path, "merge").values["x:b"] == '{"cpu": 2}'


def test_scalars_that_change_meaning_between_yaml_readers_are_refused(tmp_path: Path) -> None:
    shutil.copy(REPO / "Pulumi.yaml", tmp_path)
    body = (
        "  airflow-platform:tags:\n    owner: yes\n    cost-center: 0123\n    aws:team: On\n"
        "  airflow-platform:frontDoor:\n    clientCidrs: [10.60.0.0/22]\n    port: 08443\n"
    )
    (tmp_path / "Pulumi.broken.yaml").write_text(HEADER + body)
    with pytest.raises(ConfigError) as caught:
        read_stack_config(tmp_path, "broken")
    lines = [str(p) for p in caught.value.problems]
    assert lines == [
        "airflow-platform:tags.owner: unquoted yes (Pulumi.broken.yaml line 4) is true to YAML 1.1 readers (the "
        'offline plan) but the text "yes" to Pulumi\'s reader; write it in quotes, "yes", to keep the text, or '
        "true/false for a switch",
        "airflow-platform:tags.cost-center: unquoted 0123 (Pulumi.broken.yaml line 5) is read as the octal number "
        '83 (leading zero); write it in quotes, "0123", to keep the text',
        'airflow-platform:tags["aws:team"]: unquoted On (Pulumi.broken.yaml line 6) is true to YAML 1.1 readers '
        '(the offline plan) but the text "On" to Pulumi\'s reader; write it in quotes, "On", to keep the text, '
        "or true/false for a switch",
        "airflow-platform:frontDoor.port: unquoted 08443 (Pulumi.broken.yaml line 9) is read as a number by some "
        'YAML readers and as text by others (leading zero); write it in quotes, "08443", to keep the text',
    ]


def test_a_credential_spelled_as_an_ambiguous_scalar_is_located_never_echoed(tmp_path: Path) -> None:
    shutil.copy(REPO / "Pulumi.yaml", tmp_path)
    (tmp_path / "Pulumi.broken.yaml").write_text(HEADER + "  airflow-platform:gitHttpsToken: 0123456701\n")
    with pytest.raises(ConfigError) as caught:
        read_stack_config(tmp_path, "broken")
    assert "0123456701" not in str(caught.value) and "83" not in str(caught.value)
    assert "airflow-platform:gitHttpsToken: unquoted value [secret] (Pulumi.broken.yaml line 3)" in str(caught.value)


def test_quoted_scalars_keep_their_text_and_yaml_12_words_keep_their_meaning(tmp_path: Path) -> None:
    shutil.copy(REPO / "Pulumi.yaml", tmp_path)
    body = (
        '  airflow-platform:tags:\n    owner: "yes"\n    cost-center: \'0123\'\n    window: "1:30"\n'
        "  airflow-platform:airflow:\n    networkPolicies: true\n    exposeConfig: False\n    parallelism: 0\n"
    )
    (tmp_path / "Pulumi.quoted.yaml").write_text(HEADER + body)
    values = read_stack_config(tmp_path, "quoted").values
    assert json.loads(values["airflow-platform:tags"]) == {"owner": "yes", "cost-center": "0123", "window": "1:30"}
    assert json.loads(values["airflow-platform:airflow"]) == {
        "networkPolicies": True,
        "exposeConfig": False,
        "parallelism": 0,
    }


def test_the_program_checks_its_stack_file_beside_pulumi_yaml(tmp_path: Path) -> None:
    """What `load_settings` runs under `pulumi up`, where Pulumi has already turned 0123 into 83."""
    shutil.copy(REPO / "Pulumi.yaml", tmp_path)
    (tmp_path / "Pulumi.dev.yaml").write_text(HEADER + "  airflow-platform:tags:\n    cost-center: 0123\n")
    [problem] = stack_file_problems(tmp_path, "dev")
    assert problem.full_key == "airflow-platform:tags.cost-center" and "octal number 83" in problem.message
    assert stack_file_problems(tmp_path, "uat") == []  # no such stack file (config from elsewhere)
    assert stack_file_problems(None, "dev") == []
    assert all(stack_file_problems(REPO, stack) == [] for stack in STACKS)


# -- through plan.py ---------------------------------------------------------------------


@pytest.fixture
def stack_file() -> Iterator[tuple[str, Path]]:
    """A temporary Pulumi.<stack>.yaml beside the real ones (plan.py reads the repository folder)."""
    stack = f"zz-test-{uuid.uuid4().hex[:8]}"
    path = REPO / f"Pulumi.{stack}.yaml"
    try:
        yield stack, path
    finally:
        path.unlink(missing_ok=True)


PEM_BODY = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"
BROKEN_PROD = f"""\
config:
  aws:region: eu-west-1
  airflow-platform:environment: prod
  airflow-platfrom:encryption:
    kmsKeyArn: arn:aws:kms:eu-west-1:111122223333:key/9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d
  airflow-platform:gitSshPrivatekey: |
    -----BEGIN OPENSSH PRIVATE KEY-----
    {PEM_BODY}
    -----END OPENSSH PRIVATE KEY-----
  airflow-platform:tags:
    aws:owner: data
  airflow-platform:network:
    vpcId: vpc-0f1e2d3c4b5a69788
    privateSubnetIds: [subnet-0e31f42a53b64c701, subnet-0e31f42a53b64c702]
  airflow-platform:cluster:
    mode: existing
    name: data-prod
  airflow-platform:database:
    engineVersion: 17
    alarms:
      snsTopicArn: arn:aws:sns:eu-west-1:111122223333:alerts
  airflow-platform:dags:
    source: s3
    s3Prefix: ../dags
    s3Sync:
      password: ghp_R2d2C3poBB8aKx0Lm4Nq7Ws9Ty1Uv3Xz5Ab6
  airflow-platform:airflow:
    exposeConfig: False
    image:
      repository: apache/airflow:latest
    metrics:
      prometheusNamespace: monitoring
  airflow-platform:frontDoor:
    clientCidrs: [0.0.0.0/0]
"""


def test_plan_refuses_every_config_hole_in_one_run(
    stack_file: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    stack, path = stack_file
    path.write_text(BROKEN_PROD)
    assert plan.main(["--stack", stack]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    # Field problems; the prod rules on frontDoor (TLS, clientCidrs) run once these are fixed.
    assert lines[0] == "error: invalid stack config (6 problems):"
    keys = [line.strip().split(": ")[0] for line in lines[1:]]
    assert keys == [
        "airflow-platfrom:encryption",
        'airflow-platform:tags["aws:owner"]',
        "airflow-platform:airflow.image.repository",
        "airflow-platform:dags.s3Prefix",
        "airflow-platform:dags.s3Sync.password",
        "airflow-platform:gitSshPrivatekey",
    ]
    output = captured.out + captured.err
    for leak in ("Traceback", PEM_BODY, "PRIVATE KEY", "ghp_", "should be", "pattern"):
        assert leak not in output
    assert "== stack outputs" not in captured.out


def test_plan_refuses_invalid_yaml_on_one_line(
    stack_file: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    stack, path = stack_file
    path.write_text("config:\n  aws:region: eu-west-1\n  aws:region: us-east-1\n")
    assert plan.main(["--stack", stack]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"error: Pulumi.{stack}.yaml line 3, column 3: invalid YAML: duplicate key 'aws:region' "
        "(first set on line 2); each key may appear once\n"
    )
    assert captured.out == ""
