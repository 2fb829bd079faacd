"""./scripts/run from any folder: the paths a user types are theirs, the default output is the project's out/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROUTINE = '[routine]\nid = "mine"\ntitle = "Mine"\n[[stretch]]\nid = "a"\nname = "Knee hug"\nsteps = ["Hug a knee."]\nsides = "none"\nhold = "2s"\n'


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the project's scripts/run beside the real .venv, with setup already done, so a test
    writes into this copy's out/ and never the real one."""
    copy = tmp_path / "project"
    (copy / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "run", copy / "scripts" / "run")
    (copy / "scripts" / "setup").write_text("#!/bin/sh\n")
    (copy / "scripts" / "setup").chmod(0o755)
    (copy / ".venv").symlink_to(Path(sys.executable).parent.parent)
    return copy


def run_script(project: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(project / "scripts" / "run"), *args], cwd=cwd, capture_output=True, text=True, env=os.environ)


@pytest.mark.integration
def test_run_takes_the_users_paths_from_where_they_typed_them(project, tmp_path):
    from PIL import Image

    home = tmp_path / "home"
    (home / "routines").mkdir(parents=True)
    (home / "routines" / "mine.toml").write_text(ROUTINE)
    Image.new("RGB", (64, 64), "teal").save(home / "routines" / "photo.png")
    with wave.open(str(home / "routines" / "bell.wav"), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(44_100)
        w.writeframes(b"\0\x10" * 13_230)  # 300 ms

    by_default = run_script(project, home, "routines/mine.toml", "--start-chime", "routines/bell.wav", "--cover", "routines/photo.png")
    assert by_default.returncode == 0, by_default.stderr
    assert (project / "out" / "mine.mp3").is_file()
    chimes = {e["end_ms"] - e["start_ms"] for e in json.loads((project / "out" / "mine.json").read_text())["events"] if e.get("sound") == "start"}
    assert chimes == {300}

    for option in (["-o", "music/morning.mp3"], ["--output=music/evening.mp3"]):
        (home / "music").mkdir(exist_ok=True)
        result = run_script(project, home, "routines/mine.toml", *option)
        assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (home / "music").glob("*.mp3")) == ["evening.mp3", "morning.mp3"]
    assert sorted(p.name for p in (project / "out").glob("*.mp3")) == ["mine.mp3"]
    assert not (home / "out").exists()


def test_run_reports_a_missing_file_the_user_named(project, tmp_path):
    result = run_script(project, tmp_path, "nowhere/mine.toml")
    assert result.returncode == 2
    assert result.stderr.strip() == "Error: nowhere/mine.toml: file not found"
