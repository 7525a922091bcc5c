"""Settings: defaults < TOML file < environment, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from okta_alerts.config import SHIPPED_RULES, load_settings
from okta_alerts.errors import ConfigError


def test_defaults() -> None:
    settings = load_settings(environ={})
    assert settings.data_dir == Path("./data")
    assert settings.auth_header == "Authorization"
    assert settings.auth_secret is None
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.max_body_bytes == 16_777_216
    assert settings.seal_seconds == 5
    assert settings.retention_days == 400
    assert settings.rules == SHIPPED_RULES
    assert settings.custom_headers == {}


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    config = tmp_path / "okta-alerts.toml"
    config.write_text('port = 9000\nhost = "0.0.0.0"\nauth_header = "X-Hook-Key"\n')
    settings = load_settings(
        environ={
            "OKTA_ALERTS_CONFIG": str(config),
            "OKTA_ALERTS_PORT": "9100",
            "OKTA_ALERTS_CUSTOM_HEADERS": '{"X-Okta-Org": "acme"}',
            "OKTA_ALERTS_APPRISE_URLS": "json://127.0.0.1:1/a, json://127.0.0.1:2/b",
        }
    )
    assert settings.port == 9100
    assert settings.host == "0.0.0.0"
    assert settings.auth_header == "X-Hook-Key"
    assert settings.custom_headers == {"X-Okta-Org": "acme"}
    assert settings.apprise_url_list == ["json://127.0.0.1:1/a", "json://127.0.0.1:2/b"]


def test_secret_is_never_shown() -> None:
    settings = load_settings(environ={"OKTA_ALERTS_AUTH_SECRET": "hunter2-very-secret"})
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.model_dump())
    assert settings.auth_secret is not None
    assert settings.auth_secret.get_secret_value() == "hunter2-very-secret"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"OKTA_ALERTS_PORTT": "1"}, "unknown setting OKTA_ALERTS_PORTT"),
        ({"OKTA_ALERTS_PORT": "eighty"}, "bad value for OKTA_ALERTS_PORT"),
        ({"OKTA_ALERTS_PORT": "70000"}, "bad value for OKTA_ALERTS_PORT"),
        ({"OKTA_ALERTS_SEAL_SECONDS": "0"}, "bad value for OKTA_ALERTS_SEAL_SECONDS"),
        ({"OKTA_ALERTS_CUSTOM_HEADERS": "X-Org: acme"}, "bad value for OKTA_ALERTS_CUSTOM_HEADERS"),
        ({"OKTA_ALERTS_CUSTOM_HEADERS": '{"X": 1}'}, "bad value for OKTA_ALERTS_CUSTOM_HEADERS"),
        ({"OKTA_ALERTS_AUTH_HEADER": "Bad Header:"}, "bad value for OKTA_ALERTS_AUTH_HEADER"),
        ({"OKTA_ALERTS_CONFIG": "/nonexistent/okta-alerts.toml"}, "does not exist"),
    ],
)
def test_bad_settings_name_the_key(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=environ)


def test_unknown_and_bad_keys_in_the_file(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("prot = 1\n")
    with pytest.raises(ConfigError, match=r"unknown key 'prot' in .*c.toml"):
        load_settings(environ={}, config_file=config)
    config.write_text('retention_days = "forever"\n')
    with pytest.raises(ConfigError, match=r"bad value for retention_days in .*c.toml"):
        load_settings(environ={}, config_file=config)
    config.write_text("port = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(environ={}, config_file=config)
