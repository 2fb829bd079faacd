"""The routine's language, everywhere a player looks: the manifest, ID3 TLAN and lyrics frames,
the M4B audio track, the Opus comments, the transcripts' headers; and the voice that speaks it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceroutine import Settings, build
from voiceroutine.cache import PhraseCache
from voiceroutine.cli import cli
from voiceroutine.cover import make_cover
from voiceroutine.routine import parse_routine

from conftest import one_line_error, read_manifest
from test_engines import needs_piper

SPANISH = """
[routine]
title = "Rodillas al pecho"
language = "es"
[defaults]
hold = "3s"
get_ready = "1s"
switch = "1s"
[[stretch]]
id = "rodillas"
name = "Rodillas al pecho"
steps = ["Abraza las rodillas."]
"""


@pytest.fixture(scope="module")
def spanish():
    return parse_routine(SPANISH, source="rodillas.toml")


def _ffprobe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.integration
def test_a_spanish_routine_is_spoken_and_labelled_spanish_in_mp3(tmp_path, spanish, engine):
    out = tmp_path / "rodillas.mp3"
    build(spanish, Settings(), out, engine=engine)
    manifest = read_manifest(out)
    assert manifest["routine"]["language"] == "es"
    assert manifest["settings"]["voice"] == "roa/es"  # espeak's Spanish voice, with no --voice given
    spoken = [e["text"] for e in manifest["events"] if e["kind"] == "speech"]
    assert "Estiramiento uno de uno. Rodillas al pecho." in spoken and "Suelta." in spoken
    from mutagen.id3 import ID3

    tag = ID3(out)
    assert tag.getall("TLAN")[0].text == ["spa"]
    assert tag.getall("USLT")[0].lang == "spa" and tag.getall("SYLT")[0].lang == "spa"
    assert "[la:es]" in out.with_suffix(".lrc").read_text().splitlines()
    assert out.with_suffix(".vtt").read_text().startswith("WEBVTT\nKind: captions\nLanguage: es\n\n")
    # ffmpeg's own WebVTT reader takes the header and finds every cue.
    srt = subprocess.run(["ffmpeg", "-v", "error", "-i", str(out.with_suffix(".vtt")), "-f", "srt", "-"], capture_output=True, text=True, check=True).stdout
    assert [block.splitlines()[2] for block in srt.strip().split("\n\n")] == spoken


@pytest.mark.integration
@pytest.mark.parametrize(("fmt", "where"), [("m4b", "stream"), ("opus", "format")])
def test_m4b_and_opus_carry_the_language(tmp_path, spanish, engine, fmt, where):
    out = tmp_path / f"rodillas.{fmt}"
    build(spanish, Settings(format=fmt, sidecars=False), out, engine=engine)
    probed = _ffprobe(out)
    if where == "stream":  # the MP4 audio track's own language, as Apple's players read it
        assert probed["streams"][0]["tags"]["language"] == "spa"
    else:
        assert {k.lower(): v for k, v in probed["streams"][0]["tags"].items()}["language"] == "es"


@pytest.mark.integration
def test_plan_finds_each_languages_own_cached_lengths(tmp_path, spanish, short_routine, engine):
    """The default voice is another voice in each language: a Spanish build's clips never stand in
    for an English plan's, and the Spanish plan is the Spanish build's own timeline."""
    from voiceroutine.pipeline import cached_lengths, plan

    cache = PhraseCache(tmp_path / "cache")
    built = build(spanish, Settings(), tmp_path / "rodillas.mp3", engine=engine, cache=cache)
    known = cached_lengths(spanish, Settings(), cache)
    assert set(known) == set(built.script.possible_phrases)
    assert plan(spanish, Settings(), known).duration_ms == built.script.duration_ms
    assert cached_lengths(short_routine, Settings(), cache) == {}


def test_the_command_line_picks_a_translation_and_refuses_a_language_it_lacks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["plan", "--language", "de", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["routine"]["id"] == "bed-back-de"
    unknown = one_line_error(CliRunner().invoke(cli, ["plan", "--language", "tlh"]), 2)
    assert unknown.startswith("Error: --language: voiceroutine does not speak 'tlh' yet (languages: de, en, es, fr)")
    file = tmp_path / "mine.toml"
    file.write_text(SPANISH.replace('language = "es"', 'language = "klingon"'))
    bad = one_line_error(CliRunner().invoke(cli, ["plan", str(file)]), 2)
    assert bad.startswith(f"Error: {file}: routine.language: expected a language tag")


def test_list_and_init_know_the_translations(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    listed = CliRunner().invoke(cli, ["list"])
    assert "bed-back: Bed stretches for lower back pain (in en, de, es, fr: --language)" in listed.output
    made = CliRunner().invoke(cli, ["init", "bed-back", "mi-rutina.toml", "--language", "es"])
    assert made.exit_code == 0, made.output
    text = (tmp_path / "mi-rutina.toml").read_text()
    assert 'id = "bed-back-es"' not in text and 'language = "es"' in text and "Túmbate" in text
    assert json.loads(CliRunner().invoke(cli, ["plan", "--json", "mi-rutina.toml"]).output)["routine"]["id"] == "mi-rutina"


@needs_piper
def test_piper_without_a_voice_for_the_language_says_so_in_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["build", "--language", "fr", "--engine", "piper"])
    line = one_line_error(result, 2)
    assert line.startswith("Error: --voice: the bundled Piper voice speaks English only; for Français (fr) give a Piper voice file")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_each_language_has_its_own_espeak_voice_by_default(engine):
    assert [engine.resolve_voice(None, tag) for tag in ("en", "es", "de", "fr")] == ["gmw/en-us", "roa/es", "gmw/de", "roa/fr"]


def test_voices_for_a_language_are_listed():
    result = CliRunner().invoke(cli, ["voices", "--lang", "es"])
    assert result.exit_code == 0 and result.output.startswith("roa/es ")


def test_the_cover_draws_every_letter_of_a_title(tmp_path):
    """Accents, ß, ç and ñ are drawn as letters, not as the empty boxes of a font that lacks them."""
    from PIL import Image, ImageChops

    def drawn(title: str) -> Image.Image:
        path = tmp_path / "cover.png"
        path.write_bytes(make_cover(title, ""))
        return Image.open(path).convert("L")

    missing = drawn("\uffff\uffff")  # a character no font has: its box
    for letters in ("éé", "ßß", "çç", "ññ"):
        assert ImageChops.difference(drawn(letters), missing).getbbox() is not None, letters
        assert ImageChops.difference(drawn(letters), drawn(letters[0].upper() * 2)).getbbox() is not None, letters
