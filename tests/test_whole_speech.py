"""No phrase is ever lost: every clip is checked to be whole speech before it is cached or played.

A clip with no sound, or far too short for its words, is spoken again (a fresh
engine the last time); one that never comes out whole stops the build with a
one-line error naming it, and is never cached. A cached entry holding such a
clip counts as damaged. And in the file, every phrase the manifest lists is
heard where it says, even when builds run side by side on a loaded machine.
"""

from __future__ import annotations

import array
import multiprocessing
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceroutine import Settings, build, load_routine, resolve_settings
from voiceroutine import engines
from voiceroutine.cache import PhraseCache, phrase_key
from voiceroutine.cli import cli
from voiceroutine.clips import Clip
from voiceroutine.errors import SynthesisError
from voiceroutine.speech_check import audible_ms, length_problem, speech_problem
from voiceroutine.synthesis import ATTEMPTS, _engine_key, voice_phrases

from conftest import RATE, ToneEngine, decode, one_line_error, read_manifest

ROOT = Path(__file__).resolve().parent.parent


def _tone(ms: int, amplitude: int = 8000, rate: int = 22_050) -> Clip:
    import math

    frames = rate * ms // 1000
    return Clip(array.array("h", (round(amplitude * math.sin(i * 0.06)) for i in range(frames))).tobytes(), rate)


# --- The check itself ---


def test_a_clip_with_no_samples_or_no_sound_is_not_speech():
    assert speech_problem("Halfway.", Clip(b"", 22_050), 130) == "no sound at all"
    assert speech_problem("Halfway.", Clip(bytes(22_050), 22_050), 130) == "no audible speech"  # half a second of zeros
    assert speech_problem("Halfway.", _tone(600, amplitude=60), 130) == "no audible speech"  # -55 dBFS: a hiss
    assert speech_problem("Halfway.", _tone(600), 130) is None


def test_a_clip_far_too_short_for_its_words_is_refused():
    text = "Use the towel to draw the leg gently toward you, until you feel a mild pull behind the thigh."
    # 19 words at 130 a minute take about 8.8 s; bed-back's fastest phrase on either engine took 0.7 of that.
    assert length_problem(text, 22_050 * 6, 22_050, 130) is None
    assert "for 19 words" in length_problem(text, 22_050 * 2, 22_050, 130)
    assert speech_problem(text, _tone(2000), 130).startswith("only 2000 ms of sound")
    assert length_problem("One.", 0, 44_100, 130) == "no sound at all"


def test_audible_time_counts_only_the_loud_windows():
    quiet_then_loud = Clip(bytes(2 * 22_050) + _tone(300).samples, 22_050)
    assert 280 <= audible_ms(quiet_then_loud) <= 310


# --- Engines that misbehave the way espeak's driver did under load ---


def _announces_butterfly(text: str) -> bool:
    return text.startswith("Stretch") and "utterfly" in text


class EmptyFirstEngine(ToneEngine):
    """Hands back an empty WAV the first time it announces the butterfly stretch."""

    name = "empty-first"

    def synthesize(self, text, voice, rate):
        if _announces_butterfly(text) and text not in self.spoken:
            self.spoken.append(text)
            return Clip(b"", 22_050)
        return super().synthesize(text, voice, rate)


class AlwaysEmptyEngine(ToneEngine):
    """Never announces the butterfly stretch: every clip of that is a second of silence."""

    name = "always-empty"
    made = 0

    def __init__(self) -> None:
        super().__init__()
        AlwaysEmptyEngine.made += 1

    def synthesize(self, text, voice, rate):
        if _announces_butterfly(text):
            self.spoken.append(text)
            return Clip(bytes(22_050 * 2), 22_050)  # a second of silence: not empty, not speech
        return super().synthesize(text, voice, rate)

    def cache_key(self, voice, rate):
        return f"{self.name} voice={voice} rate={rate}"


def test_an_empty_clip_is_spoken_again_and_the_build_has_every_phrase(tmp_path, short_routine):
    engine = EmptyFirstEngine()
    result = build(short_routine, Settings(format="wav", sidecars=False), tmp_path / "out.wav", engine=engine, cache=PhraseCache(tmp_path / "cache"), jobs=1)
    butterfly = "Stretch two of two. Butterfly."
    assert engine.spoken.count(butterfly) == 2  # the empty clip, then the whole one
    event = next(e for e in read_manifest(result.audio_path)["events"] if e.get("text") == butterfly)
    assert event["end_ms"] - event["start_ms"] > 1000


def test_a_phrase_that_never_comes_out_whole_stops_the_build_and_is_never_cached(tmp_path, short_routine):
    cache = PhraseCache(tmp_path / "cache")
    out = tmp_path / "out" / "short.mp3"
    AlwaysEmptyEngine.made = 0
    engine = AlwaysEmptyEngine()
    with pytest.raises(SynthesisError, match=r"gave no audible speech for 'Stretch two of two\. Butterfly\.', 3 times"):
        build(short_routine, Settings(), out, engine=engine, cache=cache, jobs=1)
    assert AlwaysEmptyEngine.made == 2  # the last try was a fresh engine
    assert engine.spoken.count("Stretch two of two. Butterfly.") == ATTEMPTS - 1
    key = phrase_key(_engine_key(engine, "tone", Settings().rate, RATE), "Stretch two of two. Butterfly.")
    assert cache.peek(key) is None
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_the_command_line_names_the_lost_phrase_in_one_line_with_status_1(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOICEROUTINE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(engines, "get_engine", lambda name: AlwaysEmptyEngine())
    result = CliRunner().invoke(cli, ["build", "--only", "butterfly"])
    line = one_line_error(result, 1)
    assert "'Stretch one of one. Supine butterfly stretch.'" in line and "build again" in line
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_cached_clip_that_is_not_speech_counts_as_damaged(tmp_path, short_routine):
    """Entries the earlier version wrote with no samples are spoken again, never played: on a
    rebuild that peeks at the headers, and on one that reads the clips."""
    cache = PhraseCache(tmp_path / "cache")
    first = build(short_routine, Settings(format="wav", sidecars=False), tmp_path / "a.wav", engine=ToneEngine(), cache=cache, jobs=1)
    engine_key = _engine_key(ToneEngine(), "tone", first.settings.rate, RATE)
    emptied, silenced = "Stretch two of two. Butterfly.", "Hug one knee to your chest."
    cache.put(phrase_key(engine_key, emptied), Clip(b"", RATE))
    cache.put(phrase_key(engine_key, silenced), Clip(bytes(RATE * 4), RATE))  # long enough, but silent
    engine = ToneEngine()
    again = build(short_routine, Settings(format="wav", sidecars=False), tmp_path / "b.wav", engine=engine, cache=cache, jobs=1)
    assert sorted(engine.spoken) == sorted([emptied, silenced])
    assert decode(again.audio_path) == decode(first.audio_path)
    # Made again, and stored whole this time.
    assert voice_phrases(ToneEngine(), [emptied, silenced], voice="tone", rate=first.settings.rate, sample_rate=RATE, cache=cache).synthesised == 0


# --- The real engine ---


@pytest.mark.integration
def test_a_real_build_over_a_cache_seeded_with_an_empty_clip_speaks_it_again(tmp_path, short_routine, engine):
    cache = PhraseCache(tmp_path / "cache")
    settings = Settings()
    voice = engine.resolve_voice(None)
    tip = "Hug one knee to your chest."
    cache.put(phrase_key(_engine_key(engine, voice, settings.rate, RATE), tip), Clip(b"", RATE))
    result = build(short_routine, settings, tmp_path / "short.mp3", engine=engine, cache=cache)
    assert result.synthesised == len(result.script.possible_phrases)
    _assert_every_phrase_heard(result.audio_path)


def _assert_every_phrase_heard(audio: Path) -> None:
    """Each speech event of the manifest lasts as its words need and is loud in the decoded file
    for most of its span: no phrase is missing, silent or cut short."""
    samples = decode(audio)
    events = [e for e in read_manifest(audio)["events"] if e["kind"] == "speech"]
    assert events
    for event in events:
        start, end = event["start_ms"] * RATE // 1000, event["end_ms"] * RATE // 1000
        piece = Clip(samples[start:end].tobytes(), RATE)
        span = event["end_ms"] - event["start_ms"]
        assert length_problem(event["text"], span * RATE // 1000, RATE, 130) is None, event
        assert audible_ms(piece) >= 0.4 * span, (event, audible_ms(piece))


def _cold_build(args: tuple[str, str, str]) -> None:
    cache, out, guidance = args
    env = {**os.environ, "VOICEROUTINE_CACHE": cache}
    subprocess.run([sys.executable, "-m", "voiceroutine", "build", "-q", "--guidance", guidance, "-o", out], env=env, check=True, cwd=ROOT)


@pytest.mark.integration
def test_two_cold_builds_at_once_on_two_busy_cores_lose_no_phrase(tmp_path):
    """The load under which espeak's driver once handed back an empty clip: two cold builds of
    bed-back with every cue, each speaking on every core, side by side."""
    jobs = [(str(tmp_path / f"cache-{n}"), str(tmp_path / f"bed-back-{n}.mp3"), "full") for n in (1, 2)]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_cold_build, jobs)
    lengths = []
    for _, out, _ in jobs:
        manifest = read_manifest(Path(out))
        assert sum(e["kind"] == "speech" for e in manifest["events"]) > 100
        _assert_every_phrase_heard(Path(out))
        lengths.append({e["text"]: e["end_ms"] - e["start_ms"] for e in manifest["events"] if e["kind"] == "speech"})
    # Each phrase, spoken in separate processes, lasts the same within a few percent: none came
    # out cut short, or at the driver's default rate (half as long) instead of the rate asked for.
    first, second = lengths
    assert first.keys() == second.keys()
    for text, ms in first.items():
        assert ms == pytest.approx(second[text], rel=0.1), text
