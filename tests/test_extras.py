"""The voices are extras, installed when asked for: ./scripts/run installs an engine's extra before
building with it, ./scripts/test installs every extra, and ./scripts/setup takes each from its lock.

The scripts run for real in a copy of the project, with stand-ins for what they call (setup, the
.venv's Python and voiceroutine), which note how they were called.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # setup installs it when it is missing


def stand_in(path: Path, calls: Path, name: str) -> None:
    """An executable at ``path`` that appends "``name`` <its arguments>" to ``calls``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> "{calls}"\n')
    path.chmod(0o755)


@pytest.fixture
def project(tmp_path) -> tuple[Path, Path]:
    """A copy of the project's scripts with stand-ins beside them; returns the copy and the file of calls."""
    copy, calls = tmp_path / "project", tmp_path / "calls"
    shutil.copytree(ROOT / "scripts", copy / "scripts")
    stand_in(copy / "scripts" / "setup", calls, "setup")
    stand_in(copy / ".venv" / "bin" / "voiceroutine", calls, "voiceroutine")
    stand_in(copy / ".venv" / "bin" / "python", calls, "python")
    return copy, calls


@pytest.mark.parametrize(
    "args, extras",
    [
        (["--engine", "hibari"], "hibari"),
        (["--engine=hibari", "--hold", "20s"], "hibari"),
        (["mine.toml", "--engine", "piper"], "neural"),
        (["--engine=piper"], "neural"),
        (["--hold", "20s"], ""),
    ],
)
def test_run_installs_the_engines_extra_before_it_builds(project, args, extras):
    copy, calls = project
    subprocess.run([str(copy / "scripts" / "run"), *args], check=True, cwd=copy)
    assert calls.read_text().splitlines() == [f"setup {extras}", f"voiceroutine build -o {copy}/out/ {' '.join(args)}"]


def test_the_tests_run_with_every_extra(project):
    copy, calls = project
    subprocess.run([str(copy / "scripts" / "test"), "-x"], check=True, cwd=copy)
    assert calls.read_text().splitlines() == ["setup dev,neural,hibari", "python -m pytest -x"]


@pytest.mark.parametrize(
    "extras, locks",
    [
        ("", ["core"]),
        ("hibari", ["hibari"]),
        ("neural", ["neural"]),
        ("neural,hibari", ["neural", "hibari"]),
        ("hibari,neural", ["neural", "hibari"]),
        ("dev,neural,hibari", ["dev"]),
    ],
)
def test_setup_installs_each_extra_from_its_lock(tmp_path, extras, locks):
    """The .venv's Python is a stand-in: setup's calls to pip are noted, not run. The system packages are
    this machine's own (setup installs none when they are there)."""
    if not all(shutil.which(tool) for tool in ("espeak-ng", "ffmpeg", "chromium")) or not Path(FONT).exists():
        pytest.skip("setup would install system packages here")
    copy, calls = tmp_path / "project", tmp_path / "calls"
    (copy / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "setup", copy / "scripts" / "setup")
    shutil.copytree(ROOT / "requirements", copy / "requirements")
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    stand_in(copy / ".venv" / "bin" / "python", calls, "python")
    subprocess.run([str(copy / "scripts" / "setup"), extras], check=True, capture_output=True, env=os.environ)
    installs = [line for line in calls.read_text().splitlines() if "--require-hashes" in line]
    wanted = " ".join(f"--requirement={copy}/requirements/{lock}.txt" for lock in locks)
    assert installs == [
        f"python -m pip install --quiet --require-hashes --requirement={copy}/requirements/build.txt",  # pip and setuptools
        f"python -m pip install --quiet --require-hashes {wanted}",
    ]
    editable = [line for line in calls.read_text().splitlines() if "--editable" in line]
    assert editable == [f"python -m pip install --quiet --no-deps --no-build-isolation --editable {copy}"]
    assert (copy / ".venv" / ".voiceroutine-installed").read_text().split()[1:] == ([extras] if extras else [])
