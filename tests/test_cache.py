"""The phrase cache: round trips, rejects damaged entries, never breaks a build."""

from __future__ import annotations

import logging

import pytest

from voiceroutine.cache import PhraseCache, clip_id, default_cache_dir, phrase_key
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


def test_peek_names_and_times_an_entry_from_its_header(cache):
    key = phrase_key("engine", "Release.")
    assert cache.peek(key) is None
    cache.put(key, CLIP)
    assert cache.peek(key) == clip_id(key, CLIP)
    assert cache.peek(key).frames == CLIP.frames and cache.peek(key).rate == CLIP.rate
    assert clip_id(phrase_key("engine", "Relax."), CLIP) != clip_id(key, CLIP)  # the same samples under another phrase
    path = next(cache.root.rglob("*.clip"))
    for damage in (lambda data: data[:-1], lambda data: b"RIFF" + data[4:], lambda data: data[:10]):
        cache.put(key, CLIP)
        path.write_bytes(damage(path.read_bytes()))
        assert cache.peek(key) is None


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
    # Rests long enough that over a second of silence follows "Next: ..." in each.
    rested = apply_overrides(short_routine, Overrides(rest_ms=5000))
    first = build(rested, Settings(format="wav"), tmp_path / "a.wav", engine=tone_engine, cache=cache)
    measured = []
    real_measure = loudness.measure_lufs
    monkeypatch.setattr(loudness, "measure_lufs", lambda *a, **k: measured.append(1) or real_measure(*a, **k))
    longer = apply_overrides(short_routine, Overrides(rest_ms=9000))  # longer silences: the same sounds
    build(longer, Settings(format="wav"), tmp_path / "b.wav", engine=tone_engine, cache=cache)
    assert measured == []
    assert max(map(abs, decode(tmp_path / "b.wav"))) == max(map(abs, decode(first.audio_path)))
    # Another target loudness is measured afresh.
    build(longer, Settings(format="wav", loudness_lufs=-20.0), tmp_path / "c.wav", engine=tone_engine, cache=cache)
    assert measured


class _WatchedCache(PhraseCache):
    """The real cache, noting which entries a build reads whole and which it only peeks at."""

    def __init__(self, root):
        super().__init__(root)
        self.read, self.peeked = set(), set()

    def get(self, key):
        self.read.add(key)
        return super().get(key)

    def peek(self, key, **options):
        self.peeked.add(key)
        return super().peek(key, **options)


def test_a_rebuild_plays_the_kept_leveled_clips_without_reading_what_was_spoken(tmp_path, tone_engine, short_routine):
    from voiceroutine import Settings, build
    from conftest import decode

    first = build(short_routine, Settings(format="wav"), tmp_path / "a.wav", engine=tone_engine)  # its own cache
    cache = _WatchedCache(tmp_path / "cache")
    build(short_routine, Settings(format="wav"), tmp_path / "b.wav", engine=tone_engine, cache=cache)  # fills it
    spoken = len(first.script.possible_phrases)
    cache.read.clear(), cache.peeked.clear()
    again = build(short_routine, Settings(format="wav"), tmp_path / "c.wav", engine=tone_engine, cache=cache)
    assert again.synthesised == 0
    assert len(cache.peeked) == spoken and not cache.peeked & cache.read
    assert len(cache.read) == spoken + 2  # every phrase and both chimes, leveled
    assert decode(tmp_path / "c.wav") == decode(first.audio_path)


def test_without_the_leveled_clips_a_rebuild_levels_the_spoken_ones_again_the_same(tmp_path, tone_engine, short_routine):
    from voiceroutine import Settings, build
    from conftest import decode

    cache = _WatchedCache(tmp_path / "cache")
    first = build(short_routine, Settings(format="wav"), tmp_path / "a.wav", engine=tone_engine, cache=cache)
    spoken = {cache._path(key) for key in cache.read}  # looked for before the engine spoke them
    leveled = [path for path in cache.root.rglob("*.clip") if path not in spoken]
    assert len(leveled) == len(first.script.possible_phrases) + 2
    for path in leveled:
        path.unlink()
    again = build(short_routine, Settings(format="wav"), tmp_path / "b.wav", engine=tone_engine, cache=cache)
    assert again.synthesised == 0
    assert decode(tmp_path / "b.wav") == decode(first.audio_path)
    assert all(path.exists() for path in leveled)  # kept again for the next rebuild
