"""`plan` tells the truth: the length it gives is the length the build has.

Before a routine's phrases are spoken, plan estimates them (within 2% of the
build's total, for every engine); once a build has cached them, plan reads
their real lengths from the cache entries' headers and gives the build's own
timeline. Rates mean the same for every engine: words heard a minute.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceroutine import build, load_routine, resolve_settings
from voiceroutine.cache import PhraseCache
from voiceroutine.cli import cli
from voiceroutine.engines import get_engine
from voiceroutine.overrides import apply_overrides, parse_overrides
from voiceroutine.pipeline import plan
from voiceroutine.synthesis import voice_phrases

from conftest import RATE, read_manifest
from test_engines import needs_piper
from test_hibari import needs_hibari

pytestmark = pytest.mark.integration

# Piper is slower to speak: two of bed-back's stretches keep its test short (and hibari's).
ROUTINES = {"pyttsx3": (), "piper": ("--only", "hamstring,piriformis"), "hibari": ("--only", "hamstring,piriformis")}


def _plan_ms(monkeypatch, cache: Path, *args: str) -> dict:
    monkeypatch.setenv("VOICEROUTINE_CACHE", str(cache))
    result = CliRunner().invoke(cli, ["plan", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _built(tmp_path_factory, engine: str) -> tuple[Path, Path, dict]:
    """A cold build into an empty cache, with the plan made just before it."""
    folder = tmp_path_factory.mktemp(f"truth-{engine}")
    cache = folder / "cache"
    args = ("--engine", engine, *ROUTINES[engine])
    with pytest.MonkeyPatch.context() as monkeypatch:
        before = _plan_ms(monkeypatch, cache, *args)
    routine = load_routine("bed-back")
    if ROUTINES[engine]:
        routine = apply_overrides(routine, parse_overrides(only=ROUTINES[engine][1]))
    out = folder / "bed-back.mp3"
    build(routine, resolve_settings(routine.settings, {"engine": engine}), out, cache=PhraseCache(cache))
    return cache, out, before


@pytest.fixture(scope="module")
def espeak_build(tmp_path_factory):
    return _built(tmp_path_factory, "pyttsx3")


@pytest.fixture(scope="module")
def piper_build(tmp_path_factory):
    return _built(tmp_path_factory, "piper")


@pytest.fixture(scope="module")
def hibari_build(tmp_path_factory):
    return _built(tmp_path_factory, "hibari")


def _check_plan(build_info, engine: str, monkeypatch) -> None:
    cache, out, before = build_info
    built_ms = read_manifest(out)["audio"]["duration_ms"]
    assert before["speech_lengths"]["measured"] == 0
    assert abs(before["duration_ms"] - built_ms) <= 0.02 * built_ms, (before["duration_ms"], built_ms)
    # Once cached, the plan reads only the entries' headers: reading a clip would fail here.
    monkeypatch.setattr(PhraseCache, "get", lambda self, key: pytest.fail("plan read a cached clip"))
    after = _plan_ms(monkeypatch, cache, "--engine", engine, *ROUTINES[engine])
    assert after["speech_lengths"]["estimated"] == 0
    assert abs(after["duration_ms"] - built_ms) <= 1000
    assert [e for e in after["events"] if e["kind"] == "hold"] == [e for e in read_manifest(out)["events"] if e["kind"] == "hold"]


def test_espeak_plan_is_within_2_percent_before_and_the_build_itself_after(espeak_build, monkeypatch):
    _check_plan(espeak_build, "pyttsx3", monkeypatch)


@needs_piper
def test_piper_plan_is_within_2_percent_before_and_the_build_itself_after(piper_build, monkeypatch):
    _check_plan(piper_build, "piper", monkeypatch)


@needs_hibari
def test_hibari_plan_is_within_2_percent_before_and_the_build_itself_after(hibari_build, monkeypatch):
    _check_plan(hibari_build, "hibari", monkeypatch)


def test_the_table_says_where_its_lengths_came_from(espeak_build, monkeypatch, tmp_path):
    cache, _, _ = espeak_build
    monkeypatch.setenv("VOICEROUTINE_CACHE", str(cache))
    cached = CliRunner().invoke(cli, ["plan"]).output.splitlines()[0]
    assert cached.endswith("(speech lengths from the phrase cache)") and ": about" not in cached
    monkeypatch.setenv("VOICEROUTINE_CACHE", str(tmp_path / "empty"))
    assert CliRunner().invoke(cli, ["plan"]).output.splitlines()[0].endswith("(speech lengths estimated)")


def _words(text: str) -> int:
    return len(re.findall(r"\w+", text))


def _words_a_minute(out: Path) -> float:
    """Words heard a minute over the phrases of six words or more, as the manifest times them."""
    long = [e for e in read_manifest(out)["events"] if e["kind"] == "speech" and _words(e["text"]) >= 6]
    return sum(_words(e["text"]) for e in long) / (sum(e["end_ms"] - e["start_ms"] for e in long) / 60_000)


@needs_piper
def test_a_rate_means_the_same_words_a_minute_for_both_engines(espeak_build, piper_build):
    espeak, piper = _words_a_minute(espeak_build[1]), _words_a_minute(piper_build[1])
    assert espeak == pytest.approx(piper, rel=0.10)
    for measured in (espeak, piper):
        assert measured == pytest.approx(130, rel=0.10)  # the calm pace


@needs_piper
@needs_hibari
def test_hibari_speaks_the_words_a_minute_the_others_do(espeak_build, piper_build, hibari_build):
    hibari = _words_a_minute(hibari_build[1])
    assert hibari == pytest.approx(_words_a_minute(espeak_build[1]), rel=0.10)
    assert hibari == pytest.approx(_words_a_minute(piper_build[1]), rel=0.10)
    assert hibari == pytest.approx(130, rel=0.10)


@needs_piper
@needs_hibari
@pytest.mark.parametrize("pace", ["calm", "normal", "brisk"])
def test_at_each_pace_every_engine_speaks_the_same_words_a_minute(pace, tmp_path):
    """Each engine's clips of two stretches' longer phrases, trimmed and timed as a build does, at the pace's rate."""
    routine = apply_overrides(load_routine("bed-back"), parse_overrides(only=ROUTINES["hibari"][1]))
    settings = resolve_settings(routine.settings, {"pace": pace})
    long = [text for text in plan(routine, settings).possible_phrases if _words(text) >= 6]
    measured = {}
    for name in ROUTINES:
        engine = get_engine(name)
        voiced = voice_phrases(engine, long, voice=engine.resolve_voice(None), rate=settings.rate, sample_rate=RATE, cache=PhraseCache(tmp_path / name))
        measured[name] = sum(map(_words, long)) / (sum(clip.duration_ms for clip in voiced.clips.values()) / 60_000)
    for name, words_a_minute in measured.items():
        assert words_a_minute == pytest.approx(measured["pyttsx3"], rel=0.10), measured
        assert words_a_minute == pytest.approx(measured["piper"], rel=0.10), measured
        assert words_a_minute == pytest.approx(settings.rate, rel=0.10), measured
