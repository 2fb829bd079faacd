"""The studio's language choice: a built-in's translation or a routine file declared in the language, a voice
that speaks it, and the saved routine file, manifest, page and feed that say it.

The units go through the app's endpoints with a fake builder; one integration test builds bed-back in Spanish
with pyttsx3 and espeak-ng.
"""

from __future__ import annotations

import json
import re
import tomllib
from xml.etree import ElementTree as ET

import pytest

from voiceroutine import load_routine
from voiceroutine.engines import get_engine
from voiceroutine.language import available_languages, load_language
from voiceroutine.routine import builtin_languages
from voiceroutine.share import studio_form
from voiceroutine.share.studio import build_with_library
from voiceroutine.share.studio_voices import listed_voices

from conftest import RATE, SHORT_ROUTINE, decode, read_manifest
from test_studio import form, open_share, stretch  # noqa: F401  (open_share: a fixture)

BED_BACK_IDS = ["hamstring", "piriformis", "hip-flexor", "butterfly", "prone-quad"]


def saved_file(share, job: dict) -> dict:
    return tomllib.loads((share.folder / f"{job['routine_id']}.toml").read_text(encoding="utf-8"))


def refused(share, data: dict, field: str) -> str:
    """The one-line reason plan and build both give for ``data``, which must start with ``field``; nothing is built."""
    reasons = []
    for reply in (share.plan(data), share.build(data)):
        assert reply.status_code == 400, reply.text
        reasons.append(reply.json()["error"])
    assert reasons[0] == reasons[1] and reasons[0].startswith(f"{field}: ") and "\n" not in reasons[0], reasons
    assert share.builder.built == []
    return reasons[0]


def english_voice() -> str:
    return next(v.id for v in listed_voices()["pyttsx3"].voices.values() if v.languages == ("en",))


# What the form offers


def test_options_offer_every_language_and_bed_backs_translations(open_share):
    """Each language by tag and name from its phrase file; bed-back in the languages it comes in, with each
    translation's title and stretch names under the same ids; a routine file in the folder in any language."""
    share = open_share()
    (share.folder / "mine.toml").write_text(SHORT_ROUTINE)
    options = share.client.get(share.url("studio/options")).json()
    assert options["languages"] == [{"tag": tag, "name": load_language(tag).name} for tag in available_languages()]

    bases = {b["key"]: b for b in options["bases"]}
    bed_back = bases["bed-back"]
    assert bed_back["language"] == "en" and bed_back["languages"] == builtin_languages("bed-back")
    assert set(bed_back["languages"]) >= {"en", "es", "de", "fr"}
    for tag in bed_back["languages"]:
        translated = load_routine("bed-back", tag)
        assert bed_back["translations"][tag] == {"title": translated.title, "names": {s.id: s.name for s in translated.stretches}}
        assert list(bed_back["translations"][tag]["names"]) == BED_BACK_IDS
    assert bed_back["translations"]["es"]["title"] != bed_back["title"]

    mine = bases["mine.toml"]
    assert mine["language"] == "en" and mine["languages"] == available_languages()


def test_each_voice_says_its_languages_and_each_engine_its_voice_for_each_language(open_share):
    """The page filters voices by language and names the default one; espeak has one for every language."""
    share = open_share()
    options = share.client.get(share.url("studio/options")).json()
    voices = {v["id"]: v for v in options["engines"]["pyttsx3"]}
    spanish = [v for v in voices.values() if v["languages"] == ["es"]]
    assert spanish and all("Spanish" in v["name"] for v in spanish)
    engine = get_engine("pyttsx3")
    for tag in available_languages():
        assert options["default_voices"]["pyttsx3"][tag] == voices[engine.resolve_voice(None, tag)]["name"]


# Building in a language


def test_a_built_in_in_spanish_is_its_translation_and_the_saved_file_says_es(open_share):
    """bed-back in Spanish: the Spanish text, title and stretch names under the same ids, with the form's holds,
    saved as a routine file that declares language = "es" and loads back as the routine that was built."""
    share = open_share()
    data = form([stretch("piriformis", 12), stretch("hamstring", 9)], title="", language="es")
    planned = share.plan(data)
    assert planned.status_code == 200, planned.text
    job = share.built(data)
    assert job["state"] == "done", job

    spanish = load_routine("bed-back", "es")
    built = share.builder.routines[0]
    assert built.language == "es" and built.title == spanish.title
    names = {s.id: s.name for s in spanish.stretches}
    assert [(s.id, s.name, s.hold_ms) for s in built.stretches] == [
        ("piriformis", names["piriformis"], 12_000),
        ("hamstring", names["hamstring"], 9_000),
    ]
    assert built.intro == spanish.intro and built.stretches[0].steps == spanish.stretches[1].steps
    assert saved_file(share, job)["routine"]["language"] == "es"
    loaded = load_routine(share.folder / f"{job['routine_id']}.toml")
    assert (loaded.language, loaded.stretches) == ("es", built.stretches)


def test_a_routine_file_keeps_its_words_and_takes_the_forms_language(open_share):
    """A routine file in the folder has no translations: its own text, declared in the chosen language, so the
    tool's own words and the sides it does not name are in German."""
    share = open_share()
    (share.folder / "mine.toml").write_text(SHORT_ROUTINE)
    job = share.built(form([stretch("knee-hug", 4), stretch("butterfly", 5)], base="mine.toml", title="Kurz", language="de"))
    assert job["state"] == "done", job
    built = share.builder.routines[0]
    assert built.language == "de"
    assert [s.name for s in built.stretches] == ["Knee hug", "Butterfly"]
    assert built.stretches[0].side_names == ("left knee", "right knee")  # named in the file
    assert built.stretches[1].side_names == load_language("de").side_names  # not named: the language's
    assert saved_file(share, job)["routine"]["language"] == "de"


def test_without_a_language_the_form_keeps_the_bases_own(open_share):
    share = open_share()
    job = share.built({k: v for k, v in form(title="Own").items() if k != "language"})
    assert job["state"] == "done", job
    assert share.builder.routines[0].language == "en"
    assert saved_file(share, job)["routine"]["language"] == "en"


@pytest.mark.parametrize(
    "language, reason",
    [
        ("it", "voiceroutine does not speak 'it' yet"),
        ("klingon", "expected a language tag"),
        (["es"], "expected a language tag"),
        (34, "expected a language tag"),
        ("es-" + "x" * 40, "expected a language tag"),
    ],
)
def test_a_language_voiceroutine_does_not_speak_is_refused(open_share, language, reason):
    share = open_share()
    assert reason in refused(share, form(language=language), "language")


def test_a_language_the_built_in_does_not_come_in_is_refused(open_share, monkeypatch):
    """A built-in without a translation into the language is refused, naming the field and what it comes in."""
    monkeypatch.setattr(studio_form, "builtin_languages", lambda routine_id: ["en", "es"])
    studio_form._builtin_base.cache_clear()  # built-ins are read once; read them again with the patch, and after it
    try:
        share = open_share()
        assert refused(share, form(language="de"), "language") == "language: bed-back comes in en, es, not de"
        assert share.plan(form(language="es")).status_code == 200
    finally:
        monkeypatch.undo()
        studio_form._builtin_base.cache_clear()


# The voice must speak the language


def test_a_voice_that_does_not_speak_the_language_is_refused(open_share):
    share = open_share()
    voice = english_voice()
    reason = refused(share, form(language="es", settings={"engine": "pyttsx3", "voice": voice}), "settings.voice")
    assert "does not speak Español (es)" in reason
    assert share.plan(form(language="en", settings={"engine": "pyttsx3", "voice": voice})).status_code == 200


def test_the_default_voice_follows_the_language(open_share):
    """An empty voice is the engine's own for the language, even over a voice the base file names."""
    share = open_share()
    base = SHORT_ROUTINE.replace("[defaults]", f'[settings]\nvoice = "{english_voice()}"\n\n[defaults]')
    (share.folder / "voiced.toml").write_text(base)
    for language in ("es", "fr"):
        job = share.built(form([stretch("knee-hug", 4)], base="voiced.toml", title=f"Voz {language}", language=language))
        assert job["state"] == "done", job
        assert "voice" not in saved_file(share, job).get("settings", {})
    assert [r.settings.get("voice") for r in share.builder.routines] == [None, None]
    # Sent without a voice at all, the base's own is kept, and it does not speak Spanish.
    data = form([stretch("knee-hug", 4)], base="voiced.toml", language="es", settings={"engine": "pyttsx3"})
    assert "does not speak Español (es)" in share.plan(data).json()["error"]


@pytest.fixture
def piper():
    pytest.importorskip("piper", reason="the piper engine is in the neural extra")


def test_piper_s_bundled_voice_is_refused_for_another_language_with_the_engines_reason(open_share, piper):
    share = open_share()
    for voice in ("", "joe"):
        reason = refused(share, form(language="es", settings={"engine": "piper", "voice": voice}), "settings.voice")
        assert "English only" in reason or "does not speak Español (es)" in reason, reason
    assert share.plan(form(language="en", settings={"engine": "piper", "voice": ""})).status_code == 200


def test_a_piper_voice_file_is_taken_for_the_language_it_speaks_only(open_share, piper):
    """A voice file's language is in its .onnx.json, which the engine reads: es_ES speaks Spanish, not German."""
    share = open_share()
    (share.folder / "lucia.onnx").write_bytes(b"onnx")
    (share.folder / "lucia.onnx.json").write_text(json.dumps({"language": {"code": "es_ES"}}))
    reason = refused(share, form(language="de", settings={"engine": "piper", "voice": "lucia.onnx"}), "settings.voice")
    assert "lucia.onnx speaks es_ES" in reason
    job = share.built(form(language="es", settings={"engine": "piper", "voice": "lucia.onnx"}))
    assert job["state"] == "done", job
    assert share.builder.routines[0].settings["voice"] == str((share.folder / "lucia.onnx").resolve())


# End to end


@pytest.mark.integration
def test_studio_builds_bed_back_in_spanish_with_pyttsx3(open_share):
    """A real build in Spanish: espeak's Spanish voice speaks the translation and the tool's Spanish words; the
    routine file, the manifest, the page's card and the feed all say es."""
    share = open_share(build_with_library)
    data = form([stretch("hamstring", 3), stretch("butterfly", 4)], title="Mañana corta", language="es")
    reply = share.build(data)
    assert reply.status_code == 202, reply.text
    job = share.wait(reply.json()["id"], timeout_s=180)
    assert job["state"] == "done", job
    name = job["routine_id"]
    assert name == "manana-corta"

    assert saved_file(share, job)["routine"]["language"] == "es"
    audio = share.folder / f"{name}.mp3"
    manifest = read_manifest(audio)
    assert manifest["routine"]["language"] == "es"
    assert manifest["settings"]["voice"] == get_engine("pyttsx3").resolve_voice(None, "es")
    said = [e["text"] for e in manifest["events"] if e["kind"] == "speech"]
    spanish = load_routine("bed-back", "es")
    assert spanish.stretches[0].steps[0] in said and load_language("es").phrase("release") in said
    assert abs(len(decode(audio)) * 1000 / RATE - manifest["audio"]["duration_ms"]) <= 50

    page = share.client.get(share.url("")).text
    assert re.search(rf'<section class="routine" id="{name}" lang="es">', page)
    assert "Mañana corta" in page
    feed = share.client.get(share.url("feed.xml"))
    assert ET.fromstring(feed.content).findtext("channel/language") == "es"
    assert sorted(p.name for p in share.folder.iterdir()) == sorted(f"{name}.{ext}" for ext in ("json", "lrc", "mp3", "toml", "vtt"))
