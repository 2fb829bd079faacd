"""A cold build at the speed of synthesis: no process per phrase, loudness measured in this process.

Clips are resampled by soxr in-process (band-limited: nothing above the engine's
band); the routine's loudness is measured from its distinct sounds and the
timeline, and agrees with ffmpeg's ebur128 on the final file; speech workers
start before they are needed, and small builds start none.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from voiceroutine import build, load_routine, resolve_settings, synthesis
from voiceroutine.routine import parse_routine
from voiceroutine.cache import PhraseCache
from voiceroutine.clips import Clip, resample
from voiceroutine.loudness import level, measure_lufs
from voiceroutine.meter import integrated_lufs
from voiceroutine.outputs import Rendered, write_outputs
from voiceroutine.pipeline import plan
from voiceroutine.script import build_script
from voiceroutine.sounds import chime_sources, load_chimes

from conftest import RATE, ToneEngine

ENGINE_RATE = 22_050  # espeak's and Piper's own rate


def _spectrum_share_above(samples: np.ndarray, rate: int, hz: float) -> float:
    """The share of the signal's energy above ``hz``, in dB."""
    power = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples)))) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    return 10 * np.log10(power[freqs > hz].sum() / power.sum())


def test_resampling_leaves_nothing_above_the_engines_band_and_beats_ffmpeg():
    """White noise filling the engine's band, from 22.05 to 44.1 kHz: what lands above 11.6 kHz
    (images of the voice, heard as hiss) is at the 16-bit floor, far under ffmpeg's resampler."""
    noise = np.clip(np.random.default_rng(7).standard_normal(ENGINE_RATE * 4) * 6000, -32768, 32767).astype("<i2")
    ours = np.frombuffer(resample(Clip(noise.tobytes(), ENGINE_RATE), RATE).samples, dtype="<i2")
    assert len(ours) == len(noise) * 2
    ffmpeg = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "s16le", "-ar", str(ENGINE_RATE), "-ac", "1", "-i", "pipe:0", "-af", f"aresample={RATE}", "-f", "s16le", "-"],
        input=noise.tobytes(), capture_output=True, check=True,
    ).stdout  # fmt: skip
    theirs = np.frombuffer(ffmpeg, dtype="<i2")
    assert _spectrum_share_above(ours, RATE, 11_600) < -80
    assert _spectrum_share_above(ours, RATE, 11_600) < _spectrum_share_above(theirs, RATE, 11_600) - 20
    # The band itself passes: a 5 kHz tone keeps its level.
    tone = (8000 * np.sin(2 * np.pi * 5000 * np.arange(ENGINE_RATE) / ENGINE_RATE)).astype("<i2")
    out = np.frombuffer(resample(Clip(tone.tobytes(), ENGINE_RATE), RATE).samples, dtype="<i2").astype(np.float64)
    assert np.sqrt(np.mean(out[1000:-1000] ** 2)) == pytest.approx(8000 / np.sqrt(2), rel=0.01)


def _ffmpeg_lufs(path: Path) -> float:
    report = subprocess.run(["ffmpeg", "-nostats", "-i", str(path), "-af", "ebur128=dualmono=true", "-f", "null", "-"], capture_output=True, text=True).stderr
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", report)[-1])


def test_the_meter_agrees_with_ffmpeg_on_any_pcm():
    """A whole file measured as one sound: the same figure as ffmpeg's ebur128, at any rate."""
    rng = np.random.default_rng(3)
    for rate in (22_050, 44_100, 48_000):
        bursts = np.zeros(rate * 20)
        for start in range(0, rate * 18, rate * 3):  # speech-like: bursts of shaped noise with pauses
            bursts[start : start + rate] = rng.standard_normal(rate) * np.hanning(rate) * 0.2
        pcm = (bursts * 32767).astype("<i2")
        report = subprocess.run(
            ["ffmpeg", "-nostats", "-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0", "-af", "ebur128=dualmono=true", "-f", "null", "-"],
            input=pcm.tobytes(), capture_output=True,
        ).stderr.decode()  # fmt: skip
        theirs = float(re.findall(r"I:\s+(-?[\d.]+) LUFS", report)[-1])
        assert integrated_lufs([(pcm.tobytes(), [0])], len(pcm), rate) == pytest.approx(theirs, abs=0.1)


@pytest.mark.integration
def test_loudness_measured_from_the_timeline_is_the_final_files(tmp_path, engine):
    """bed-back with every cue: the figure derived from its distinct sounds and where they play
    is within 0.3 LU of ffmpeg's ebur128 on the WAV the build writes (measured: within 0.05)."""
    routine = load_routine("bed-back")
    settings = resolve_settings(routine.settings, {"guidance": "full", "format": "wav", "sidecars": False})
    settings = replace(settings, voice=engine.resolve_voice(None))
    phrases = plan(routine, settings).possible_phrases
    voiced = synthesis.voice_phrases(
        engine, phrases, voice=settings.voice, rate=settings.rate, sample_rate=RATE, cache=PhraseCache(tmp_path / "cache")
    )
    chimes = load_chimes(chime_sources(settings.chimes), RATE)
    script = build_script(routine, settings, lambda text: voiced.clips[text].duration_ms, {k: c.duration_ms for k, c in chimes.items()})
    clips, leveled_chimes = level(script, voiced.clips, chimes, voiced.ids, RATE, settings.loudness_lufs, "wav")
    out = tmp_path / "bed-back.wav"
    write_outputs(Rendered(routine, settings, script, clips, leveled_chimes), out)
    heard = _ffmpeg_lufs(out)
    assert measure_lufs(script, clips, leveled_chimes, RATE) == pytest.approx(heard, abs=0.3)
    assert heard == pytest.approx(-16, abs=0.3)


class _CountedRuns:
    """Every ffmpeg process a build starts, by what it is for."""

    def __init__(self, monkeypatch) -> None:
        self.commands: list[list[str]] = []
        real = subprocess.Popen.__init__

        def counted(popen, args, *rest, **kwargs):
            if isinstance(args, list) and args and args[0] == "ffmpeg":
                self.commands.append(args)
            real(popen, args, *rest, **kwargs)

        monkeypatch.setattr(subprocess.Popen, "__init__", counted)


@pytest.mark.integration
def test_a_cold_build_starts_no_process_per_phrase(tmp_path, monkeypatch, engine):
    """bed-back speaks 44 phrases; ffmpeg runs for the limiter (at most twice) and the encoder only."""
    runs = _CountedRuns(monkeypatch)
    routine = load_routine("bed-back")
    result = build(routine, resolve_settings(routine.settings, {"sidecars": False}), tmp_path / "b.mp3", engine=engine, cache=PhraseCache(tmp_path / "cache"), jobs=1)
    assert result.synthesised == len(result.script.possible_phrases) > 40
    assert 2 <= len(runs.commands) <= 3, runs.commands


class _Events(list):
    """What happened, in order: workers started, the voice resolved."""


EVENTS = _Events()


class WatchedToneEngine(ToneEngine):
    """The tone engine, noting when the build resolves the voice (workers import it by name)."""

    name = "watched-tone"

    def resolve_voice(self, voice, language="en"):
        EVENTS.append("resolve")
        return super().resolve_voice(voice, language)


TINY = """
[routine]
title = "Tiny"
[[stretch]]
id = "reach"
name = "Reach"
steps = ["Reach up."]
sides = "none"
hold = "3s"
"""


def test_workers_start_before_the_voice_is_resolved_and_only_when_worth_it(tmp_path, monkeypatch):
    started = synthesis.SpeechWorkers.__init__

    def spy_start(self, engine, count):
        EVENTS.append(f"workers {count}")
        started(self, engine, count)

    monkeypatch.setattr(synthesis.SpeechWorkers, "__init__", spy_start)
    EVENTS.clear()
    wav = {"format": "wav", "sidecars": False}
    routine = load_routine("bed-back")  # 44 phrases: worth a worker beside this process
    build(routine, resolve_settings(routine.settings, wav), tmp_path / "a.wav", engine=WatchedToneEngine(), cache=PhraseCache(tmp_path / "c1"), jobs=2)
    assert EVENTS == ["workers 1", "resolve"]
    EVENTS.clear()
    build(routine, resolve_settings(routine.settings, wav), tmp_path / "b.wav", engine=WatchedToneEngine(), cache=PhraseCache(tmp_path / "c1"), jobs=2)
    assert EVENTS == ["resolve"]  # every phrase cached: no worker
    EVENTS.clear()
    tiny = parse_routine(TINY, source="tiny.toml")
    result = build(tiny, resolve_settings(wav), tmp_path / "c.wav", engine=WatchedToneEngine(), cache=PhraseCache(tmp_path / "c2"), jobs=2)
    assert 0 < result.synthesised < synthesis.MIN_PARALLEL_PHRASES
    assert EVENTS == ["resolve"]  # a handful of phrases: spoken here, no worker started
