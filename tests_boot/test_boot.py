"""The real Airflow 3.1.7 with each stack's rendered configuration: DB, PgBouncer, secrets, components, a task."""

from __future__ import annotations

import configparser
import http.client
import json
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from airflow_chart.render import plain_numbers
from boot.airflow_boot import API_PORT, PROBE_CONNECTION, check
from boot.processes import wait_for
from boot.servers import PgBouncer, psql
from tests.support import stack_settings
from tests_boot.conftest import Booted

EXAMPLE_DAG = "example_platform"
NEEDS_DB_DAG = "boot_needs_db"
_runs: dict[str, dict] = {}  # type: ignore[type-arg]


def _dag_runs(booted: Booted) -> dict:  # type: ignore[type-arg]
    """Both DAGs triggered together, once per stack (the scheduler runs them side by side)."""
    if booted.pods.stack not in _runs:
        booted.boot.wait_healthy()
        _runs[booted.pods.stack] = check(booted.boot, "scheduler", "run-dags", EXAMPLE_DAG, NEEDS_DB_DAG)
    return _runs[booted.pods.stack]


DB_SETTINGS = re.compile(r"SQL_ALCHEMY_CONN|^AIRFLOW_CONN_AIRFLOW_DB$")


def _app_user(booted: Booted) -> str:
    return booted.pods.bootstrap_env()["APP_USER"]


def test_bootstrap_sql_runs_as_a_master_that_is_no_superuser_and_again(booted: Booted):
    env = booted.pods.bootstrap_env()
    assert booted.bootstrap_again.returncode == 0, (
        f"re-running the bootstrap Job failed: {booted.bootstrap_again.stderr}"
    )
    roles = booted.boot.postgres.sql(
        "postgres",
        f"SELECT rolname, rolsuper FROM pg_roles WHERE rolname IN ('{env['PGUSER']}', '{env['APP_USER']}') ORDER BY 1",
    )
    assert all(line.endswith("|f") for line in roles.stdout.split()), roles.stdout
    owner = booted.boot.postgres.sql(
        "postgres", f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{env['PGDATABASE']}'"
    )
    assert owner.stdout.strip() == env["APP_USER"]


def test_migrations_ran_as_the_application_role_where_the_values_point(booted: Booted):
    migration_env = booted.pods.env(booted.pods.job_container("run-airflow-migrations"))
    url = migration_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert url.startswith(f"postgresql://{_app_user(booted)}:")
    if booted.pods.has_pgbouncer():
        assert f"@{booted.pods.release}-pgbouncer." in url, "the migration Job should connect through PgBouncer"
    owners = booted.boot.postgres.sql(
        booted.pods.bootstrap_env()["PGDATABASE"],
        "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'",
    )
    assert owners.stdout.split() == [_app_user(booted)]


def test_config_list_shows_every_key_our_values_set_with_its_value(booted: Booted):
    """What Airflow itself reads, section by section, is what the values say (not a default of the same name)."""
    listed = booted.boot.airflow("scheduler", "config", "list", "--color", "off")
    assert listed.returncode == 0, listed.stderr[-2000:]
    seen = configparser.ConfigParser(interpolation=None, strict=False)
    seen.read_string(listed.stdout[listed.stdout.index("[") :])
    for section, keys in booted.pods.values_config.items():
        for key, value in keys.items():
            assert seen.has_option(section, key), f"[{section}] {key} missing from `airflow config list`"
            assert seen.get(section, key) == str(plain_numbers(value)), (
                f"[{section}] {key}: Airflow reads {seen.get(section, key)!r}, the values say {value!r}"
            )


def test_config_lint_finds_nothing_wrong_with_our_keys(booted: Booted):
    """Lint names each key as `option` ... `section`; the chart's own keys may be flagged, ours may not."""
    env = {**booted.boot.component_env("scheduler"), "COLUMNS": "1000"}  # rich wraps at 80 columns otherwise
    lint = booted.boot.run([str(booted.boot.tools.airflow), "config", "lint"], env)
    assert lint.returncode == 0, (lint.stdout + lint.stderr)[-2000:]
    issues = [line.strip()[2:] for line in lint.stdout.splitlines() if line.strip().startswith("- ")]
    ours = {(section, key) for section, keys in booted.pods.values_config.items() for key in keys}
    flagged = [issue for issue in issues if _linted_key(issue) in ours]
    assert not flagged, "airflow config lint flags keys our values set:\n" + "\n".join(flagged)


def _linted_key(issue: str) -> tuple[str, str]:
    """(section, option) an issue is about: lint writes `option` then `section` (after the value when invalid)."""
    quoted = re.findall(r"`([^`]*)`", issue)
    option, section = quoted[1:3] if issue.startswith("Invalid value") else quoted[:2]
    return section, option


def test_db_check_passes_with_the_component_env(booted: Booted):
    result = booted.boot.airflow("scheduler", "db", "check")
    assert result.returncode == 0, (result.stdout + result.stderr)[-2000:]


def test_async_url_works_through_airflows_own_async_session(booted: Booted):
    result = check(booted.boot, "api-server", "async-session")
    assert result["driver"] == "postgresql+asyncpg"
    assert [row[0] for row in result["rows"]] == [_app_user(booted)] * 2


def test_secrets_backend_resolves_a_connection_and_leaves_the_log_connection_to_the_env(booted: Booted):
    log_conn_id = booted.boot.log_connection_id()
    resolved = check(booted.boot, "scheduler", "connections", PROBE_CONNECTION, log_conn_id)
    probe = resolved[PROBE_CONNECTION]
    assert (probe["conn_type"], probe["host"], probe["login"]) == ("postgres", "warehouse.example", "reader")
    defined = json.loads(booted.pods.env(booted.pods.container("scheduler"))[f"AIRFLOW_CONN_{log_conn_id.upper()}"])
    assert resolved[log_conn_id]["extra"] == defined["extra"], (
        "the log connection came from Secrets Manager, not the values"
    )


def test_components_run_the_rendered_commands_and_report_healthy(booted: Booted):
    body = booted.boot.wait_healthy()
    assert {k: v["status"] for k, v in body.items()} == dict.fromkeys(body, "healthy")
    for name, started in booted.boot.components.items():
        assert started.alive(), f"{name} exited"
        assert "Traceback" not in started.output(), f"{name} logged a traceback:\n{started.output()[-3000:]}"


def test_a_task_runs_in_the_pod_the_template_gives_and_logs_to_s3(booted: Booted):
    result = _dag_runs(booted)[EXAMPLE_DAG]
    pod_logs = sorted((booted.boot.work / "pods").glob("example-platform*.log"))
    assert result["state"] == "success", f"{result}\n" + "\n".join(p.read_text()[-3000:] for p in pod_logs)
    first = json.loads(pod_logs[0].read_text().splitlines()[0])
    template_env = {item["name"] for item in booted.pods.task_container()["env"]}
    # The pod's env is the template's plus what KubernetesExecutor adds; the stand-ins are PATH, HOME-less AWS.
    assert set(first["pod_env"]) - template_env == {"AIRFLOW_IS_K8S_EXECUTOR_POD"}
    assert template_env <= set(first["pod_env"])
    assert not set(first["standins"]) & template_env, "a stand-in overrides the template's env"
    # The task reports success through the Execution API before its supervisor uploads the log.
    body = wait_for(
        lambda: _s3_logs(booted, EXAMPLE_DAG), 60, f"the {EXAMPLE_DAG} task log in S3 ({_log_prefix(booted)})"
    )
    assert "hello from the platform example" in body
    # The task printed what it found of the metadata DB in its own env: on Airflow 3, nothing.
    assert "database settings in this task's env: none" in body, "the task pod's env holds DB settings"


def test_task_pods_hold_no_database_credentials(booted: Booted):
    """Airflow 3 tasks talk to the Execution API only: no DB setting, and nothing read from a Secret."""
    env = booted.pods.task_container()["env"]
    assert not [item["name"] for item in env if DB_SETTINGS.search(item["name"])]
    assert not [item["name"] for item in env if "secretKeyRef" in item.get("valueFrom", {})]


def _sso(booted: Booted) -> tuple[str, str]:
    """(the host users reach, the provider name) of an SSO stack; skip others."""
    if stack_settings(booted.pods.stack).airflow.auth.type != "oidc":
        pytest.skip(f"{booted.pods.stack} logs in with passwords")
    assert booted.boot.oidc_metadata_url(), "an SSO stack's webserver_config.py names the IdP's metadata URL"
    return urlsplit(booted.pods.cfg()["api"]["base_url"]).netloc, booted.boot.oidc_provider()


def _get(port: int, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode(errors="replace")
    finally:
        connection.close()


def _as_the_alb_forwards(host: str) -> dict[str, str]:
    return {"Host": host, "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443", "X-Forwarded-For": "198.51.100.7"}


def https_callback(port: int, host: str, provider: str) -> str:
    """The IdP redirect for a login as the ALB forwards it; fails unless the callback is https://host/..."""
    status, headers, _ = _get(port, f"/auth/login/{provider}", _as_the_alb_forwards(host))
    assert status == 302, f"GET /auth/login/{provider} answered {status}, not a redirect to the IdP"
    query = parse_qs(urlsplit(headers["location"]).query)
    callback = query.get("redirect_uri", ["(none)"])[0]
    expected = f"https://{host}/auth/oauth-authorized/{provider}"
    assert callback == expected, (
        f"IdP callback is {callback}, not {expected}: the API server did not trust the ALB's X-Forwarded-Proto"
    )
    return headers["location"]


def test_sso_login_page_offers_the_provider(booted: Booted):
    host, provider = _sso(booted)
    booted.boot.wait_healthy()
    status, _, page = _get(API_PORT, "/auth/login/", {"Host": host, "X-Forwarded-Proto": "https"})
    assert status == 200, status
    # FAB's OAuth login page: one sign-in button per provider; a password form means webserver_config.py was dropped.
    assert f'id="btn-signin-{provider}"' in page, (
        f"the login page offers no '{provider}' sign-in (password login instead?)"
    )
    assert 'name="password"' not in page, "the login page asks for a password: FAB fell back to database login"


def test_sso_login_behind_the_alb_redirects_to_the_idp_with_the_https_callback(booted: Booted):
    host, provider = _sso(booted)
    location = https_callback(API_PORT, host, provider)
    metadata = booted.boot.oidc_metadata_url()
    assert location.startswith(
        metadata.removesuffix("/.well-known/openid-configuration") + "/protocol/openid-connect/auth?"
    )  # type: ignore[union-attr]


# -- one wire broken on purpose: each must fail with a line that names it ----------------------------------------


def test_a_task_that_needs_the_metadata_db_fails_on_airflow_3(booted: Booted):
    result = _dag_runs(booted)[NEEDS_DB_DAG]
    assert result["state"] == "failed", result
    message = "Direct database access via the ORM is not allowed"
    wait_for(lambda: message in _s3_logs(booted, NEEDS_DB_DAG), 60, f"'{message}' in the task's S3 log")


def _log_prefix(booted: Booted) -> str:
    return booted.pods.cfg()["logging"]["remote_base_log_folder"].split("/", 3)[3]


def _s3_logs(booted: Booted, dag_id: str) -> str:
    """Every task log of `dag_id` under `remote_base_log_folder` in (moto's) S3."""
    prefix = _log_prefix(booted)
    listing = booted.boot.s3.list_objects_v2(Bucket=booted.boot.log_bucket, Prefix=f"{prefix}/dag_id={dag_id}/")
    return "".join(
        booted.boot.s3.get_object(Bucket=booted.boot.log_bucket, Key=o["Key"])["Body"].read().decode()
        for o in listing.get("Contents", [])
    )


def test_an_async_url_with_the_sync_drivers_sslmode_is_refused(booted: Booted):
    env = booted.boot.component_env("api-server")
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace(
        "postgresql://", "postgresql+asyncpg://", 1
    )
    with pytest.raises(AssertionError, match="sslmode"):
        check(booted.boot, "api-server", "async-session", env=env)


def test_pgbouncer_with_another_user_in_users_txt_refuses_airflow(booted: Booted):
    if not booted.pods.has_pgbouncer():
        pytest.skip(f"{booted.pods.stack} runs no PgBouncer")
    files = dict(booted.pods.pgbouncer_files())
    users = next(p for p in files if p.endswith("users.txt"))
    ini = next(p for p in files if p.endswith(".ini"))
    files[users] = files[users].replace(f'"{_app_user(booted)}"', '"someone_else"', 1)
    port = int(re.search(r"listen_port = (\d+)", files[ini]).group(1)) + 1  # type: ignore[union-attr]
    files[ini] = re.sub(r"listen_port = \d+", f"listen_port = {port}", files[ini])
    wrong = PgBouncer(booted.boot.tools, booted.boot.work / "pgbouncer-wrong-user", booted.boot.processes)
    wrong.start(files, booted.pods.pgbouncer_command(), booted.boot.hostnames())
    try:
        url = booted.pods.secret_value(f"{booted.pods.release}-metadata-connection", "connection")
        url = url.replace(f":{port - 1}/", f":{port}/")
        result = _psql(url, booted.boot.work)
        refused = result.stderr  # (the URL, password included, stays out of the report)
        assert result.returncode != 0, "PgBouncer let Airflow in without its user in users.txt"
        assert "password authentication failed" in refused or "SASL authentication failed" in refused, refused
    finally:
        booted.boot.processes.stop(wrong.process)  # type: ignore[arg-type]


def _psql(url: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "PGCONNECT_TIMEOUT": "10"}
    return subprocess.run(
        [psql(), "-X", "-At", url, "-c", "SELECT 1"], env=env, capture_output=True, text=True, timeout=60
    )


def test_an_api_server_that_does_not_trust_the_proxy_headers_sends_an_http_callback(booted: Booted):
    host, provider = _sso(booted)
    container = booted.pods.container("api-server")
    env = {
        **booted.boot.component_env("api-server"),
        "AIRFLOW__FAB__ENABLE_PROXY_FIX": "False",
        "AIRFLOW__API__PORT": str(API_PORT + 1),
    }
    untrusting = booted.boot.processes.start(
        "api-server-no-proxy-fix", [*container.get("command", []), *container["args"]], env
    )
    try:
        wait_for(
            lambda: _get(API_PORT + 1, "/api/v2/monitor/health", {})[0] == 200,
            180,
            "the second API server",
            died=untrusting,
        )
        with pytest.raises(AssertionError, match=r"IdP callback is http://.*did not trust the ALB's X-Forwarded-Proto"):
            https_callback(API_PORT + 1, host, provider)
    finally:
        booted.boot.processes.stop(untrusting)
