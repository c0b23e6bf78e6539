"""SSO works behind the ALB: the rendered airflow.cfg keeps the proxy fix and a Secure session cookie.

FAB builds the OAuth callback with `url_for(..., _external=True)`; behind the ALB its scheme and host
come from X-Forwarded-Proto/-Host through werkzeug's ProxyFix, which `[fab] enable_proxy_fix`
(`[webserver]` on Airflow 2) turns on. The login link itself is built from `[api] base_url`. These
tests pin both on the chart as rendered for each stack; the redirect a real FAB sends is checked by
the real-Airflow boot test.
"""

from __future__ import annotations

import configparser

import pytest

from offline.engine import unwrap
from tests.render_support import rendered, rendered_stack
from tests.support import STACKS, stack_inventory, stack_settings
from tests.variants import airflow_2_stack

LISTENER = "aws:lb/listener:Listener"


def cfg_of(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


@pytest.mark.parametrize("stack", STACKS)
def test_the_proxy_fix_is_on_and_the_session_cookie_secure_with_tls(stack: str) -> None:
    cfg = cfg_of(rendered_stack(stack).airflow_cfg())
    assert cfg.getboolean("fab", "enable_proxy_fix") is True
    assert cfg.getboolean("fab", "cookie_secure") is stack_settings(stack).front_door.tls
    # The ALB forwards a client's X-Forwarded-Host/-Prefix as they came: ProxyFix must not trust them.
    assert (cfg.getint("fab", "proxy_fix_x_host"), cfg.getint("fab", "proxy_fix_x_prefix")) == (0, 0)


def test_on_airflow_2_the_webserver_section_carries_them() -> None:
    cfg = cfg_of(rendered(airflow_2_stack("prod")).airflow_cfg())
    assert cfg.getboolean("webserver", "enable_proxy_fix") is True
    assert cfg.getboolean("webserver", "cookie_secure") is True
    assert (cfg.getint("webserver", "proxy_fix_x_host"), cfg.getint("webserver", "proxy_fix_x_prefix")) == (0, 0)


def test_prods_sso_login_sits_behind_an_https_alb_whose_url_the_callback_extends() -> None:
    inventory, settings = stack_inventory("prod"), stack_settings("prod")
    assert settings.airflow.auth.type == "oidc"
    cfg = cfg_of(rendered_stack("prod").airflow_cfg())
    base_url = cfg.get("api", "base_url")
    assert base_url == inventory.outputs["airflowUrl"] == f"https://{settings.front_door.hostname}"
    assert inventory.outputs["oidcRedirectUri"] == f"{base_url}/auth/oauth-authorized/oidc"
    assert unwrap(inventory.one("aws:lb/loadBalancer:LoadBalancer").inputs)["loadBalancerType"] == "application"
    listeners = {unwrap(listener.inputs)["protocol"] for listener in inventory.of_type(LISTENER)}
    assert listeners == {"HTTPS", "HTTP"}  # HTTP only as the redirect to HTTPS
