"""The built wheel works on its own: installed into a fresh virtualenv, from an empty directory,
``okta-alerts demo`` runs the whole loop and writes its HTML reports.

The fresh virtualenv gets only the wheel; its dependencies come from this test run's environment
through a plain path entry (no ``.pth`` processing, so this checkout's editable install is not
on its path), plus nbconvert's HTML templates, which pip installs as data files beside a
dependency. No kernel is registered in it. What the package needs must come from the wheel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str], **options: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, **options)  # type: ignore[call-overload, no-any-return]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv holding only the freshly built wheel; returns its bin directory."""
    root = tmp_path_factory.mktemp("wheel")
    built = run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(root), "."],
        cwd=ROOT,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = root.glob("okta_alerts-*.whl")
    venv = root / "venv"
    assert run([sys.executable, "-m", "venv", "--without-pip", str(venv)]).returncode == 0
    python = venv / "bin" / "python"
    installed = run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         str(wheel)],
        timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    site = run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    (Path(site.stdout.strip()) / "dependencies.pth").write_text(
        sysconfig.get_path("purelib") + "\n"
    )
    templates = Path(sysconfig.get_path("data")) / "share" / "jupyter" / "nbconvert"
    (venv / "share" / "jupyter").mkdir(parents=True)
    (venv / "share" / "jupyter" / "nbconvert").symlink_to(templates)
    return venv / "bin"


def test_the_package_comes_from_the_wheel(fresh: Path, tmp_path: Path) -> None:
    found = run(
        [str(fresh / "python"), "-c", "import okta_alerts, receiver; "
         "print(okta_alerts.__file__, receiver.__file__)"],
        cwd=tmp_path,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    assert str(ROOT) not in found.stdout
    assert str(fresh.parent) in found.stdout


def test_demo_from_an_empty_directory(fresh: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKTA_ALERTS_")}
    done = run(
        [str(fresh / "okta-alerts"), "demo", "--days", "3"], cwd=tmp_path, env=env, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    reports = sorted((tmp_path / "data" / "demo" / "reports").rglob("*.html"))
    assert {p.parent.name for p in reports} == {"lockouts", "assignment_errors"}
    assert all(str(p) in done.stdout for p in reports)
    assert "Alerts fired: " in done.stdout and "Alerts fired: none" not in done.stdout


def test_the_event_catalog_comes_with_the_wheel(fresh: Path, tmp_path: Path) -> None:
    found = run(
        [str(fresh / "python"), "-c", "from okta_alerts.okta.eventcatalog import load_catalog; "
         "c = load_catalog(); print(len(c.types), c.retrieved, c.eligible('user.account.lock'))"],
        cwd=tmp_path,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == ["1125", "2026-12-02", "True"]
