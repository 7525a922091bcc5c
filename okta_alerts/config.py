"""Settings: built-in defaults < TOML file < ``OKTA_ALERTS_*`` environment variables.

This is the one module that reads the environment. Everything else receives a ``Settings``.
Tests build settings from a plain dict: ``load_settings(environ={...})``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import orjson
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from okta_alerts.errors import ConfigError
from okta_alerts.okta import eventtypes as t
from okta_alerts.resources import shipped_rules, shipped_schedule

ENV_PREFIX = "OKTA_ALERTS_"
CONFIG_ENV = "OKTA_ALERTS_CONFIG"
DEFAULT_CONFIG_FILE = "okta-alerts.toml"
SHIPPED_RULES = shipped_rules()
SHIPPED_SCHEDULE = shipped_schedule()


_EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_-]+)*(\.?\*)?")


def default_poll_event_types() -> tuple[str, ...]:
    """Every lockout and assignment/provisioning type, hook-eligible or not."""
    families = [p + "*" for p in t.ASSIGNMENT_PREFIXES]
    families += [p.rstrip(".") + "*" for p in t.ERROR_PREFIXES]  # also app.user_management itself
    families += [p + "*" for p in t.OFFICE365_ERROR_FAMILIES]
    prefixes = tuple(f.rstrip("*") for f in families)
    singles = (*t.ERROR_TYPES, *t.CATALOG_ERROR_TYPES, *t.office365_singles())
    return (
        *t.LOCKOUT_TYPES,
        *t.UNLOCK_TYPES,
        *t.UNLOCK_RELATED_TYPES,
        *t.ASSIGNMENT_TYPES,
        *(name for name in singles if not name.startswith(prefixes)),
        *families,
    )


def check_event_types(names: list[Any] | tuple[Any, ...]) -> tuple[str, ...]:
    """Event type names (``family*`` for a family); ValueError names the first bad one."""
    for name in names:
        if not isinstance(name, str) or not _EVENT_TYPE.fullmatch(name):
            raise ValueError(
                f"{name!r} is not an Okta event type such as user.account.lock "
                "(or a family such as application.provision.group.*)"
            )
    if not names:
        raise ValueError("name at least one event type")
    return tuple(names)


def check_org_url(value: str) -> str:
    """The org's base URL without a trailing slash; https, or http for loopback hosts only."""
    url = urlsplit(value.strip())
    host = url.hostname or ""
    if url.scheme not in ("https", "http") or not host:
        raise ValueError(
            f"must be your org's base URL such as https://acme.okta.com, not {value!r}"
        )
    if url.path not in ("", "/") or url.query or url.fragment or url.username:
        raise ValueError(
            f"must be only the org's base URL such as https://acme.okta.com, not {value!r}"
        )
    if url.scheme == "http" and not is_loopback(host):
        raise ValueError(
            f"must use https (plain http is allowed only for loopback addresses), not {value!r}"
        )
    return f"{url.scheme}://{url.netloc}"


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP address: where plain http is allowed (tests)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """Every setting of okta-alerts. Field docs are what ``README.md`` documents."""

    model_config = SettingsConfigDict(extra="forbid", validate_default=True, frozen=True)

    data_dir: Path = Field(Path("./data"), description="root of all runtime data")
    auth_header: str = Field("Authorization", description="name of Okta's authentication header")
    auth_secret: SecretStr | None = Field(None, description="expected value of that header")
    custom_headers: dict[str, str] = Field(
        default_factory=dict, description="JSON object of extra headers that must match"
    )
    host: str = Field("127.0.0.1", description="where `serve` listens")
    port: int = Field(8080, ge=0, le=65535, description="where `serve` listens")
    max_body_bytes: int = Field(16_777_216, gt=0, description="larger deliveries get 413")
    max_header_bytes: int = Field(
        65_536, ge=4096, description="a request line and headers larger than this get 431"
    )
    header_timeout_seconds: float = Field(
        10.0, gt=0, description="a request's headers must arrive within this (else 408)"
    )
    body_timeout_seconds: float = Field(
        60.0, gt=0, description="a request's body must arrive within this after its headers"
    )
    keepalive_seconds: int = Field(
        5, ge=1, description="an idle kept-alive connection is closed after this"
    )
    max_connections: int = Field(
        1024, ge=1, description="open connections past this are answered 503 and closed"
    )
    seal_seconds: float = Field(
        5.0, gt=0, le=3600, description="how soon an acknowledged event is visible to readers"
    )
    retention_days: int = Field(400, gt=0, description="older events are dropped by compaction")
    compact_seconds: float = Field(
        60.0, gt=0, description="how often the receiver merges parts and applies the retention"
    )
    grace_seconds: float = Field(
        600.0, ge=0, description="how long replaced files stay on disk for readers in flight"
    )
    apprise_config: Path | None = Field(None, description="apprise config file (YAML or TEXT)")
    apprise_urls: str | None = Field(None, description="apprise URLs, space- or comma-separated")
    rules: Path = Field(SHIPPED_RULES, description="alert rules file")
    known_networks: tuple[str, ...] = Field(
        (),
        description="the org's own networks beside its Okta network zones: CIDRs or addresses, "
        "comma-separated (spray rules treat them as known)",
    )
    schedule: Path = Field(SHIPPED_SCHEDULE, description="schedule file")
    okta_org_url: str | None = Field(
        None,
        description="your Okta org's base URL for the System Log API, e.g. https://acme.okta.com "
        "(plain http only for loopback addresses)",
    )
    okta_api_token: SecretStr | None = Field(
        None,
        description="Okta API token: an SSWS API token, or an OAuth access token with scope "
        "okta.logs.read (System Log), okta.eventHooks.manage (`okta connect`) or "
        "okta.eventHooks.read (`okta status`) (also: --token-file)",
    )
    okta_auth_scheme: Literal["auto", "SSWS", "Bearer"] = Field(
        "auto",
        description="how the token is sent: SSWS, Bearer, or auto (Bearer for an OAuth access "
        "token, which is a JWT, else SSWS)",
    )
    hook_name: str = Field(
        "okta-alerts",
        min_length=1,
        max_length=255,
        description="name of the Okta event hook that `okta connect` sets up and `okta status` "
        "checks",
    )
    poll_seconds: float = Field(
        0.0, ge=0, description="poll the System Log this often inside `run`; 0 = off"
    )
    poll_event_types: tuple[str, ...] = Field(
        default_factory=default_poll_event_types,
        description="event types that polling and backfill fetch, comma-separated; "
        "`prefix*` matches a family (default: every lockout and assignment/provisioning type)",
    )
    hash_typed_names: bool = Field(
        True,
        description="replace what an unknown actor typed (actor.alternateId) with a keyed token "
        "before anything is stored; false keeps it verbatim",
    )
    typed_name_key: SecretStr | None = Field(
        None,
        description="the key of those tokens (at least 16 characters); unset: a random key "
        "generated once in the data dir",
    )
    poll_lag_seconds: float = Field(
        600.0,
        ge=0,
        le=86_400,
        description="polling and the default backfill end stay this far behind real time, so the "
        "event hook delivers an event before polling finds it (hook-delivery health)",
    )

    @field_validator("auth_header")
    @classmethod
    def _header_name(cls, value: str) -> str:
        if not value or any(c in value for c in " :\r\n"):
            raise ValueError("must be an HTTP header name such as Authorization")
        return value

    @field_validator("custom_headers", mode="before")
    @classmethod
    def _headers_json(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = orjson.loads(value) if value.strip() else {}
            except orjson.JSONDecodeError as exc:
                raise ValueError(
                    f'must be a JSON object like {{"X-Okta-Org": "acme"}} ({exc})'
                ) from None
        if isinstance(value, dict) and not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ValueError("names and values must be strings")
        return value

    @field_validator("typed_name_key")
    @classmethod
    def _key_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (a long random value)")
        return value

    @field_validator("okta_org_url")
    @classmethod
    def _org_url(cls, value: str | None) -> str | None:
        return None if value is None else check_org_url(value)

    @field_validator("known_networks", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [v for v in value.replace(",", " ").split() if v]
        if isinstance(value, list | tuple):
            for item in value:
                try:
                    ipaddress.ip_network(str(item).strip(), strict=False)
                except ValueError:
                    raise ValueError(
                        f"{item!r} is not a network like 203.0.113.0/24 or 2001:db8::/32"
                    ) from None
            return tuple(str(item).strip() for item in value)
        return value

    @field_validator("poll_event_types", mode="before")
    @classmethod
    def _event_type_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [t for t in value.replace(",", " ").split() if t]
        return check_event_types(value) if isinstance(value, list | tuple) else value

    def hook_headers(self) -> dict[str, str]:
        """The headers Okta sends with every hook call: the authentication header (when a
        secret is set) and the custom headers. Holds the secret: never print it."""
        headers = dict(self.custom_headers)
        if self.auth_secret is not None:
            headers[self.auth_header] = self.auth_secret.get_secret_value()
        return headers

    @property
    def apprise_url_list(self) -> list[str]:
        raw = self.apprise_urls or ""
        return [u for u in raw.replace(",", " ").split() if u]

    @property
    def events_dir(self) -> Path:
        return self.data_dir / "events"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def state_path(self) -> Path:
        return self.data_dir / "state.duckdb"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only explicit values: load_settings does the layering so tests can pass a dict.
        return (init_settings,)


def setting_names() -> list[str]:
    return list(Settings.model_fields)


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def child_environment(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a child process or notebook kernel that rebuilds ``settings``.

    The one way settings reach other processes (``run``'s children, report kernels): the
    environment without any ``OKTA_ALERTS_*`` variable, plus every setting that was set
    explicitly as its ``OKTA_ALERTS_*`` variable (relative paths made absolute; secrets too:
    the environment of our own children is never printed).
    """
    base = os.environ if environ is None else environ
    env = {k: v for k, v in base.items() if not k.startswith(ENV_PREFIX)}
    for name in sorted(settings.model_fields_set):
        value: Any = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, dict):
            value = orjson.dumps(value).decode()
        elif isinstance(value, list | tuple):
            value = ",".join(map(str, value))
        elif isinstance(value, Path):
            value = value.resolve()
        env[env_name(name)] = str(value)
    return env


def set_in_environment(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the environment sets the setting ``name`` (it then wins over the TOML file)."""
    return env_name(name) in (os.environ if environ is None else environ)


def config_file_in_use(
    config_file: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Path | None:
    """The TOML file settings come from: ``config_file`` (``--config``), else
    ``$OKTA_ALERTS_CONFIG``, else ``./okta-alerts.toml`` when it exists."""
    env = os.environ if environ is None else environ
    path = config_file or env.get(CONFIG_ENV)
    if path is None and Path(DEFAULT_CONFIG_FILE).is_file():
        path = DEFAULT_CONFIG_FILE
    return None if path is None else Path(path)


def load_settings(
    environ: Mapping[str, str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build settings from defaults, the TOML file, the environment and explicit overrides."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}

    path = config_file_in_use(config_file, env)
    if path is not None:
        for key, value in _read_toml(path).items():
            values[key] = value
            origin[key] = f"{key} in {path}"

    known = set(setting_names())
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key not in known:
            raise ConfigError(f"unknown setting {name}; known: {', '.join(map(env_name, known))}")
        values[key] = value
        origin[key] = name
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
            origin[key] = f"--{key.replace('_', '-')}"

    try:
        return Settings(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else "?"
        where = origin.get(key, env_name(key))
        raise ConfigError(f"bad value for {where}: {first['msg']}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    known = set(setting_names())
    for key in data:
        if key not in known:
            raise ConfigError(f"unknown key {key!r} in {path}; known: {', '.join(sorted(known))}")
    return data
