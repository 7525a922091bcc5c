"""Shared pieces of the CLI: settings options, the error boundary, output helpers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from okta_alerts.config import Settings, load_settings
from okta_alerts.errors import OktaAlertsError

F = TypeVar("F", bound=Callable[..., Any])


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


def settings_options(func: F) -> F:
    """Add ``--config`` and ``--data-dir``; the command receives ``settings: Settings``."""

    @click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="TOML settings file (default: ./okta-alerts.toml, or $OKTA_ALERTS_CONFIG).",
    )
    @click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Root of all runtime data (default: $OKTA_ALERTS_DATA_DIR or ./data).",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, config_file: Path | None, data_dir: Path | None, **kwargs: Any) -> Any:
        try:
            settings = load_settings(config_file=config_file, overrides={"data_dir": data_dir})
        except OktaAlertsError as exc:
            raise click.ClickException(str(exc)) from None
        return func(*args, settings=settings, **kwargs)

    return wrapper  # type: ignore[return-value]


def build_settings(**overrides: Any) -> Settings:
    return load_settings(overrides=overrides)
