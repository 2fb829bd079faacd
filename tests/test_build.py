"""End to end with the real parts: pyttsx3 + espeak-ng speak, ffmpeg encodes, and we decode and measure."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from voiceroutine import Settings, build, plan
from voiceroutine.errors import EncoderError, RoutineError, SynthesisError
from voiceroutine import export

from conftest import RATE, decode, onset_ms, peak, read_manifest

pytestmark = pytest.mark.integration

@pytest.fixture(scope="module")
def built(tmp_path_factory, short_routine, engine):
    out = tmp_path_factory.mktemp("out") / "short.mp3"
    result = build(short_routine, Settings(), out, engine=engine)
    return result, decode(out)


def test_decoded_length_matches_the_manifest(built):
    result, samples = built
    manifest = read_manifest(result.audio_path)
    assert abs(len(samples) * 1000 / RATE - manifest["audio"]["duration_ms"]) <= 30
    assert manifest["audio"] == {
        "file": "short.mp3",
        "format": "mp3",
        "sample_rate": 44100,
        "channels": 1,
        "duration_ms": result.script.duration_ms,
    }


def test_every_sound_starts_where_the_manifest_says(built):
    result, samples = built
    events = [e for e in read_manifest(result.audio_path)["events"] if e["kind"] in ("speech", "chime")]
    assert len(events) > 15
    for event in events:
        heard = onset_ms(samples, event["start_ms"])
        assert heard is not None, event
        assert abs(heard - event["start_ms"]) <= 30, (event, heard)


def test_holds_are_exact_and_silent_between_the_chimes(built):
    result, samples = built
    events = read_manifest(result.audio_path)["events"]
    holds = [e for e in events if e["kind"] == "hold"]
    assert [(h["stretch"], h["side"], h["end_ms"] - h["start_ms"]) for h in holds] == [
        ("knee-hug", "left", 3000),
        ("knee-hug", "right", 3000),
        ("butterfly", None, 2500),
    ]
    chimes = {(e["start_ms"], e["sound"]): e for e in events if e["kind"] == "chime"}
    for hold in holds:
        start, end = chimes[(hold["start_ms"], "start")], chimes[(hold["end_ms"], "end")]
        heard_start, heard_end = onset_ms(samples, start["start_ms"]), onset_ms(samples, end["start_ms"])
        assert abs((heard_end - heard_start) - (hold["end_ms"] - hold["start_ms"])) <= 5
        # Inside the hold only its cues sound: elsewhere it is silent.
        cues = sorted((e["start_ms"], e["end_ms"]) for e in events if e.get("cue") and hold["start_ms"] < e["start_ms"] < hold["end_ms"])
        quiet_from = start["end_ms"] + 5
        for cue_start, cue_end in [*cues, (hold["end_ms"], None)]:
            assert peak(samples, quiet_from, cue_start - 5) < 200
            quiet_from = (cue_end or 0) + 45


def test_start_and_end_chimes_sound_different(built):
    result, samples = built
    chimes = [e for e in read_manifest(result.audio_path)["events"] if e["kind"] == "chime"]

    def crossings(event) -> int:
        begin = event["start_ms"] * RATE // 1000
        piece = samples[begin : begin + RATE // 10]  # the first note
        return sum(1 for a, b in zip(piece, piece[1:]) if (a < 0) != (b < 0))

    start = crossings(next(c for c in chimes if c["sound"] == "start"))
    end = crossings(next(c for c in chimes if c["sound"] == "end"))
    assert end > start * 1.3  # the end chime opens a fifth higher


def test_speech_text_is_what_the_engine_was_sent(built, short_routine):
    result, _ = built
    texts = [e["text"] for e in read_manifest(result.audio_path)["events"] if e["kind"] == "speech"]
    assert texts[:2] == ["Short test routine.", "Lie on your back."]
    assert "Stretch one of two. Knee hug." in texts
    assert "Switch sides. Right knee." in texts
    assert texts[-1] == "All done."
    assert set(texts) == set(plan(short_routine, Settings()).phrases)


def test_mp3_is_mono_cbr_with_id3v23_tags(built):
    result, _ = built
    probe = json.loads(
        subprocess.run(
            ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(result.audio_path)],
            capture_output=True,
            check=True,
        ).stdout
    )
    stream = probe["streams"][0]
    assert (stream["codec_name"], stream["sample_rate"], stream["channels"]) == ("mp3", "44100", 1)
    assert stream["bit_rate"] == "64000"
    tags = probe["format"]["tags"]
    assert tags["title"] == tags["album"] == "Short test routine"
    assert tags["artist"] == "voiceroutine"
    assert result.audio_path.read_bytes()[:4] == b"ID3\x03"


def test_manifest_records_settings_and_chapters(built):
    result, _ = built
    manifest = read_manifest(result.audio_path)
    assert manifest["format"] == "voiceroutine-manifest/1"
    assert manifest["routine"]["id"] == "short"
    assert manifest["settings"]["engine"] == "pyttsx3"
    assert manifest["settings"]["voice"] == "gmw/en-us"
    assert [c["title"] for c in manifest["chapters"]] == ["Introduction", "Knee hug", "Butterfly", "Finish"]
    starts = [e["start_ms"] for e in manifest["events"]]
    assert starts == sorted(starts)


def test_wav_output_has_the_exact_sample_count_tags_and_loudness(tmp_path, short_routine, engine):
    from test_phone import loudness

    out = tmp_path / "short.wav"
    result = build(short_routine, Settings(format="wav"), out, engine=engine)
    assert len(decode(out)) == (result.script.duration_ms * RATE + 500) // 1000
    probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_format", "-of", "json", str(out)], capture_output=True, check=True).stdout)
    assert probe["format"]["tags"]["title"] == "Short test routine"
    level, peak = loudness(out)
    assert -17 <= level <= -15 and peak <= -1.0


def test_the_pipe_keeps_a_deep_queue_while_ffmpeg_also_reads_tags(tmp_path):
    # With a second input ffmpeg sleeps 10 ms each time the pipe's queue runs dry; with the
    # default 8 packets a 40-minute WAV build took 28 s instead of under 2.
    command = export.ffmpeg_command("wav", RATE, 64, "", tmp_path / "metadata.txt", tmp_path / "x.wav")
    inputs = [i for i, word in enumerate(command) if word == "-i"]
    queue = command.index("-thread_queue_size")
    assert len(inputs) == 2 and command[inputs[0] + 1] == "pipe:0"
    assert queue < inputs[0] and int(command[queue + 1]) >= 256
    # With the pipe alone ffmpeg reads it on its main thread; a queue would add a thread.
    assert "-thread_queue_size" not in export.ffmpeg_command("mp3", RATE, 64, "", None, tmp_path / "x.mp3")


def test_changing_holds_synthesises_nothing(tmp_path, short_routine, engine, built):
    from voiceroutine import Overrides, apply_overrides

    longer = apply_overrides(short_routine, Overrides(hold_ms=7000))
    result = build(longer, Settings(), tmp_path / "longer.mp3", engine=engine)
    assert result.synthesised == 0
    assert {h.end_ms - h.start_ms for h in result.script.holds} == {7000}


def test_a_corrupt_cache_entry_is_made_again(tmp_path, monkeypatch, short_routine, engine):
    monkeypatch.setenv("VOICEROUTINE_CACHE", str(tmp_path / "cache"))
    first = build(short_routine, Settings(), tmp_path / "a.mp3", engine=engine)
    entries = sorted((tmp_path / "cache").rglob("*.clip"))  # the phrases, and the same leveled
    assert len(entries) > len(first.script.possible_phrases)
    for i, entry in enumerate(entries):
        entry.write_bytes(entry.read_bytes()[:-100] if i % 2 else b"not a clip at all")  # truncated or foreign
    again = build(short_routine, Settings(), tmp_path / "b.mp3", engine=engine)
    assert again.synthesised == len(first.script.possible_phrases)
    assert read_manifest(tmp_path / "b.mp3")["audio"]["duration_ms"] == pytest.approx(first.script.duration_ms, abs=200)


def test_unknown_voice_is_an_input_error(engine):
    with pytest.raises(RoutineError, match=r"--voice: unknown voice 'no-such-voice'"):
        engine.resolve_voice("no-such-voice")
    assert engine.resolve_voice("en-gb") == "gmw/en"
    assert engine.resolve_voice("en-us+f3") == "gmw/en-us+f3"


@pytest.mark.parametrize(("typed", "meant"), [("en_gb", "en-gb"), ("en_us+f3", "en-us+f3"), ("EN_GB", "en-gb")])
def test_a_voice_typed_with_an_underscore_suggests_the_code_espeak_knows(engine, typed, meant):
    with pytest.raises(RoutineError, match=rf"--voice: unknown voice '{re.escape(typed)}'; did you mean '{re.escape(meant)}'\?"):
        engine.resolve_voice(typed)


def test_a_voice_named_for_another_language_is_refused(engine, tmp_path):
    """A German voice would read a Spanish routine with German sounds: one line, exit 2, nothing written."""
    from click.testing import CliRunner

    from voiceroutine.cli import cli

    with pytest.raises(RoutineError, match=r"--voice: 'de' is espeak's German voice, not one for Español \(es\)"):
        engine.resolve_voice("de", "es")
    assert engine.resolve_voice("es-419+f3", "es") == "roa/es-419+f3"
    assert engine.resolve_voice("en-gb", "en-us") == "gmw/en"  # a region of the same language is the same language

    out = tmp_path / "out" / "rutina.mp3"
    result = CliRunner().invoke(cli, ["build", "--language", "es", "--voice", "en-gb+f3", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        "Error: --voice: 'en-gb+f3' is espeak's English (Great Britain) voice, not one for Español (es); "
        "leave the voice out for espeak's own, or pick one from `voiceroutine voices --lang es`"
    ]
    assert not out.parent.exists()

    # Set in the routine file, it is the file's field that is named, by build and validate alike.
    routine = spanish_routine(tmp_path, "rutina", 'voice = "de"')
    result = CliRunner().invoke(cli, ["build", str(routine), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"Error: {routine}: settings.voice: 'de' is espeak's German voice"), result.output
    assert not out.parent.exists()
    result = CliRunner().invoke(cli, ["validate", str(routine)])
    assert (result.exit_code, result.output.split(" is espeak's")[0]) == (2, f"Error: {routine}: settings.voice: 'de'")


def spanish_routine(folder: Path, name: str, setting: str) -> Path:
    """bed-back in Spanish, as a file of the user's with ``setting`` in its [settings]."""
    text = (Path(__file__).parent.parent / "voiceroutine" / "routines" / "bed-back.es.toml").read_text(encoding="utf-8")
    path = folder / f"{name}.toml"
    path.write_text(re.sub(r"^\[settings\].*$", f"[settings]\n{setting}", text, count=1, flags=re.M), encoding="utf-8")
    return path


def test_validate_checks_a_voice_or_engine_the_file_names_as_a_build_would(tmp_path, monkeypatch):
    """validate passed a file whose voice build then refused; it now starts the engine the file names."""
    from click.testing import CliRunner

    from voiceroutine.cli import cli

    fits = spanish_routine(tmp_path, "latina", 'voice = "es-419"')
    piper = spanish_routine(tmp_path, "piper", 'engine = "piper"')
    result = CliRunner().invoke(cli, ["validate", str(fits), "bed-back"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith(f"ok: {fits}: Estiramientos en la cama")

    monkeypatch.setitem(sys.modules, "piper", None)  # as if the Piper extra were not installed
    result = CliRunner().invoke(cli, ["validate", str(piper)])
    assert result.exit_code == 0, result.output
    assert "; its voice is not checked: the piper engine is not installed" in result.output
    monkeypatch.delitem(sys.modules, "piper")
    if importlib.util.find_spec("piper") is not None:  # installed, Piper's own voice speaks only English
        result = CliRunner().invoke(cli, ["validate", str(piper)])
        assert result.exit_code == 2, result.output
        assert result.output.startswith(f"Error: {piper}: settings.engine: the bundled Piper voice speaks English only")


def test_voices_lists_english_voices():
    from click.testing import CliRunner

    from voiceroutine.cli import cli

    result = CliRunner().invoke(cli, ["voices", "--lang", "en-us"])
    assert result.exit_code == 0
    assert "gmw/en-us " in result.output


class _FailingEngine:
    """The real engine, failing on its third phrase."""

    def __init__(self, engine):
        self.engine, self.calls = engine, 0
        self.name = "pyttsx3"
        self.resolve_voice, self.cache_key = engine.resolve_voice, engine.cache_key

    def synthesize(self, text, voice, rate):
        self.calls += 1
        if self.calls == 3:
            raise SynthesisError(f"the speech engine failed on {text!r}")
        return self.engine.synthesize(text, voice, rate)


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every entry of ``folder``, hidden temporary files included, with file contents."""
    return {p.name: p.read_bytes() if p.is_file() else None for p in sorted(folder.iterdir())}


def test_failed_builds_leave_the_previous_files_intact(tmp_path, monkeypatch, short_routine, engine):
    out = tmp_path / "out" / "short.mp3"
    build(short_routine, Settings(), out, engine=engine)
    before = _snapshot(out.parent)
    assert set(before) == {"short.mp3", "short.json", "short.lrc", "short.vtt"}

    monkeypatch.setenv("VOICEROUTINE_CACHE", str(tmp_path / "fresh-cache"))
    with pytest.raises(SynthesisError, match="the speech engine failed on"):
        build(short_routine, Settings(), out, engine=_FailingEngine(engine), jobs=1)  # this engine lives in this process
    assert _snapshot(out.parent) == before

    monkeypatch.setattr(export, "ffmpeg_command", lambda *a, **k: ["ffmpeg", "-v", "error", "-i", "pipe:0", "-f", "nosuchformat", str(a[-1])])
    with pytest.raises(EncoderError, match="ffmpeg could not write"):
        build(short_routine, Settings(), out, engine=engine)
    assert _snapshot(out.parent) == before


def test_missing_ffmpeg_says_how_to_install_it(tmp_path, monkeypatch, short_routine, engine):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EncoderError, match="apt-get install ffmpeg"):
        build(short_routine, Settings(), tmp_path / "x.mp3", engine=engine)
    assert not list(tmp_path.iterdir())


def test_interrupted_build_leaves_no_temporary_files(tmp_path, short_routine, engine):
    out = tmp_path / "short.mp3"

    def interrupt(label, done, total):
        if label == "Encoding":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build(short_routine, Settings(), out, engine=engine, progress=interrupt)
    assert list(tmp_path.iterdir()) == []


def test_a_wheel_install_builds_a_routine(tmp_path):
    """The chimes and routines ship inside the wheel: build one from a fresh, non-editable install."""
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path / "dist"), str(root)],
        check=True,
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    wheel = next((tmp_path / "dist").glob("voiceroutine-*.whl"))
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)], check=True)
    # Dependencies come from the test environment; the project itself only from the wheel.
    site = subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"], capture_output=True, text=True, check=True).stdout.strip()
    deps = next(p for p in map(Path, sys.path) if (p / "pydub").is_dir())
    Path(site, "test-deps.pth").write_text(f"{deps}\n")
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "VOICEROUTINE_CACHE": str(tmp_path / "cache")}
    run = subprocess.run(
        [str(python), "-m", "voiceroutine", "build", "--only", "butterfly", "--hold", "2s", "-q"],
        cwd=work, env=env, capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr
    location = subprocess.run([str(python), "-c", "import voiceroutine; print(voiceroutine.__file__)"], cwd=work, capture_output=True, text=True).stdout
    assert location.startswith(str(venv))
    assert read_manifest(work / "out" / "bed-back.mp3")["routine"]["id"] == "bed-back"


def test_missing_espeak_says_how_to_install_it(monkeypatch):
    import pyttsx3

    from voiceroutine.engines.pyttsx3_engine import Pyttsx3Engine

    def no_library(*args, **kwargs):
        raise RuntimeError("This means you probably do not have eSpeak or eSpeak-ng installed!")

    monkeypatch.setattr(pyttsx3, "init", no_library)
    with pytest.raises(SynthesisError, match=r"sudo apt-get install espeak-ng"):
        Pyttsx3Engine().synthesize("Hello.", "gmw/en-us", 140)


@pytest.mark.parametrize("stage, warm, after_s", [("synthesis", False, 1.0), ("encoding", True, 3.0)])
def test_sigterm_mid_build_leaves_the_previous_files_intact(tmp_path, stage, warm, after_s):
    """Stopped while synthesising (cold cache) or encoding (warm, long holds): old files stay, no temporary ones."""
    import signal
    import time

    out = tmp_path / "out" / "routine.mp3"
    out.parent.mkdir()
    env = {**os.environ, "VOICEROUTINE_CACHE": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "voiceroutine", "build", "-o", str(out)]
    if warm:
        subprocess.run([*command, "-q", "--hold", "5s"], env=env, check=True)
    out.write_bytes(b"last week's routine")
    out.with_suffix(".json").write_text("{}")
    before = _snapshot(out.parent)
    process = subprocess.Popen([*command, "--hold", "10m"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(after_s)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "Stopped: no file is left half-written" in stderr and "Traceback" not in stderr, stderr[-2000:]
    assert _snapshot(out.parent) == before
