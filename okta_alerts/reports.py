"""Reports: run a parameterized notebook with papermill and keep its executed copy and HTML.

``run_report`` checks the parameters against the notebook's ``parameters`` cell before any kernel
starts (papermill itself only warns about unknown names), runs the notebook from the project root,
writes ``<reports_dir>/NAME/<UTC timestamp>.ipynb`` and ``.html`` (inputs hidden, charts embedded
as PNG, event strings escaped), and on failure keeps the failed notebook and names the cell.

The helpers at the end (``alerting_cell``, ``record_figures``, ``read_figures``) are what the
notebooks' last two cells call. papermill and nbconvert are imported only inside functions.
"""

from __future__ import annotations

import ast
import importlib
import json
import math
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from okta_alerts.errors import OktaAlertsError
from okta_alerts.windows import make_window

if TYPE_CHECKING:  # config (pydantic) is not imported at run time: notebooks import this module
    from okta_alerts.config import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # where reports run (their cwd)
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
FORMATS = ("html", "ipynb", "both")
DEFAULT_KERNEL = "python3"
# The kernel's own log (e.g. ipykernel's warning that its loopback TCP is not encrypted) is noise
# in a scheduled run's output; errors in cells are reported through the notebook instead.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]
HIDDEN_TAG = "report-hide"  # cells with this tag are left out of the HTML report
FIGURES_MIME = "application/json"
PATH_PARAMETERS = ("data_dir", "rules")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class ReportError(OktaAlertsError):
    """A report could not be run or failed."""


class ReportParameterError(ReportError):
    """A report parameter is unknown or has a bad value (no kernel was started)."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class ReportParameter:
    """One assignment of a notebook's ``parameters`` cell, as papermill reads it."""

    name: str
    type: str  # int, float, bool, str, ... or None (a None default: any text, or None)
    default: str  # the literal as written in the notebook
    help: str  # the trailing comment


@dataclass(frozen=True, slots=True)
class ReportInfo:
    name: str
    path: Path
    title: str
    parameters: tuple[ReportParameter, ...]


@dataclass(frozen=True, slots=True)
class ReportResult:
    name: str
    notebook: Path | None  # the executed notebook (None when only HTML was asked for)
    html: Path | None
    parameters: dict[str, Any]
    seconds: float
    figures: dict[str, Any] = field(default_factory=dict)


def list_reports(notebooks_dir: Path | None = None) -> list[ReportInfo]:
    """Every notebook in ``notebooks_dir`` with its title and parameters (no kernel started)."""
    folder = Path(notebooks_dir or NOTEBOOKS_DIR)
    return [_info(path) for path in sorted(folder.glob("*.ipynb"))]


def report_parameters(path: Path) -> tuple[ReportParameter, ...]:
    """The parameters of one notebook, from ``papermill.inspect_notebook``."""
    import papermill

    try:
        found = papermill.inspect_notebook(str(path))
    except ValueError as exc:  # e.g. no language in the notebook's metadata
        raise ReportError(f"cannot read the parameters of {path}: {exc}") from None
    return tuple(
        ReportParameter(
            name=name,
            type=_type_name(spec.get("inferred_type_name"), str(spec.get("default", ""))),
            default=str(spec.get("default", "")),
            help=str(spec.get("help", "")).strip(),
        )
        for name, spec in found.items()
    )


def _type_name(annotated: Any, default: str) -> str:
    """papermill's type comes from an annotation; without one, the default literal's type."""
    if annotated and annotated != "None":
        return str(annotated)
    return type(_literal(default)).__name__ if _literal(default) is not None else "None"


def run_report(
    settings: Settings,
    name: str,
    parameters: dict[str, Any],
    output_dir: Path | None = None,
    fmt: str = "both",
    notebooks_dir: Path | None = None,
) -> ReportResult:
    """Run ``notebooks/NAME.ipynb`` with ``parameters`` (strings from the command line are
    converted to each parameter's declared type) and write the report under
    ``output_dir`` (default: ``<data_dir>/reports/NAME``).

    Raises :class:`ReportParameterError` before starting a kernel when a name is unknown or a
    value does not fit, and :class:`ReportError` naming the failed cell when the notebook fails.
    """
    if fmt not in FORMATS:
        raise ReportParameterError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    path = _notebook_path(name, Path(notebooks_dir or NOTEBOOKS_DIR)).resolve()
    values = _checked(path, _info(path).parameters, parameters, settings)

    import nbformat
    import papermill
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    # absolute: papermill changes the working directory to the project root while it runs
    folder = Path(output_dir or settings.reports_dir / path.stem).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    target = _unique(folder, datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ"))
    metadata = nbformat.read(path, as_version=4).metadata
    kernelspec = metadata.get("kernelspec", {})
    language = metadata.get("language_info", {}).get("name") or kernelspec.get("language")
    started = time.monotonic()
    try:
        papermill.execute_notebook(
            str(path),
            str(target),
            parameters=values,
            kernel_name=kernelspec.get("name") or DEFAULT_KERNEL,
            language=language or "python",
            cwd=str(PROJECT_ROOT),
            progress_bar=False,
            log_output=False,
            start_timeout=120,
            extra_arguments=KERNEL_ARGUMENTS,
        )
    except papermill.PapermillExecutionError as exc:
        first = next((line for line in exc.source.splitlines() if line.strip()), "")
        number = _failed_cell_number(target) or exc.cell_index
        raise ReportError(
            f"report {name!r} failed in cell {number} of {path.name} "
            f"(In [{exc.exec_count}]: {first.strip()!r}): {exc.ename}: {_short(exc.evalue)}. "
            f"The failed notebook is kept at {target}"
        ) from None
    except NoSuchKernel as exc:
        raise ReportError(
            f"no Jupyter kernel named {exc.name!r}; register one with "
            f"'{sys.executable} -m ipykernel install --sys-prefix --name {exc.name}'"
        ) from None
    except (DeadKernelError, CellTimeoutError) as exc:
        raise ReportError(
            f"report {name!r} stopped: {_short(str(exc))}. The partial notebook is kept at {target}"
        ) from None
    seconds = time.monotonic() - started
    executed = nbformat.read(target, as_version=4)
    html = None
    if fmt in ("html", "both"):
        html = target.with_suffix(".html")
        title = f"{_title(path)}, {target.stem}"
        html.write_text(notebook_html(executed, title), encoding="utf-8")
    notebook: Path | None = target
    if fmt == "html":
        target.unlink()
        notebook = None
    return ReportResult(path.stem, notebook, html, values, seconds, read_figures(executed))


def notebook_html(notebook: Any, title: str = "okta-alerts report") -> str:
    """An executed notebook as one self-contained HTML page: inputs and prompts hidden, cells
    tagged ``report-hide`` left out, images embedded. Outputs are rendered by nbconvert, which
    escapes text; DataFrames are escaped by pandas."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = {HIDDEN_TAG}
    exporter = HTMLExporter(
        config=config, exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": title}})
    return str(body)


# -- called from notebook cells ---------------------------------------------------------------


def alerting_cell(
    send_notifications: bool,
    rules: str | None = None,
    end: datetime | str | None = None,
    data_dir: str | None = None,
) -> Any:
    """The notebooks' alerting cell: evaluate the alert rules and notify, only when
    ``send_notifications`` is true (scheduled runs); otherwise say that nothing was sent."""
    if not send_notifications:
        print("Notifications off (send_notifications = False): no alert rules were evaluated.")
        return None
    alerts = importlib.import_module("okta_alerts.alerts")
    return alerts.check_from_notebook(data_dir=data_dir, rules=rules, end=end)


def record_figures(figures: dict[str, Any]) -> None:
    """The notebooks' last cell: print the key figures as one JSON line and display them as an
    ``application/json`` output, which tests and the scheduler read (:func:`read_figures`)."""
    from IPython.display import display

    clean = _jsonable(figures)
    print(json.dumps(clean, sort_keys=True))
    lines = "\n".join(f"{key}: {value}" for key, value in clean.items())
    display({FIGURES_MIME: clean, "text/plain": lines}, raw=True)


def read_figures(notebook: Any) -> dict[str, Any]:
    """The figures recorded by :func:`record_figures` in an executed notebook (or its path)."""
    if isinstance(notebook, str | Path):
        import nbformat

        notebook = nbformat.read(notebook, as_version=4)
    for cell in reversed(notebook.cells):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if FIGURES_MIME in data:
                return dict(data[FIGURES_MIME])
    return {}


# -- internals --------------------------------------------------------------------------------


def _info(path: Path) -> ReportInfo:
    return ReportInfo(path.stem, path, _title(path), report_parameters(path))


def _title(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            source = "".join(cell.get("source", []))
            for line in source.splitlines():
                if line.strip():
                    return line.lstrip("#").strip()
    return path.stem


def _notebook_path(name: str, folder: Path) -> Path:
    path = folder / f"{name}.ipynb"
    if "/" in name or "\\" in name or not path.is_file():
        known = ", ".join(p.stem for p in sorted(folder.glob("*.ipynb"))) or "none"
        raise ReportParameterError(f"no report named {name!r} in {folder}; known: {known}")
    return path


def _checked(
    path: Path,
    declared: tuple[ReportParameter, ...],
    given: dict[str, Any],
    settings: Settings,
) -> dict[str, Any]:
    """Convert and check ``given`` against the notebook's parameters; fill in the data dir."""
    by_name = {p.name: p for p in declared}
    unknown = [key for key in given if key not in by_name]
    if unknown:
        raise ReportParameterError(
            f"unknown parameter {unknown[0]!r} for report {path.stem!r}; "
            f"known: {', '.join(by_name) or 'none'}"
        )
    values = {key: _convert(key, value, by_name[key].type) for key, value in given.items()}
    for key in PATH_PARAMETERS:  # relative to where the command runs, not the kernel's cwd
        if isinstance(values.get(key), str):
            values[key] = str(Path(values[key]).resolve())
    if "data_dir" in by_name and values.get("data_dir") is None:
        values["data_dir"] = str(Path(settings.data_dir).resolve())
    if {"end", "window_hours", "baseline_days"} <= by_name.keys():
        defaults = {p.name: _literal(p.default) for p in declared}
        merged = {**defaults, **values}
        make_window(merged["end"], merged["window_hours"], merged["baseline_days"])
    return values


def _convert(name: str, value: Any, declared: str) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        if declared == "bool":
            if text.lower() in _TRUE | _FALSE:
                return text.lower() in _TRUE
            raise ValueError
        if declared == "int":
            return int(text)
        if declared == "float":
            return float(text)
    except ValueError:
        raise ReportParameterError(
            f"parameter {name} must be {_article(declared)} {declared}, not {value!r}"
        ) from None
    if declared in ("str", "None"):
        return None if declared == "None" and text.lower() in ("", "none", "null") else value
    return _literal(text) if text else value


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _article(type_name: str) -> str:
    return "an" if type_name[:1] in "aeiou" else "a"


def _unique(folder: Path, stem: str) -> Path:
    target, n = folder / f"{stem}.ipynb", 1
    while target.exists() or target.with_suffix(".html").exists():
        target, n = folder / f"{stem}-{n}.ipynb", n + 1
    return target


def _failed_cell_number(executed: Path) -> int | None:
    """The 1-based position, in the report's own notebook, of the cell that raised (papermill
    adds an injected-parameters cell and an error banner to the executed copy)."""
    import nbformat

    added = {"injected-parameters", "papermill-error-cell-tag"}
    try:
        cells = nbformat.read(executed, as_version=4).cells
    except Exception:  # best effort: an unreadable copy still gets papermill's cell index
        return None
    own = [c for c in cells if not added & set(c.get("metadata", {}).get("tags", []))]
    for number, cell in enumerate(own, start=1):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return number
    return None


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()  # numpy scalars
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
