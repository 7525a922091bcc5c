"""``okta-alerts report``: run a notebook as a report, or list the reports and their parameters."""

from __future__ import annotations

from pathlib import Path

import click

from okta_alerts.cli.common import settings_options
from okta_alerts.config import Settings
from okta_alerts.reports.runner import ReportInfo, list_reports, run_report


@click.command()
@click.argument("name", required=False)
@click.option(
    "-p",
    "--parameter",
    "parameters",
    nargs=2,
    multiple=True,
    metavar="KEY VALUE",
    help="Set a notebook parameter (repeatable); see --list for the names.",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the report (default: DATA_DIR/reports/NAME).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "ipynb", "both"]),
    default="both",
    show_default=True,
    help="Keep the HTML report, the executed notebook, or both.",
)
@click.option("--list", "show_list", is_flag=True, help="List the reports and their parameters.")
@click.option(
    "--notebooks-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Folder of report notebooks (default: the project's notebooks/).",
)
@settings_options
def report(
    settings: Settings,
    name: str | None,
    parameters: tuple[tuple[str, str], ...],
    output_dir: Path | None,
    fmt: str,
    show_list: bool,
    notebooks_dir: Path | None,
) -> None:
    """Run notebooks/NAME.ipynb with papermill and write an HTML report.

    \b
    Examples:
      okta-alerts report lockouts
      okta-alerts report assignment_errors -p window_hours 168 -p baseline_days 28
      okta-alerts report --list

    Unknown parameters are refused before the notebook starts. The executed notebook and its
    HTML (inputs hidden) go to DATA_DIR/reports/NAME/<UTC time>.ipynb/.html; when a cell fails
    the command exits non-zero, names the cell and keeps the failed notebook.
    """

    if show_list:
        _print_list(list_reports(notebooks_dir))
        return
    if not name:
        raise click.UsageError("give a report NAME, or --list to see them")
    result = run_report(
        settings,
        name,
        dict(parameters),
        output_dir=output_dir,
        fmt=fmt,
        notebooks_dir=notebooks_dir,
    )
    click.echo(f"Report {result.name} ran in {result.seconds:.1f} s.")
    for label, path in (("HTML", result.html), ("notebook", result.notebook)):
        if path is not None:
            click.echo(f"  {label}: {path}")


def _print_list(infos: list[ReportInfo]) -> None:
    if not infos:
        click.echo("No report notebooks found.")
    for info in infos:
        click.echo(f"{info.name}: {info.title}")
        width = max((len(p.name) for p in info.parameters), default=0)
        for p in info.parameters:
            kind = "str or None" if p.type == "None" else p.type
            click.echo(f"  -p {p.name:<{width}}  {kind:<11}  default {p.default:<6}  {p.help}")
        click.echo("")
