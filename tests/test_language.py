"""Phrase files: every language says everything English says, with the same placeholders."""

from __future__ import annotations

import string
import tomllib
from importlib import resources

import pytest

from voiceroutine.language import available_languages


def _phrase_file(tag: str) -> dict:
    return tomllib.loads(resources.files("voiceroutine.languages").joinpath(f"{tag}.toml").read_text("utf-8"))


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def missing_from(english: object, other: object, path: str = "") -> list[str]:
    """What ``other`` lacks of ``english``: keys, placeholders, list lengths; each named by its path."""
    if isinstance(english, dict):
        if not isinstance(other, dict):
            return [f"{path}: expected a table"]
        return [
            problem
            for key, value in english.items()
            for problem in ([f"{path}.{key}: missing"] if key not in other else missing_from(value, other[key], f"{path}.{key}"))
        ]
    if isinstance(english, str):
        if not isinstance(other, str):
            return [f"{path}: expected text"]
        if _placeholders(english) != _placeholders(other):
            return [f"{path}: placeholders {sorted(_placeholders(other))}, expected {sorted(_placeholders(english))}"]
        return []
    if isinstance(english, list) and all(isinstance(item, str) for item in english):
        # Counting words and side names: one for each English one.
        if not isinstance(other, list) or len(other) != len(english):
            return [f"{path}: expected {len(english)} entries"]
    return []


def test_every_language_is_offered():
    assert {"en", "es", "de", "fr"} <= set(available_languages())


@pytest.mark.parametrize("tag", [tag for tag in available_languages() if tag != "en"])
def test_every_phrase_file_has_every_key_english_has_with_the_same_placeholders(tag):
    assert missing_from(_phrase_file("en"), _phrase_file(tag)) == []


def test_the_key_check_names_what_is_missing_or_changed():
    english = _phrase_file("en")
    broken = _phrase_file("es")
    del broken["say"]["halfway"]
    broken["say"]["stretch"] = "Estiramiento {numero} de {count}. {name}"
    broken["say"]["time_left"] = {"one": "Queda {duration}."}
    broken["numbers"]["words"] = broken["numbers"]["words"][:20]
    assert sorted(missing_from(english, broken)) == [
        ".numbers.words: expected 60 entries",
        ".say.halfway: missing",
        ".say.stretch: placeholders ['count', 'name', 'numero'], expected ['count', 'name', 'number']",
        ".say.time_left.other: missing",
    ]
