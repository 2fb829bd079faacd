"""Music under the voice, ducked exactly where the coach speaks.

A pure tone at 12 kHz is the test music: the voice (resampled from the
engine's 22.05 kHz, band-limited under 11.03 kHz) has nothing there, so the
tone's level can be read straight from the built file, in the holds and under
every word and chime, by its own frequency.
"""

from __future__ import annotations

import json
import re
import subprocess
import wave
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from voiceroutine import Settings, build, user_audio
from voiceroutine.cache import PhraseCache
from voiceroutine.cli import cli
from voiceroutine.music import DUCK_DB, RAMP_MS

from conftest import RATE, SHORT_ROUTINE, decode, one_line_error, onset_ms, read_manifest

pytestmark = pytest.mark.integration


def _tone(path: Path, hz: float, seconds: float, amplitude: float = 0.5) -> Path:
    t = np.arange(int(RATE * seconds)) / RATE
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((amplitude * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes())
    return path


def _pcm(path: Path) -> np.ndarray:
    with wave.open(str(path)) as audio:
        return np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2").astype(np.float64)


def _db(samples: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(samples**2)) + 1e-9)


TONE_HZ = 12_000


def _tone_db(samples: np.ndarray) -> float:
    """The level of the test tone in ``samples`` (dB of its amplitude in 16-bit steps), by its frequency alone."""
    n = np.arange(len(samples))
    amplitude = 2 * abs(np.sum(samples * np.exp(-2j * np.pi * TONE_HZ * n / RATE))) / len(samples)
    return 20 * np.log10(amplitude + 1e-9)


@pytest.fixture(scope="module")
def scored(tmp_path_factory, short_routine, engine):
    """The short routine as WAV with the test tone under it, and its samples."""
    folder = tmp_path_factory.mktemp("music")
    tone = _tone(folder / "tone.wav", TONE_HZ, 20)
    # Minimal guidance: nothing is said inside the holds, where the music is measured at its level.
    settings = Settings(format="wav", sidecars=False, music=str(tone), guidance="minimal")
    result = build(short_routine, settings, folder / "scored.wav", engine=engine)
    return result, _pcm(result.audio_path)


def _holds(result) -> list[dict]:
    return [e for e in read_manifest(result.audio_path)["events"] if e["kind"] == "hold"]


def _ms(samples: np.ndarray, start_ms: int, end_ms: int) -> np.ndarray:
    return samples[start_ms * RATE // 1000 : end_ms * RATE // 1000]


def test_the_music_ducks_at_least_10_db_under_every_word_and_chime_before_it_starts(scored):
    result, samples = scored
    events = read_manifest(result.audio_path)["events"]
    # In a hold, after the start chime's ramp and before the end chime's: the music at its level.
    hold_level = max(_tone_db(_ms(samples, h["start_ms"] + 1300, h["end_ms"] - 400)) for h in _holds(result))
    sounds = [e for e in events if e["kind"] in ("speech", "chime") and e["start_ms"] > 3_000]  # after the fade-in
    assert len(sounds) > 10
    for event in sounds:
        assert _tone_db(_ms(samples, event["start_ms"], event["end_ms"])) <= hold_level - 10, event
        # Already down in the 20 ms before the sound: the ramp is done when the word begins.
        assert _tone_db(_ms(samples, event["start_ms"] - 20, event["start_ms"])) <= hold_level - 10, event
    assert DUCK_DB >= 10 and 100 <= RAMP_MS <= 500


def test_the_music_is_the_track_at_its_level_in_the_holds(scored):
    """The tone in the holds, about 20 LU under the voice's -16 LUFS: a quiet bed."""
    result, samples = scored
    hold = max(_holds(result), key=lambda h: h["end_ms"] - h["start_ms"])
    piece = _ms(samples, hold["start_ms"] + 1300, hold["end_ms"] - 400)
    assert np.abs(piece).max() < 0.05 * 32768  # far under speech, which peaks near -3 dBFS
    assert _tone_db(piece) > 40  # and there: the tone is heard


def test_holds_stay_exact_and_chimes_clear_over_the_music(scored):
    result, _ = scored
    samples = decode(result.audio_path)
    events = read_manifest(result.audio_path)["events"]
    assert {e["end_ms"] - e["start_ms"] for e in events if e["kind"] == "hold"} == {3000, 2500}
    for chime in (e for e in events if e["kind"] == "chime"):
        heard = onset_ms(samples, chime["start_ms"], threshold=1500)  # well above the ducked bed
        assert heard is not None and abs(heard - chime["start_ms"]) <= 30, chime


def test_the_manifest_records_the_music(scored, short_routine, engine, tmp_path):
    result, _ = scored
    music = read_manifest(result.audio_path)["music"]
    assert music["file"] == "tone.wav" and music["level_lu"] == -20.0 and music["duck_db"] == DUCK_DB
    assert re.fullmatch(r"[0-9a-f]{64}", music["sha256"])
    plain = build(short_routine, Settings(format="wav", sidecars=False), tmp_path / "plain.wav", engine=engine)
    assert read_manifest(plain.audio_path)["music"] is None


def test_a_short_track_loops_smoothly_and_the_bed_fades_at_both_ends(tmp_path, short_routine, engine):
    """Two seconds of tone under a routine of a minute: it loops with a crossfade, never a gap or a click."""
    tone = _tone(tmp_path / "short.wav", TONE_HZ, 2)
    scored = build(short_routine, Settings(format="wav", sidecars=False, music=str(tone), guidance="minimal"), tmp_path / "b.wav", engine=engine)
    samples = _pcm(scored.audio_path)
    assert len(samples) > 20 * RATE
    assert np.abs(samples[:100]).max() < 5 and np.abs(samples[-100:]).max() < 5  # faded in and out
    levels = []
    for hold in _holds(scored):
        piece = _ms(samples, hold["start_ms"] + 1300, hold["end_ms"] - 400)
        levels += [_tone_db(w) for w in np.array_split(piece, 4)]
        # A click spreads over every frequency: away from the tone, nothing but the 16-bit floor.
        spectrum = np.abs(np.fft.rfft(piece * np.hanning(len(piece))))
        freqs = np.fft.rfftfreq(len(piece), 1 / RATE)
        assert spectrum[np.abs(freqs - TONE_HZ) > 300].max() < spectrum.max() * 1e-3
    assert max(levels) - min(levels) < 3.5  # steady: no gap where the track starts again


def test_loudness_and_true_peak_hold_with_music(tmp_path, short_routine, engine):
    loud = _tone(tmp_path / "loud.wav", 220, 20, amplitude=1.0)
    out = tmp_path / "scored.mp3"
    build(short_routine, Settings(sidecars=False, music=str(loud), music_level_lu=-12), out, engine=engine)
    report = subprocess.run(["ffmpeg", "-nostats", "-i", str(out), "-af", "ebur128=dualmono=true:peak=true", "-f", "null", "-"], capture_output=True, text=True).stderr
    level = float(re.findall(r"I:\s+(-?[\d.]+) LUFS", report)[-1])
    peak = float(re.findall(r"Peak:\s+(-?[\d.]+) dBFS", report)[-1])
    assert abs(level + 16) <= 1.0 and peak <= -1.0, (level, peak)


def test_a_rebuild_does_not_decode_the_music_again(tmp_path, short_routine, engine, monkeypatch):
    tone = _tone(tmp_path / "tone.wav", 110, 5)
    cache = PhraseCache(tmp_path / "cache")
    build(short_routine, Settings(format="wav", sidecars=False, music=str(tone)), tmp_path / "a.wav", engine=engine, cache=cache)
    monkeypatch.setattr(user_audio, "decode", lambda *a, **k: pytest.fail("the music was decoded again"))
    build(short_routine, Settings(format="wav", sidecars=False, music=str(tone)), tmp_path / "b.wav", engine=engine, cache=cache)
    assert _pcm(tmp_path / "a.wav").tolist() == _pcm(tmp_path / "b.wav").tolist()


@pytest.mark.parametrize("case", ["missing", "not audio", "silent", "with noise"])
def test_bad_music_is_one_line_with_status_2_and_nothing_written(tmp_path, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "short.toml").write_text(SHORT_ROUTINE)
    music = tmp_path / "track.mp3"
    args = ["build", "short.toml", "--music", str(music)]
    if case == "not audio":
        music.write_text("these are not the sounds you are looking for")
    if case == "silent":
        music = tmp_path / "silence.wav"
        _tone(music, 110, 3, amplitude=0)
        args[-1] = str(music)
    if case == "with noise":
        _tone(music.with_suffix(".wav"), 110, 3)
        args[-1] = str(music.with_suffix(".wav"))
        args += ["--ambient", "noise"]
    line = one_line_error(CliRunner().invoke(cli, args), 2)
    assert line.startswith("Error: --music: ")
    expected = {"missing": "file not found", "not audio": "ffmpeg cannot read audio", "silent": "is silent", "with noise": "choose one"}
    assert expected[case] in line
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_routine_file_names_its_music_relative_to_itself(tmp_path, monkeypatch):
    folder = tmp_path / "routines"
    folder.mkdir()
    _tone(folder / "calm.wav", 110, 3)
    (folder / "r.toml").write_text(SHORT_ROUTINE.replace('[defaults]', '[settings]\nmusic = "calm.wav"\nmusic_level = -24\n\n[defaults]'))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["plan", "routines/r.toml", "--json"])
    assert result.exit_code == 0, result.output
    from voiceroutine import load_routine

    assert load_routine(folder / "r.toml").settings["music"] == str(folder / "calm.wav")
    bad = one_line_error(CliRunner().invoke(cli, ["plan", "routines/r.toml", "--music-level", "-6"]), 2)
    assert bad == "Error: --music-level: -6 is out of range (-30 to -12)"
