"""UI login: the generated webserver_config.py behaves as FAB will run it, and its Helm values fit the chart."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from components.airflow_auth import (
    CLIENT_SECRET_DIR,
    CLIENT_SECRET_VOLUME,
    CONFIG_CHECKSUM_ANNOTATION,
    BreakGlassAdmin,
    OidcLogin,
    SecretKeyRef,
    auth_roles_mapping,
    auth_values,
    create_user_job_values,
    redirect_uri,
    render_oidc_webserver_config,
    render_password_webserver_config,
)
from tests.values_support import AIRFLOW_2, airflow_override, schema_errors, values_for

LOGIN = OidcLogin(
    issuer_url="https://login.example.com/realms/acme/",
    client_id="airflow-prod",
    role_groups={"Admin": ["platform-admins"], "Op": ["data-ops"], "Viewer": ["analysts", "data-ops"]},
    groups_claim="cognito:groups",
)


class FakeOverride:
    """Stands in for FAB's FabAirflowSecurityManagerOverride."""

    def get_oauth_user_info(self, provider: str, resp: dict[str, Any]) -> dict[str, Any]:
        return {"builtin": provider}


class FakeRemote:
    """An authlib remote app whose userinfo endpoint answers ``claims`` (None: must not be called)."""

    def __init__(self, claims: dict[str, Any] | None):
        self.claims = claims

    def userinfo(self) -> dict[str, Any]:
        assert self.claims is not None, "the userinfo endpoint was called although the ID token had the claims"
        return self.claims


SECRET_FILE = f"{CLIENT_SECRET_DIR}/client-secret"


@pytest.fixture
def load_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Execute a webserver_config.py text the way Flask's from_pyfile does, against stand-in FAB modules.

    The Secret's mount point is redirected to a temporary file holding the secret with a trailing newline
    (as a secret taken from a file often carries one); the generated config strips it.
    """
    modules = {
        "flask_appbuilder": {},
        "flask_appbuilder.const": {"AUTH_DB": 1, "AUTH_OAUTH": 4},
        "airflow": {},
        "airflow.providers": {},
        "airflow.providers.fab": {},
        "airflow.providers.fab.auth_manager": {},
        "airflow.providers.fab.auth_manager.security_manager": {},
        "airflow.providers.fab.auth_manager.security_manager.override": {
            "FabAirflowSecurityManagerOverride": FakeOverride
        },
    }
    for name, attributes in modules.items():
        module = types.ModuleType(name)
        module.__dict__.update(attributes)
        monkeypatch.setitem(sys.modules, name, module)
    secret = tmp_path / "client-secret"
    secret.write_text("s3cr3t-from-the-mounted-secret\n")

    def load(text: str) -> dict[str, Any]:
        namespace: dict[str, Any] = {"__name__": "webserver_config"}
        exec(compile(text.replace(SECRET_FILE, str(secret)), "webserver_config.py", "exec"), namespace)
        return namespace

    return load


def user_info(config: dict[str, Any], id_token: dict[str, Any], userinfo: dict[str, Any] | None = None) -> dict:
    manager = object.__new__(config["SECURITY_MANAGER_CLASS"])
    manager.oauth_remotes = {"oidc": FakeRemote(userinfo)}
    return manager.get_oauth_user_info("oidc", {"access_token": "x", "userinfo": id_token})


def test_oidc_config_logs_in_against_the_issuer_with_the_secret_from_the_mounted_file(load_config) -> None:
    text = render_oidc_webserver_config(LOGIN)
    config = load_config(text)
    assert config["AUTH_TYPE"] == 4
    [provider] = config["OAUTH_PROVIDERS"]
    assert provider["name"] == "oidc"
    assert provider["token_key"] == "access_token"  # FAB's default key does not exist in OAuth2 responses
    remote = provider["remote_app"]
    assert remote["server_metadata_url"] == "https://login.example.com/realms/acme/.well-known/openid-configuration"
    assert remote["client_id"] == "airflow-prod"
    assert remote["client_secret"] == "s3cr3t-from-the-mounted-secret"
    assert "s3cr3t" not in text
    assert "environ" not in text  # the chart would copy an env var into the config page's sections
    assert remote["client_kwargs"] == {"scope": "openid email profile"}


def test_without_the_mounted_secret_the_server_does_not_start(load_config, tmp_path: Path) -> None:
    (tmp_path / "client-secret").unlink()
    with pytest.raises(FileNotFoundError):
        load_config(render_oidc_webserver_config(LOGIN))


def test_oidc_roles_come_from_groups_and_are_synced_at_every_login(load_config) -> None:
    config = load_config(render_oidc_webserver_config(LOGIN))
    assert config["AUTH_ROLES_MAPPING"] == {
        "analysts": ["Viewer"],
        "data-ops": ["Op", "Viewer"],
        "platform-admins": ["Admin"],
    }
    assert config["AUTH_ROLES_SYNC_AT_LOGIN"] is True
    assert config["AUTH_USER_REGISTRATION"] is True
    assert config["AUTH_USER_REGISTRATION_ROLE"] == "Public"  # permissionless: only mapped roles count
    assert "AUTH_ROLE_PUBLIC" not in config


def test_a_mapped_user_is_read_from_the_verified_id_token(load_config) -> None:
    config = load_config(render_oidc_webserver_config(LOGIN))
    claims = {"email": "ana@example.com", "cognito:groups": ["data-ops", "unrelated"], "given_name": "Ana"}
    info = user_info(config, claims)
    assert info == {
        "username": "ana@example.com",
        "email": "ana@example.com",
        "first_name": "Ana",
        "last_name": "",
        "role_keys": ["data-ops", "unrelated"],
    }


def test_claims_missing_from_the_id_token_come_from_the_userinfo_endpoint(load_config) -> None:
    config = load_config(render_oidc_webserver_config(LOGIN))
    info = user_info(config, {"email": "bo@example.com"}, userinfo={"cognito:groups": "analysts", "email": "x"})
    assert info["username"] == "bo@example.com"  # the verified token wins over the endpoint
    assert info["role_keys"] == ["analysts"]  # a single group given as a string


def test_a_user_without_a_mapped_group_is_refused(load_config) -> None:
    config = load_config(render_oidc_webserver_config(LOGIN))
    assert user_info(config, {"email": "eve@example.com", "cognito:groups": ["contractors"]}) == {"username": ""}
    assert user_info(config, {"email": "eve@example.com", "cognito:groups": []}) == {"username": ""}


def test_with_a_default_role_unmapped_users_get_viewer(load_config) -> None:
    login = OidcLogin(LOGIN.issuer_url, LOGIN.client_id, LOGIN.role_groups, default_role="Viewer")
    config = load_config(render_oidc_webserver_config(login))
    assert config["AUTH_USER_REGISTRATION_ROLE"] == "Viewer"
    info = user_info(config, {"email": "eve@example.com", "groups": ["contractors"]})
    assert info["username"] == "eve@example.com"


def test_other_providers_keep_fab_behaviour(load_config) -> None:
    config = load_config(render_oidc_webserver_config(LOGIN))
    manager = object.__new__(config["SECURITY_MANAGER_CLASS"])
    assert manager.get_oauth_user_info("github", {}) == {"builtin": "github"}


def test_password_config_uses_the_metadata_db_without_self_registration(load_config) -> None:
    config = load_config(render_password_webserver_config())
    assert config["AUTH_TYPE"] == 1
    assert config["AUTH_USER_REGISTRATION"] is False
    assert "AUTH_ROLE_PUBLIC" not in config


def test_login_settings_are_checked_before_rendering() -> None:
    with pytest.raises(ValueError, match="roles Airflow does not define"):
        OidcLogin(LOGIN.issuer_url, "id", {"Root": ["admins"]})
    with pytest.raises(ValueError, match="openid"):
        OidcLogin(LOGIN.issuer_url, "id", {"Admin": ["a"]}, scopes=("email",))
    with pytest.raises(ValueError, match="tpl"):
        render_oidc_webserver_config(OidcLogin(LOGIN.issuer_url, "id", {"Admin": ["{{ .Values }}"]}))


def test_roles_mapping_inverts_role_to_groups() -> None:
    assert auth_roles_mapping({"Viewer": ["b", "a"], "Admin": ["a"]}) == {"a": ["Admin", "Viewer"], "b": ["Viewer"]}


def merged(values: dict[str, Any], fragment: dict[str, dict[str, Any]]) -> dict[str, Any]:
    for key, section in fragment.items():
        values[key] = {**values.get(key, {}), **section}
    return values


def test_airflow_3_values_mount_the_config_in_the_api_server_and_roll_it_on_change() -> None:
    text = render_oidc_webserver_config(LOGIN)
    fragment = auth_values(3, text, SecretKeyRef("airflow-oidc-client"))
    assert set(fragment) == {"apiServer"}
    section = fragment["apiServer"]
    assert section["apiServerConfig"] == text
    assert "env" not in section
    assert section["extraVolumes"] == [
        {
            "name": CLIENT_SECRET_VOLUME,
            "secret": {
                "secretName": "airflow-oidc-client",
                "items": [{"key": "client-secret", "path": "client-secret"}],
                "defaultMode": 0o440,  # group 0 reads it: Airflow runs as 50000:0
            },
        }
    ]
    assert section["extraVolumeMounts"] == [
        {"name": CLIENT_SECRET_VOLUME, "mountPath": CLIENT_SECRET_DIR, "readOnly": True}
    ]
    assert f"{CLIENT_SECRET_DIR}/client-secret" in text
    other = auth_values(3, render_password_webserver_config())["apiServer"]
    assert section["podAnnotations"][CONFIG_CHECKSUM_ANNOTATION] != other["podAnnotations"][CONFIG_CHECKSUM_ANNOTATION]
    assert "extraVolumes" not in other
    _, values = values_for("prod")
    assert schema_errors(merged(values, fragment), "1.19.0") == []


def test_airflow_2_values_use_the_webserver_config() -> None:
    fragment = auth_values(2, render_oidc_webserver_config(LOGIN), SecretKeyRef("airflow-oidc-client"))
    assert set(fragment) == {"webserver"}
    # The chart checksums this ConfigMap itself.
    assert set(fragment["webserver"]) == {"webserverConfig", "extraVolumes", "extraVolumeMounts"}
    _, values = values_for("prod", airflow_override("prod", **AIRFLOW_2))
    assert schema_errors(merged(values, fragment), "1.19.0") == []


def test_redirect_uri_follows_where_each_major_serves_fab() -> None:
    assert redirect_uri("https://airflow.example.com/", 3) == "https://airflow.example.com/auth/oauth-authorized/oidc"
    assert redirect_uri("https://airflow.example.com", 2) == "https://airflow.example.com/oauth-authorized/oidc"


def test_break_glass_admin_job_reads_its_password_from_a_mounted_secret() -> None:
    admin = BreakGlassAdmin(username="break-glass", email="ops@example.com", last_name="O'Neil")
    job = create_user_job_values(admin, "airflow-break-glass-password")
    command = job["args"][2]
    assert command.startswith('password="$(</opt/airflow/secrets/break-glass/password)"; ')
    assert "| exec airflow users create --role Admin --username break-glass " in command
    assert command.endswith("--lastname 'O'\"'\"'Neil'")
    assert "--password" not in command  # asked for on standard input instead (tests/test_create_user_command.py)
    assert job["extraVolumes"] == [
        {"name": "break-glass-password", "secret": {"secretName": "airflow-break-glass-password"}}
    ]
    assert job["extraVolumeMounts"][0]["mountPath"] == admin.password_dir
    assert job["defaultUser"]["password"] == ""
    _, values = values_for("prod")
    values["createUserJob"] = {**values["createUserJob"], **job}
    assert schema_errors(values, "1.19.0") == []
