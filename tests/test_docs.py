"""The docs are tested: every command has help and a README entry; every setting is documented."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from okta_alerts.cli import main
from okta_alerts.config import env_name, setting_names

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def command_paths(group: click.Group = main, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        paths.append((*prefix, name))
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            paths += command_paths(command, (*prefix, name))
    return paths


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_every_command_has_help_and_a_readme_entry(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    command: click.Command | None = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.get_command(click.Context(command), name)
    assert command is not None
    assert command.help and len(command.help) > 20, f"{' '.join(path)} needs a real help text"
    assert f"okta-alerts {' '.join(path)}" in README, f"README.md does not show {' '.join(path)}"


@pytest.mark.parametrize("name", setting_names())
def test_every_setting_is_in_the_readme(name: str) -> None:
    assert f"`{env_name(name)}`" in README


def test_readme_shows_the_two_quickstart_commands() -> None:
    assert "make demo" in README
    assert "make test" in README


def test_event_type_lists_are_documented() -> None:
    from okta_alerts.okta.eventtypes import LOCKOUT_TYPES, UNLOCK_TYPES

    for event_type in LOCKOUT_TYPES + UNLOCK_TYPES:
        assert f"`{event_type}`" in README


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_rule_kind_and_field_is_documented() -> None:
    from okta_alerts.alerts.rules import FIELDS, KINDS

    for name in [*KINDS, *(field.name for field in FIELDS)]:
        assert f"`{name}`" in README, f"README.md does not document rule {name!r}"
