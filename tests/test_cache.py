"""The phrase cache: round trips, rejects damaged entries, never breaks a build."""

from __future__ import annotations

import logging

import pytest

from voiceroutine.cache import PhraseCache, default_cache_dir, phrase_key
from voiceroutine.clips import Clip

CLIP = Clip(bytes(range(200)), 44_100)


@pytest.fixture
def cache(tmp_path) -> PhraseCache:
    return PhraseCache(tmp_path / "cache")


def test_round_trip(cache):
    key = phrase_key("engine", "Release.")
    assert cache.get(key) is None
    cache.put(key, CLIP)
    assert cache.get(key) == CLIP
    assert not list(cache.root.rglob("*.part"))


def test_key_depends_on_engine_settings_and_text():
    keys = {phrase_key("espeak rate=140", "Release."), phrase_key("espeak rate=150", "Release."), phrase_key("espeak rate=140", "Release!")}
    assert len(keys) == 3
    assert phrase_key("e", "t") == phrase_key("e", "t")


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-1],  # truncated
        lambda data: data[:-1] + bytes([data[-1] ^ 1]),  # one bit flipped
        lambda data: b"RIFF" + data[4:],  # foreign file
        lambda data: b"",  # empty
    ],
)
def test_damaged_entries_are_never_used_and_are_removed(cache, damage, caplog):
    key = phrase_key("engine", "Release.")
    cache.put(key, CLIP)
    path = next(cache.root.rglob("*.clip"))
    path.write_bytes(damage(path.read_bytes()))
    with caplog.at_level(logging.WARNING):
        assert cache.get(key) is None
    assert "damaged cache entry" in caplog.text
    assert not path.exists()


def test_an_unwritable_cache_only_costs_speed(tmp_path, caplog):
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("")
    cache = PhraseCache(blocker / "cache")
    with caplog.at_level(logging.WARNING):
        cache.put(phrase_key("e", "t"), CLIP)
    assert "cannot write to the phrase cache" in caplog.text
    assert cache.get(phrase_key("e", "t")) is None


def test_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("VOICEROUTINE_CACHE", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("VOICEROUTINE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "voiceroutine"


def test_a_rebuild_that_sounds_the_same_reuses_its_gain(tmp_path, monkeypatch, tone_engine, short_routine):
    """Loudness is measured once per distinct sound of a routine: new holds reuse the kept gain, same result."""
    from voiceroutine import Overrides, Settings, apply_overrides, build, loudness
    from conftest import decode

    cache = PhraseCache(tmp_path / "cache")
    first = build(short_routine, Settings(), tmp_path / "a.wav", engine=tone_engine, cache=cache)
    measured = []
    real_measure = loudness.measure_lufs
    monkeypatch.setattr(loudness, "measure_lufs", lambda *a, **k: measured.append(1) or real_measure(*a, **k))
    longer = apply_overrides(short_routine, Overrides(rest_ms=6000))  # longer silences: the same sounds
    build(longer, Settings(), tmp_path / "b.wav", engine=tone_engine, cache=cache)
    assert measured == []
    assert max(map(abs, decode(tmp_path / "b.wav"))) == max(map(abs, decode(first.audio_path)))
    # Another target loudness is measured afresh.
    build(longer, Settings(loudness_lufs=-20.0), tmp_path / "c.wav", engine=tone_engine, cache=cache)
    assert measured
