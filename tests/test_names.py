"""File names from titles: accents transliterated, other scripts romanised, never empty, always a valid routine id."""

from __future__ import annotations

import re

import pytest

from voiceroutine import Settings, build, load_routine
from voiceroutine.names import slug

from conftest import read_manifest

ROUTINE_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")  # what routine.py accepts as an id


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Étirement du côté", "etirement-du-cote"),
        ("Façade: ça va", "facade-ca-va"),
        ("Dehnübung für den Rücken", "dehnubung-fur-den-rucken"),
        ("Straße der Größe", "strasse-der-grosse"),
        ("Estiramiento del niño", "estiramiento-del-nino"),
        ("¿Mañana? ¡Sí!", "manana-si"),
        ("Утренняя растяжка", "utrenniaia-rastiazhka"),
        ("Πρωινές διατάσεις", "proines-diataseis"),
        ("my_routine", "my_routine"),
        ("  --Hip flexor--  ", "hip-flexor"),
    ],
)
def test_titles_keep_their_words_in_plain_ascii(title, name):
    assert slug(title) == name


def test_every_name_is_a_usable_routine_id_and_never_empty():
    titles = ["", "   ", "🧘", "🧘🧘", "朝のストレッチ", "استطالة الظهر", "ยืดเส้น", "x" * 200, "_under_", "../../etc"]
    names = [slug(title) for title in titles]
    assert all(ROUTINE_ID.fullmatch(name) for name in names), names
    assert slug("") == slug("   ") == "routine"
    # Titles with nothing to romanise still get names of their own.
    assert slug("🧘") != slug("🧘🧘") and slug("🧘").startswith("routine-")
    assert slug("朝のストレッチ") != slug("夜のストレッチ")
    assert len(slug("x" * 200)) == 48 and len(slug("word " * 30, max_length=20)) <= 20


def test_a_routine_files_name_gives_its_default_id(tmp_path):
    path = tmp_path / "Étirements du soir — côté gauche.toml"
    path.write_text('[routine]\ntitle = "Soir"\n\n[[stretch]]\nid = "a"\nname = "A"\nsteps = ["Lie down."]\n', encoding="utf-8")
    assert load_routine(path).id == "etirements-du-soir-cote-gauche"


@pytest.mark.integration
def test_split_tracks_are_named_from_accented_chapter_titles(tmp_path, engine):
    path = tmp_path / "côté.toml"
    path.write_text(
        """
[routine]
title = "Côté"

[defaults]
hold = "2s"
rest = "1s"
get_ready = "1s"
sides = "none"

[[stretch]]
id = "papillon"
name = "Papillon côté"
steps = ["Soles together."]

[[stretch]]
id = "nino"
name = "Niño ñ Straße"
steps = ["Hug your knees."]
""",
        encoding="utf-8",
    )
    routine = load_routine(path)
    out = tmp_path / "out" / f"{routine.id}.mp3"
    build(routine, Settings(split=True, sidecars=False), out, engine=engine)
    assert out.name == "cote.mp3"
    tracks = read_manifest(out)["files"]["tracks"]
    assert tracks["files"] == ["01-introduction.mp3", "02-papillon-cote.mp3", "03-nino-n-strasse.mp3"]
    assert sorted(p.name for p in (out.parent / tracks["folder"]).iterdir()) == sorted([*tracks["files"], "cote.m3u8"])
