"""`voiceroutine share` and the routine's language: the catalog reads it, the feed's channel and each card on
the page say it, and a cover drawn for a WAV build speaks it. Manifests made by hand, served by the app itself."""

from __future__ import annotations

import json
import logging
import os
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from starlette.testclient import TestClient

from voiceroutine.cover import cover_subtitle, make_cover
from voiceroutine.export import MANIFEST_FORMAT
from voiceroutine.language import available_languages
from voiceroutine.share.app import make_app
from voiceroutine.share.catalog import SharedFile, SharedRoutine, read_catalog
from voiceroutine.share.feed import feed_language

TOKEN = "language-test-token"
UNSET = object()


def add_build(folder: Path, name: str, language: object = UNSET, built_at: int = 1_700_000_000, title: str = "") -> None:
    """A WAV build's manifest and a stand-in for its audio (WAV carries no cover, so the page draws one)."""
    about = {"id": name, "title": title or f"Routine {name}", "stretches": [{"name": "Estiramiento de mariposa"}, {"name": "Piriforme"}]}
    if language is not UNSET:
        about["language"] = language
    manifest = {
        "format": MANIFEST_FORMAT,
        "routine": about,
        "audio": {"file": f"{name}.wav", "duration_ms": 420_000},
        "chapters": [{"title": "Estiramiento de mariposa", "start_ms": 0, "end_ms": 420_000}],
        "files": {},
    }
    (folder / f"{name}.json").write_text(json.dumps(manifest))
    audio = folder / f"{name}.wav"
    audio.write_bytes(b"RIFF stand-in")
    os.utime(audio, (built_at, built_at))


def feed_channel_language(folder: Path) -> str:
    client = TestClient(make_app(folder, TOKEN))
    reply = client.get(f"/{TOKEN}/feed.xml")
    assert reply.status_code == 200
    return ET.fromstring(reply.content).findtext("channel/language")


# The catalog


def test_the_catalog_reads_each_routines_language_and_english_when_the_manifest_has_none(tmp_path):
    for tag in available_languages():
        add_build(tmp_path, f"in-{tag}", tag)
    add_build(tmp_path, "older", built_at=1_600_000_000)  # written before routines had a language
    languages = {r.id: r.language for r in read_catalog(tmp_path).routines}
    assert languages == {**{f"in-{tag}": tag for tag in available_languages()}, "older": "en"}


@pytest.mark.parametrize("language", ["xx", "ES", "es_ES", "", 5, None, ["es"], {"tag": "es"}])
def test_a_manifest_whose_language_is_not_one_voiceroutine_has_is_skipped_and_said(tmp_path, caplog, language):
    """A language of the wrong type, or a tag this version has no phrases for, makes the manifest bad: left out,
    with a warning naming the field; the other routines are still shared."""
    add_build(tmp_path, "good", "es")
    add_build(tmp_path, "bad", language)
    with caplog.at_level(logging.WARNING, logger="voiceroutine.share.catalog"):
        assert [r.id for r in read_catalog(tmp_path).routines] == ["good"]
    warnings = [r.getMessage() for r in caplog.records if "bad.json" in r.getMessage()]
    assert len(warnings) == 1 and "routine.language" in warnings[0], warnings


@pytest.mark.parametrize("language", ["es", "de", "en"])
def test_a_cover_drawn_for_a_wav_build_is_in_the_routines_language(tmp_path, language):
    """WAV has no cover of its own: the one drawn from the title says "2 estiramientos · 7 min" in Spanish."""
    add_build(tmp_path, "wav", language, title="Mañana")
    cover = TestClient(make_app(tmp_path, TOKEN)).get(f"/{TOKEN}/cover/wav.png")
    assert cover.status_code == 200 and cover.headers["content-type"] == "image/png"
    assert cover.content == make_cover("Mañana", cover_subtitle(2, 420_000, language))
    others = {tag for tag in available_languages() if cover_subtitle(2, 420_000, tag) != cover_subtitle(2, 420_000, language)}
    assert others and all(cover.content != make_cover("Mañana", cover_subtitle(2, 420_000, tag)) for tag in others)


# The feed: one language for the channel


def routines_in(*languages: str) -> list[SharedRoutine]:
    """Routines in these languages, newest first (as the catalog lists them)."""
    audio = SharedFile("a.mp3", "mp3", 1000, 0)
    return [SharedRoutine(f"r{n}", "R", 60_000, (), (), (audio,), "digest", language) for n, language in enumerate(languages)]


@pytest.mark.parametrize(
    "languages, expected",
    [
        ((), "en"),
        (("es",), "es"),
        (("es", "de", "de"), "de"),  # most routines
        (("de", "es", "es", "de"), "de"),  # a tie: the newest routine's
        (("fr", "en"), "fr"),
        (("en", "fr", "fr", "fr", "en"), "fr"),
    ],
)
def test_the_feed_language_is_the_one_most_routines_speak_ties_to_the_newest(languages, expected):
    assert feed_language(routines_in(*languages)) == expected


def test_the_served_feed_says_the_language_of_its_routines(tmp_path):
    """An empty folder's feed is English; then the language most routines speak, the newest's on a tie, as built."""
    assert feed_channel_language(tmp_path) == "en"
    add_build(tmp_path, "uno", "es", built_at=1_700_000_000)
    assert feed_channel_language(tmp_path) == "es"
    add_build(tmp_path, "eins", "de", built_at=1_700_000_100)
    assert feed_channel_language(tmp_path) == "de"  # one each: the newest
    os.utime(tmp_path / "uno.wav", (1_700_000_200, 1_700_000_200))
    (tmp_path / "uno.json").touch()  # the catalog is read again when a manifest changes
    assert feed_channel_language(tmp_path) == "es"
    add_build(tmp_path, "old", built_at=1_500_000_000)  # no language: English, and older than both
    add_build(tmp_path, "older", built_at=1_400_000_000)
    assert feed_channel_language(tmp_path) == "en"  # two English routines against one each


# The page


class Langs(HTMLParser):
    """The lang attribute of the document, of each routine's card, and of every element inside a card that has one."""

    def __init__(self) -> None:
        super().__init__()
        self.document = None
        self.cards: dict[str, str | None] = {}
        self.inside: dict[str, list[tuple[str, str]]] = {}  # card id -> (class, lang) of elements that set one
        self._card: str | None = None
        self._depth = 0

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        if tag == "html":
            self.document = attrs.get("lang")
        if tag == "section" and "routine" in (attrs.get("class") or "").split() and "studio" not in attrs["class"]:
            self._card, self._depth = attrs["id"], 0
            self.cards[self._card] = attrs.get("lang")
            self.inside[self._card] = []
        elif self._card is not None:
            if tag == "section":
                self._depth += 1
            if "lang" in attrs:
                self.inside[self._card].append((attrs.get("class") or tag, attrs["lang"]))

    def handle_endtag(self, tag) -> None:
        if tag == "section" and self._card is not None:
            if self._depth == 0:
                self._card = None
            else:
                self._depth -= 1


@pytest.mark.parametrize("studio", [False, True], ids=["page", "studio"])
def test_each_card_is_in_its_routines_language_and_the_page_in_english(tmp_path, studio):
    """<html lang="en"> for the page's own words; each card says its routine's language for its title, chapters
    and stretch names, and marks the page's words in it (length, downloads) as English again."""
    add_build(tmp_path, "espanol", "es", title="Estiramientos")
    add_build(tmp_path, "deutsch", "de")
    add_build(tmp_path, "older")
    from voiceroutine.share.studio import Studio

    runner = Studio(tmp_path, lambda *args: None) if studio else None
    try:
        page = TestClient(make_app(tmp_path, TOKEN, studio=runner)).get(f"/{TOKEN}/")
    finally:
        if runner:
            runner.close()
    assert page.status_code == 200
    langs = Langs()
    langs.feed(page.text)
    assert langs.document == "en"
    assert langs.cards == {"espanol": "es", "deutsch": "de", "older": "en"}
    assert langs.inside["espanol"] == langs.inside["deutsch"] == [("meta", "en"), ("downloads", "en")]
    assert langs.inside["older"] == []
