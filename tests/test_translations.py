"""bed-back's translations: the same routine as the English one, wholly in their own language."""

from __future__ import annotations

import re
import string
from dataclasses import replace
from importlib import resources

import pytest

from voiceroutine import load_routine, resolve_settings
from voiceroutine.language import load_language
from voiceroutine.pipeline import plan
from voiceroutine.routine import Routine, builtin_languages, parse_routine

TRANSLATIONS = ("es", "de", "fr")


@pytest.fixture(scope="module")
def english() -> Routine:
    return load_routine("bed-back")


def _timings(routine: Routine) -> list[tuple]:
    return [
        (s.id, s.hold_ms, s.sides, s.reps, s.rest_ms, s.switch_ms, s.get_ready_ms, len(s.steps), len(s.tips))
        for s in routine.stretches
    ]


def _english_words() -> set[str]:
    """The fixed words of every English phrase the tool says ("Stretch", "of", "Switch sides.",
    "left."...), from en.toml, so a phrase added there is looked for too."""
    english = load_language("en")
    fragments: set[str] = set()
    for template in english.say.values():
        for text in template.values() if isinstance(template, dict) else [template]:
            fragments |= {part.strip() for part, *_ in string.Formatter().parse(str(text)) if re.search(r"[A-Za-z]", part)}
    return fragments | set(english.side_names)


def _everything_said(routine: Routine) -> list[str]:
    """Every phrase a build of ``routine`` may say: with every cue, rounds, and "Begin." for want of chimes."""
    rounds = replace(routine, stretches=tuple(replace(s, reps=2) for s in routine.stretches))
    settings = resolve_settings(routine.settings, {"guidance": "full", "chimes": "none", "time_left_ms": (90_000, 30_000, 10_000)})
    script = plan(rounds, settings)
    return sorted({e.text for e in script.events if hasattr(e, "text")} | set(script.possible_phrases))


def test_bed_back_comes_in_spanish_german_and_french():
    assert set(TRANSLATIONS) <= set(builtin_languages("bed-back"))
    assert builtin_languages("bed-back")[0] == "en"


@pytest.mark.parametrize("tag", TRANSLATIONS)
def test_a_translation_declares_its_language_and_its_own_id(tag):
    text = resources.files("voiceroutine.routines").joinpath(f"bed-back.{tag}.toml").read_text("utf-8")
    routine = parse_routine(text, source=f"bed-back.{tag}.toml")  # no language given: the file's own
    assert routine.language == tag
    assert routine.id == f"bed-back-{tag}"  # builds to out/bed-back-<tag>.mp3, beside the English one


@pytest.mark.parametrize("tag", TRANSLATIONS)
def test_a_translation_has_the_english_stretches_timings_and_settings(english, tag):
    translated = load_routine("bed-back", language=tag)
    assert _timings(translated) == _timings(english)
    assert translated.settings == english.settings
    for theirs, ours in zip(translated.stretches, english.stretches):
        # Translated, not copied: no English text left in the words.
        assert theirs.name != ours.name and theirs.why != ours.why
        assert not set(theirs.steps) & set(ours.steps) and not set(theirs.tips) & set(ours.tips)
        assert ours.sides == "none" or theirs.side_names != ours.side_names
    assert (translated.title, translated.intro, translated.outro) != (english.title, english.intro, english.outro)


@pytest.mark.parametrize("tag", TRANSLATIONS)
def test_a_translation_says_nothing_in_english(tag):
    said = _everything_said(load_routine("bed-back", language=tag))
    english = _english_words()
    assert {"Stretch", "Halfway.", "left.", "Release.", "Switch sides.", "Next:", "Begin.", "Round"} <= english
    heard = [(word, text) for text in said for word in english if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text)]
    assert heard == []
    # ...and it does say the language's own words.
    language = load_language(tag)
    for key in ("release", "begin", "halfway", "breathe", "switch_sides"):
        assert any(language.phrase(key) in text for text in said), key
    assert language.time_left(10_000) in said and language.countdown(3) in said


def test_the_english_check_finds_english(english):
    said = _everything_said(english)
    found = {word for word in _english_words() for text in said if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text)}
    assert {"Stretch", "Halfway.", "Release.", "Switch sides.", "Next:", "Begin.", "Round", "left."} <= found
