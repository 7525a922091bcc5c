"""Reports: run a parameterized notebook with papermill and keep its executed copy and HTML.

``run_report`` checks the parameters against the notebook's ``parameters`` cell before any kernel
starts (papermill itself only warns about unknown names), runs the notebook in its folder,
writes ``<reports_dir>/NAME/<UTC timestamp>.ipynb`` and ``.html`` (inputs hidden, charts embedded
as PNG, event strings escaped), and on failure keeps the failed notebook and names the cell.

papermill, nbformat and nbconvert take over a second each to import: they are imported inside
the functions that run or render a report, so the other commands start fast.
"""

from __future__ import annotations

import ast
import json
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from jupyter_client.manager import AsyncKernelManager

from okta_alerts.analysis.windows import make_window
from okta_alerts.config import Settings, child_environment
from okta_alerts.errors import ReportError, ReportParameterError
from okta_alerts.reports import FIGURES_MIME
from okta_alerts.resources import notebooks_dir

NOTEBOOKS_DIR = notebooks_dir()
FORMATS = ("html", "ipynb", "both")
KERNEL = "okta-alerts"  # registered by `make install` for JupyterLab
DEFAULT_KERNEL = "python3"  # Jupyter starts it with the running interpreter
# The kernel's own log (e.g. ipykernel's warning that its loopback TCP is not encrypted) is noise
# in a scheduled run's output; errors in cells are reported through the notebook instead.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]
HIDDEN_TAG = "report-hide"  # cells with this tag are left out of the HTML report
PATH_PARAMETERS = ("data_dir", "rules")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


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
    import papermill  # deferred: 1.7 s to import; only report commands need it

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
    # absolute: papermill changes the working directory while it runs
    folder = Path(output_dir or settings.reports_dir / path.stem).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    target = _unique(folder, datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ"))
    started = time.monotonic()
    _execute(path, target, values, child_environment(settings))
    seconds = time.monotonic() - started
    import nbformat  # deferred: 1 s to import; only report runs need it

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


def read_figures(notebook: Any) -> dict[str, Any]:
    """The figures recorded by :func:`record_figures` in an executed notebook (or its path)."""
    if isinstance(notebook, str | Path):
        import nbformat  # deferred: 1 s to import; only report runs need it

        notebook = nbformat.read(notebook, as_version=4)
    for cell in reversed(notebook.cells):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if FIGURES_MIME in data:
                return dict(data[FIGURES_MIME])
    return {}


def report_kernel() -> str:
    """The kernel reports run on: the registered ``okta-alerts`` kernel (``make install``), else
    ``python3``, which Jupyter starts with the running interpreter."""
    return KERNEL if KERNEL in KernelSpecManager().find_kernel_specs() else DEFAULT_KERNEL


def _execute(path: Path, target: Path, values: dict[str, Any], env: dict[str, str]) -> None:
    """papermill ``path`` into ``target`` on a kernel whose environment is ``env``."""
    import papermill  # deferred: 1.7 s to import; only report runs need it
    from nbclient.exceptions import CellTimeoutError, DeadKernelError  # deferred: with papermill

    name = path.stem
    try:
        papermill.execute_notebook(
            str(path),
            str(target),
            parameters=values,
            kernel_name=report_kernel(),
            language="python",
            cwd=str(path.parent),  # as in JupyterLab: a notebook runs in its folder
            progress_bar=False,
            log_output=False,
            start_timeout=120,
            extra_arguments=KERNEL_ARGUMENTS,
            kernel_manager_class=_kernel_manager_with(env),
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


def _kernel_manager_with(env: dict[str, str]) -> type[AsyncKernelManager]:
    """A kernel manager that starts kernels with ``env`` as their whole environment."""

    class SettingsKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            kw.setdefault("env", env)
            await super().start_kernel(**kw)

    return SettingsKernelManager


def notebook_html(notebook: Any, title: str = "okta-alerts report") -> str:
    """An executed notebook as one self-contained HTML page: inputs and prompts hidden, cells
    tagged ``report-hide`` left out, images embedded. Outputs are rendered by nbconvert, which
    escapes text; DataFrames are escaped by pandas."""
    from nbconvert import HTMLExporter  # deferred: 1.5 s to import; only HTML reports need it
    from traitlets.config import Config  # deferred: with nbconvert

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = {HIDDEN_TAG}
    exporter = HTMLExporter(
        config=config, exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": title}})
    return str(body)


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
    import nbformat  # deferred: 1 s to import; only report runs need it

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
