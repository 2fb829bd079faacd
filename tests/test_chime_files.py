"""The user's own chimes in any format ffmpeg reads: checked, measured and heard where the manifest says."""

from __future__ import annotations

import json
import subprocess

import pytest
from click.testing import CliRunner

from voiceroutine import Settings, build
from voiceroutine.cli import cli

from conftest import RATE, decode, libraries_loaded, one_line_error, onset_ms, read_manifest


def tone(path, hz: int, seconds: float) -> str:
    """A real encoded file made by ffmpeg: its codec follows the extension (MP3, Vorbis, AAC, FLAC)."""
    codec = ["-c:a", "libvorbis"] if path.suffix == ".ogg" else []
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=f={hz}:d={seconds}:sample_rate=44100", "-ac", "1", *codec, str(path)],
        check=True,
    )
    return str(path)


def zero_crossings(samples, start_ms: int, length_ms: int = 100) -> int:
    begin = start_ms * RATE // 1000
    piece = samples[begin : begin + length_ms * RATE // 1000]
    return sum(1 for a, b in zip(piece, piece[1:]) if (a < 0) != (b < 0))


@pytest.mark.integration
def test_mp3_and_ogg_chimes_are_heard_at_each_hold(tmp_path, short_routine, engine):
    start = tone(tmp_path / "bell.mp3", 880, 0.4)
    end = tone(tmp_path / "gong.ogg", 330, 0.5)
    out = tmp_path / "custom.mp3"
    build(short_routine, Settings(start_chime=start, end_chime=end), out, engine=engine)
    samples, manifest = decode(out), read_manifest(out)
    chimes = [e for e in manifest["events"] if e["kind"] == "chime"]
    assert {e["end_ms"] - e["start_ms"] for e in chimes if e["sound"] == "start"} == {400}
    assert {e["end_ms"] - e["start_ms"] for e in chimes if e["sound"] == "end"} <= set(range(480, 521))
    holds = [e for e in manifest["events"] if e["kind"] == "hold"]
    assert len(holds) == 3
    for hold in holds:
        # The hold starts at the first sound of the start chime, 880 Hz (176 crossings in 100 ms) ...
        assert abs(onset_ms(samples, hold["start_ms"]) - hold["start_ms"]) <= 30
        assert zero_crossings(samples, hold["start_ms"] + 50) in range(170, 183)
        # ... and ends at the end chime's, 330 Hz (66 crossings in 100 ms).
        assert abs(onset_ms(samples, hold["end_ms"]) - hold["end_ms"]) <= 30
        assert zero_crossings(samples, hold["end_ms"] + 50) in range(62, 71)


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return lambda *args: CliRunner().invoke(cli, list(args))


def test_plan_measures_chimes_of_any_format(run, tmp_path):
    tone(tmp_path / "bell.m4a", 880, 0.3)
    tone(tmp_path / "gong.flac", 330, 1.2)
    result = run("plan", "--json", "--only", "butterfly", "--start-chime", "bell.m4a", "--end-chime", "gong.flac")
    assert result.exit_code == 0, result.output
    lengths = {e["sound"]: e["end_ms"] - e["start_ms"] for e in json.loads(result.output)["events"] if e["kind"] == "chime"}
    assert lengths["end"] == 1200
    assert 300 <= lengths["start"] <= 310  # AAC decodes with a few ms of its encoder's priming


def test_a_chime_file_ffmpeg_cannot_use_is_one_line_naming_option_and_file(run, tmp_path):
    (tmp_path / "notes.txt").write_text("not audio\n")
    tone(tmp_path / "long.flac", 440, 4)
    tone(tmp_path / "blip.flac", 440, 0.02)
    cases = [
        (["--start-chime", "notes.txt"], "Error: --start-chime: notes.txt: ffmpeg cannot read audio from it ("),
        (["--end-chime", "long.flac"], "Error: --end-chime: long.flac: lasts 4000 ms; a chime must last 50 ms to 3 s"),
        (["--end-chime", "blip.flac"], "Error: --end-chime: blip.flac: lasts 20 ms; a chime must last 50 ms to 3 s"),
        (["--start-chime", "."], "Error: --start-chime: .: not a file; expected an audio file"),
    ]
    for args, expected in cases:
        assert one_line_error(run("build", "--only", "butterfly", *args), 2).startswith(expected)
    assert not (tmp_path / "out").exists()


def test_a_routine_file_may_name_any_audio_and_its_errors_name_the_field(run, tmp_path):
    folder = tmp_path / "routines"
    folder.mkdir()
    tone(folder / "bell.ogg", 880, 0.25)
    (folder / "notes.txt").write_text("not audio\n")
    body = '[routine]\ntitle = "Mine"\n[settings]\nstart_chime = "{}"\n[[stretch]]\nid = "a"\nname = "A"\nsteps = ["s"]\n'
    (folder / "mine.toml").write_text(body.format("bell.ogg"))
    data = json.loads(run("plan", "--json", "routines/mine.toml").output)
    assert {e["end_ms"] - e["start_ms"] for e in data["events"] if e.get("sound") == "start"} <= set(range(240, 261))
    (folder / "mine.toml").write_text(body.format("notes.txt"))
    line = one_line_error(run("plan", "routines/mine.toml"), 2)
    assert line.startswith("Error: routines/mine.toml: settings.start_chime: ") and "notes.txt: ffmpeg cannot read audio from it" in line


def test_plan_with_a_users_chime_loads_no_audio_library(tmp_path):
    bell = tone(tmp_path / "bell.mp3", 880, 0.3)
    run = libraries_loaded(["plan", "--start-chime", bell], {"pydub", "audioop", "pyttsx3", "piper", "onnxruntime", "mutagen", "PIL", "numpy", "starlette", "uvicorn"})
    assert run.stderr.strip().splitlines()[-1] == "[]", run.stderr
