"""Shared pieces of the CLI: the error boundary, the settings and token options, progress."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import SecretStr

from okta_alerts.config import Settings, load_settings
from okta_alerts.errors import ConfigError, OktaAlertsError

F = TypeVar("F", bound=Callable[..., Any])
CONFIG_FILE_META = "okta_alerts.config_file"  # ctx.meta: --config as given (okta connect edits it)


class OktaAlertsGroup(click.Group):
    """A click group that turns library errors into one line and an exit code, no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OktaAlertsError as exc:
            click.secho(f"Error: {exc}", err=True, fg="red")
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)


def config_option(func: F) -> F:
    """``--config``; the command receives ``settings: Settings`` (ConfigError exits 2)."""

    @click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="TOML settings file (default: ./okta-alerts.toml, or $OKTA_ALERTS_CONFIG).",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, config_file: Path | None, **kwargs: Any) -> Any:
        click.get_current_context().meta[CONFIG_FILE_META] = config_file
        data_dir = kwargs.pop("data_dir", None)
        settings = load_settings(config_file=config_file, overrides={"data_dir": data_dir})
        return func(*args, settings=settings, **kwargs)

    return wrapper  # type: ignore[return-value]


def settings_options(func: F) -> F:
    """``--config`` and ``--data-dir``; the command receives ``settings: Settings``."""
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Root of all runtime data (default: $OKTA_ALERTS_DATA_DIR or ./data).",
    )(config_option(func))


def token_file_option(func: F) -> F:
    """``--token-file``: read the Okta API token from a file instead of the environment."""

    @click.option(
        "--token-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="File holding the Okta API token (instead of $OKTA_ALERTS_OKTA_API_TOKEN).",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, settings: Settings, token_file: Path | None, **kwargs: Any) -> Any:
        if token_file is not None:
            token = token_file.read_text(encoding="utf-8").strip()
            if not token:
                raise ConfigError(f"{token_file} is empty; put the Okta API token in it")
            settings = settings.model_copy(update={"okta_api_token": SecretStr(token)})
        return func(*args, settings=settings, **kwargs)

    return wrapper  # type: ignore[return-value]


def progress_option(func: F) -> F:
    """``--progress/--no-progress``; the command receives ``progress: bool``."""

    @click.option(
        "--progress/--no-progress", default=None, help="Progress bar (default: on a terminal)."
    )
    @functools.wraps(func)
    def wrapper(*args: Any, progress: bool | None, **kwargs: Any) -> Any:
        shown = sys.stderr.isatty() if progress is None else progress
        return func(*args, progress=shown, **kwargs)

    return wrapper  # type: ignore[return-value]
