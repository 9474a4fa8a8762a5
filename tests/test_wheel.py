"""An installed wheel works on its own: it adds one import package (`provledger`) to
site-packages, carries the worked example's data, and `provledger demo` runs from any
directory. The wheel is built from this checkout and installed into a fresh virtual
environment; to keep the test fast, that environment borrows the already-installed
dependencies (duckdb, pyarrow, ...) through a path file, never this checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy, so the build's scratch folders never land in the checkout.
    source = tmp_path_factory.mktemp("source") / "provledger"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "build",
            "*.egg-info",
            "__pycache__",
            ".*_cache",
            ".typecheck",
            "bench",
            "tests",
            "docs",
            ".provledger",
        ),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("provledger-*.whl")
    return built


def test_the_wheel_installs_one_import_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"provledger"}
    assert "provledger/sample_datasets/batches.json" in names
    assert "provledger/cli/main.py" in names


def test_the_installed_demo_runs_from_any_directory(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # The dependencies come from this environment's site-packages; a path file adds the
    # folder without running its own path files, so this checkout's editable install
    # stays out of the new environment.
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    where = subprocess.run(
        [str(python), "-c", "import provledger; print(provledger.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout
    assert Path(where.strip()).is_relative_to(site)
    away = tmp_path / "elsewhere"
    away.mkdir()
    done = subprocess.run(
        [str(venv / "bin" / "provledger"), "demo", "--home", str(tmp_path / "home")],
        capture_output=True,
        text=True,
        cwd=away,
    )
    assert done.returncode == 0, done.stderr
    assert "support-ticket-classifier" in done.stdout
    checked = subprocess.run(
        [str(venv / "bin" / "provledger"), "verify", "--home", str(tmp_path / "home")],
        capture_output=True,
        text=True,
        cwd=away,
    )
    assert checked.returncode == 0, checked.stderr
