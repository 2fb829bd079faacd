"""The studio's music: only audio files the user put in the shared folder itself, named by file name.

Through the app's endpoints with the fake builder, and one real build with pyttsx3 and a generated tone.
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import wave
from pathlib import Path

import pytest

from voiceroutine import load_routine, resolve_settings
from voiceroutine.share.studio import build_with_library
from voiceroutine.share.studio_form import find_bases, routine_from_form
from voiceroutine.share.studio_music import MUSIC_EXTENSIONS, music_files

from conftest import RATE, SHORT_ROUTINE, decode, read_manifest
from test_studio import files_in, form, open_share, stretch  # noqa: F401  (open_share: a fixture)


def write_tone(path: Path, seconds: float = 1.0, hz: float = 440.0) -> Path:
    """A short mono WAV tone: enough for the form, which never decodes the music."""
    frames = int(seconds * 8000)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"".join(int(8000 * math.sin(2 * math.pi * hz * n / 8000)).to_bytes(2, "little", signed=True) for n in range(frames)))
    return path


def with_music(name: object, level: object = -20, **changes) -> dict:
    data = form(**changes)
    data["settings"] = {**data["settings"], "music": name, "music_level": level}
    return data


def offered(share) -> list[str]:
    reply = share.client.get(share.url("studio/options"))
    assert reply.status_code == 200, reply.text
    return reply.json()["music"]


@pytest.fixture
def stocked(open_share, tmp_path):
    """A shared folder with music beside a built routine, and every kind of file that is not music to offer."""
    share = open_share()
    folder = share.folder
    assert share.built(form(title="Morning"))["state"] == "done"  # morning.mp3, .json, .lrc, .vtt, .toml
    for name in ("song.mp3", "Calm waves.flac", "LOUD.WAV", "rain.m4a", "birds.ogg", "hum.opus", "bell.oga", "drone.aac"):
        write_tone(folder / name)
    # An earlier build's audio in another format, beside its manifest (the formats share it).
    (folder / "morning.opus").write_bytes(b"earlier build")
    # A build from the command line, its manifest naming its files; and one whose manifest is not readable.
    (folder / "week.json").write_text(json.dumps({"format": "voiceroutine-manifest/1", "audio": {"file": "week-audio.mp3"},
                                                  "files": {"lrc": "week.lrc"}}))
    (folder / "week-audio.mp3").write_bytes(b"a build's audio")
    (folder / "broken.json").write_text("{not json")
    (folder / "broken.wav").write_bytes(b"a build's audio")
    # Not audio, hidden, or not at the top of the folder.
    (folder / "notes.txt").write_text("notes")
    (folder / "cover.png").write_bytes(b"png")
    (folder / "mp3").write_bytes(b"no extension")
    write_tone(folder / ".secret.mp3")
    write_tone(folder / "~home.mp3")
    write_tone(folder / "bell\x07.wav")
    (folder / "sub").mkdir()
    write_tone(folder / "sub" / "deep.mp3")
    (folder / "album.mp3").mkdir()  # a folder with an audio name
    # Symlinks: only one to music in the folder itself counts.
    write_tone(tmp_path / "outside.mp3")
    (folder / "out.mp3").symlink_to(tmp_path / "outside.mp3")
    (folder / "up.mp3").symlink_to(Path("..") / "outside.mp3")
    (folder / "into-sub.mp3").symlink_to(folder / "sub" / "deep.mp3")
    (folder / "to-hidden.mp3").symlink_to(folder / ".secret.mp3")
    (folder / "to-build.mp3").symlink_to(folder / "morning.mp3")
    (folder / "to-notes.mp3").symlink_to(folder / "notes.txt")
    (folder / "dangling.mp3").symlink_to(folder / "nowhere.mp3")
    (folder / "alias.ogg").symlink_to("song.mp3")
    return share


OFFERED = ["Calm waves.flac", "LOUD.WAV", "alias.ogg", "bell.oga", "birds.ogg", "drone.aac", "hum.opus", "rain.m4a", "song.mp3"]


def test_the_options_list_music_in_the_folder_and_nothing_else(stocked):
    """Offered: top-level audio files (and a link to one). Not: a routine's files (its audio in any format, named
    by its manifest or beside it), hidden files, subfolders, links out of the folder, non-audio."""
    assert offered(stocked) == OFFERED
    assert {name.rsplit(".", 1)[-1].lower() for name in OFFERED} == set(MUSIC_EXTENSIONS)
    assert music_files(stocked.folder).names == tuple(OFFERED)


def test_options_say_the_levels_and_the_default(open_share):
    """The level is chosen from -30 to -12 LU, and the form starts at the library's default, with no music."""
    share = open_share()
    options = share.client.get(share.url("studio/options")).json()
    assert options["music"] == []
    assert options["music_levels"][0] == -30 and options["music_levels"][-1] == -12
    assert options["defaults"]["music_level"] == -20 and -20 in options["music_levels"]
    assert all(base["settings"]["music"] is None for base in options["bases"])


@pytest.mark.parametrize(
    "music",
    [
        "../outside.mp3", "{tmp}/outside.mp3", "{folder}/song.mp3", "./song.mp3", "sub/deep.mp3", "song.mp3/", "~/song.mp3",
        ".secret.mp3", "morning.mp3", "morning.opus", "week-audio.mp3", "broken.wav", "out.mp3", "up.mp3", "into-sub.mp3",
        "to-build.mp3", "notes.txt", "album.mp3", "missing.mp3", "SONG.MP3", 5, True, ["song.mp3"], {"file": "song.mp3"},
    ],
)
def test_music_not_offered_is_refused_naming_the_field(stocked, tmp_path, music):
    """A path, a hidden file, a routine's own audio or any name not in the list: a one-line 400 on settings.music,
    for the plan and the build alike, and nothing is built."""
    if isinstance(music, str):
        music = music.format(tmp=tmp_path, folder=stocked.folder)
    before = files_in(stocked.folder)
    for reply in (stocked.plan(with_music(music)), stocked.build(with_music(music))):
        assert reply.status_code == 400, reply.text
        error = reply.json()["error"]
        assert error.startswith("settings.music:") and "\n" not in error, error
    assert stocked.builder.built == ["morning"]
    assert files_in(stocked.folder) == before


@pytest.mark.parametrize("level", [-31, -11, -11.99, -30.01, "-40", "loud", True, [-20], {"lu": -20}, float("nan"), 10**400])
def test_a_level_out_of_range_is_refused_naming_the_field(stocked, level):
    """With music or without, a level that is not a number from -30 to -12 is a one-line 400 on settings.music_level."""
    for music in ("song.mp3", ""):
        raw = json.dumps(with_music(music, level))
        for reply in (stocked.plan(raw), stocked.build(raw)):
            assert reply.status_code == 400, reply.text
            error = reply.json()["error"]
            assert error.startswith("settings.music_level:") and "\n" not in error and len(error) < 200, error
    assert stocked.builder.built == ["morning"]


@pytest.mark.parametrize("level", [-30, -24, "-18", -12, -20.5])
def test_the_saved_routine_file_names_the_music_beside_it(stocked, level):
    """The routine file says music = "<name>" with its level, and loads (as the build got it) with the music's
    absolute path in the shared folder; the plan takes the music and its total is the same as without."""
    share = stocked
    with_tone = share.plan(with_music("Calm waves.flac", level, title="With music"))
    without = share.plan(form(title="With music"))
    assert with_tone.status_code == 200, with_tone.text
    assert with_tone.json()["duration_ms"] == without.json()["duration_ms"]

    job = share.built(with_music("Calm waves.flac", level, title="With music"))
    assert job["state"] == "done", job
    saved = share.folder / f"{job['routine_id']}.toml"
    text = saved.read_text()
    assert 'music = "Calm waves.flac"' in text and f"music_level = {float(level)}" in text, text
    loaded = load_routine(saved)
    assert loaded.settings["music"] == str(share.folder / "Calm waves.flac")
    assert loaded.settings["music_level_lu"] == float(level)
    built = share.builder.routines[-1]
    assert Path(built.settings["music"]).resolve() == (share.folder / "Calm waves.flac").resolve()
    assert dict(built.settings) == dict(loaded.settings)
    assert resolve_settings(loaded.settings).music_level_lu == float(level)


def test_no_music_is_the_default_and_leaves_none_in_the_file(stocked):
    """A form without music, or with music "" (none), saves a routine file with no music and no level."""
    for settings in ({}, {"music": "", "music_level": -24}, {"music": None}):
        data = form(title="Quiet")
        data["settings"] = {**data["settings"], **settings}
        job = stocked.built(data)
        assert job["state"] == "done", job
        text = (stocked.folder / f"{job['routine_id']}.toml").read_text()
        assert "music" not in text, text
        assert "music" not in load_routine(stocked.folder / f"{job['routine_id']}.toml").settings


def test_a_base_files_music_is_shown_by_name_and_never_used_unless_chosen(open_share, tmp_path):
    """A routine file in the folder with music beside it starts the form with that music chosen; one naming
    music elsewhere on the computer shows none. Either way the music built is the form's choice alone."""
    share = open_share()
    write_tone(share.folder / "song.mp3")
    write_tone(tmp_path / "far.mp3")
    with_song = SHORT_ROUTINE.replace("[defaults]", '[settings]\nmusic = "song.mp3"\nmusic_level = -26\n\n[defaults]')
    far = SHORT_ROUTINE.replace("[defaults]", f'[settings]\nmusic = "{tmp_path / "far.mp3"}"\n\n[defaults]')
    (share.folder / "with-song.toml").write_text(with_song)
    (share.folder / "far.toml").write_text(far)
    bases = {b["key"]: b for b in share.client.get(share.url("studio/options")).json()["bases"]}
    assert (bases["with-song.toml"]["settings"]["music"], bases["with-song.toml"]["settings"]["music_level"]) == ("song.mp3", -26)
    assert bases["far.toml"]["settings"]["music"] is None
    assert str(tmp_path) not in json.dumps(bases)

    rows = [stretch("knee-hug", 3)]
    for base in ("with-song.toml", "far.toml"):
        data = form(rows, base=base, title=f"From {base}")
        data["settings"] = {**data["settings"], "music": ""}
        job = share.built(data)
        assert job["state"] == "done", job
        assert "music" not in share.builder.routines[-1].settings
        assert "music" not in (share.folder / f"{job['routine_id']}.toml").read_text()
    job = share.built(with_music("song.mp3", -22, stretches=rows, base="far.toml", title="Chosen"))
    assert job["state"] == "done", job
    assert load_routine(share.folder / "chosen.toml").settings["music"] == str(share.folder / "song.mp3")


def test_the_form_without_the_folders_music_refuses_any(tmp_path):
    """Called without the studio's music list, the form takes no music at all."""
    from voiceroutine.errors import RoutineError

    write_tone(tmp_path / "song.mp3")
    bases = find_bases(tmp_path)
    with pytest.raises(RoutineError, match="settings.music"):
        routine_from_form(with_music("song.mp3"), bases)
    assert routine_from_form(with_music("song.mp3"), bases, music=music_files(tmp_path))[1].settings["music"] == str(tmp_path / "song.mp3")


# End to end


def tone_level_db(samples, start_ms: int, end_ms: int, hz: float) -> float:
    """The level of one frequency in a stretch of 16-bit samples, in dB below full scale (Goertzel)."""
    piece = samples[start_ms * RATE // 1000 : end_ms * RATE // 1000]
    coefficient = 2 * math.cos(2 * math.pi * hz / RATE)
    s1 = s2 = 0.0
    for sample in piece:
        s1, s2 = sample + coefficient * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coefficient * s1 * s2
    amplitude = 2 * math.sqrt(max(power, 0.0)) / len(piece)
    return 20 * math.log10(max(amplitude, 1e-9) / 32768)


@pytest.mark.integration
def test_studio_builds_with_music_from_the_folder(open_share):
    """A real build with pyttsx3 and a generated tone chosen in the form: the manifest records the music, the tone
    sounds in the holds, the saved routine file rebuilds with it, and the tone is still offered afterwards."""
    share = open_share(build_with_library)
    tone = share.folder / "tone.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=12000:duration=5", "-ac", "1", str(tone)], check=True)
    data = with_music("tone.wav", -24, stretches=[stretch("hamstring", 4)], title="Tone under")
    reply = share.build(data)
    assert reply.status_code == 202, reply.text
    job = share.wait(reply.json()["id"], timeout_s=120)
    assert job["state"] == "done", job

    audio = share.folder / f"{job['routine_id']}.mp3"
    manifest = read_manifest(audio)
    assert manifest["music"]["file"] == "tone.wav"
    assert manifest["music"]["sha256"] == hashlib.sha256(tone.read_bytes()).hexdigest()
    assert manifest["music"]["level_lu"] == -24.0
    samples = decode(audio)
    hold = next(e for e in manifest["events"] if e["kind"] == "hold")
    # Inside the hold, away from its chimes, the tone is there; nothing else in the routine is at 12 kHz.
    middle = (hold["start_ms"] + hold["end_ms"]) // 2
    assert tone_level_db(samples, middle - 300, middle + 300, 12_000) > -70
    assert tone_level_db(samples, middle - 300, middle + 300, 11_000) < tone_level_db(samples, middle - 300, middle + 300, 12_000) - 20

    loaded = load_routine(share.folder / f"{job['routine_id']}.toml")
    assert loaded.settings["music"] == str(share.folder / "tone.wav")
    assert "tone.wav" in offered(share)
    assert not any(name.startswith(job["routine_id"]) for name in offered(share))
