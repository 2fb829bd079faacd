"""The studio against hostile input: forms of any shape, voices that name files, cross-site posts, and names
that would land on someone else's files. Through the app's endpoints, with the fake builder."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings, strategies as st
from starlette.testclient import TestClient

from voiceroutine import load_routine
from voiceroutine.export import MANIFEST_FORMAT
from voiceroutine.share.app import make_app
from voiceroutine.share.studio import STUDIO_HEADER, Studio
from voiceroutine.share.studio_form import routine_from_form
from voiceroutine.share.studio_voices import listed_voices

from test_studio import TOKEN, FakeBuilder, files_in, form, open_share, stretch  # noqa: F401  (open_share: a fixture)

# Malformed JSON of any shape: 400 with a one-line reason, never 500.

DEEP = "[" * 3000 + "]" * 3000
HUGE = "9" * 400
MALFORMED = {
    "3000 deep": DEEP,
    "3000 deep in a stretch": json.dumps(form()).replace('"hold": 20', f'"hold": {DEEP}', 1),
    "400-digit hold": json.dumps(form()).replace('"hold": 20', f'"hold": {HUGE}', 1),
    "400-digit rest": json.dumps(form()).replace('"hold": 20', f'"hold": 20, "rest": -{HUGE}', 1),
    "1e400 hold": json.dumps(form()).replace('"hold": 20', '"hold": 1e400', 1),
    "NaN hold": json.dumps(form()).replace('"hold": 20', '"hold": NaN', 1),
    "base an object": json.dumps(form(base={"bed-back": 1})),
    "base a list": json.dumps(form(base=["bed-back"])),
    "title a list": json.dumps(form(title=["Morning"])),
    "title an object": json.dumps(form(title={"a": "b"})),
    "stretch id an object": json.dumps(form([{"id": {"hamstring": 1}}])),
    "stretch id a list": json.dumps(form([{"id": ["hamstring"]}])),
    "stretch a string": json.dumps(form(["hamstring"])),
    "stretches an object": json.dumps(form({"hamstring": 20})),
    "hold a list with null": json.dumps(form([stretch("hamstring", [1, None])])),
    "hold an object": json.dumps(form([stretch("hamstring", {"s": 20})])),
    "hold true": json.dumps(form([stretch("hamstring", True)])),
    "sides a list": json.dumps(form([stretch("hamstring", sides=["both"])])),
    "settings a list": json.dumps(form(settings=["minimal"])),
    "voice an object with null": json.dumps(form(settings={"voice": {"x": None}})),
    "guidance a number": json.dumps(form(settings={"guidance": 5})),
    "language a list": json.dumps(form(language=["es"])),
    "language an object": json.dumps(form(language={"es": True})),
    "language a number": json.dumps(form(language=34)),
    "language 500 deep": json.dumps(form()).replace('"language": "en"', '"language": ' + "[" * 500 + '"es"' + "]" * 500, 1),
    "language a long tag": json.dumps(form(language="es-" + "x" * 5000)),
    "a number": "42",
    "null": "null",
    "empty": "",
}


@pytest.mark.parametrize("raw", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_forms_are_400_with_one_line(open_share, raw):
    """Whatever the JSON's shape, plan and build answer 400 with a one-line reason, and nothing is built."""
    share = open_share()
    for reply in (share.build(raw), share.plan(raw)):
        assert reply.status_code == 400, reply.text[:300]
        error = reply.json()["error"]
        assert error and "\n" not in error and len(error) < 300, error
    assert share.builder.built == []


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


def mutated_forms():
    """Forms the page could send, with any field swapped for any JSON value."""
    good = form()
    paths = [("base",), ("language",), ("title",), ("stretches",), ("stretches", 0), ("stretches", 0, "id"), ("stretches", 0, "hold"),
             ("stretches", 0, "rest"), ("stretches", 0, "sides"), ("settings",), ("settings", "guidance"),
             ("settings", "engine"), ("settings", "voice"), ("settings", "pace"), ("settings", "music"), ("settings", "music_level")]

    def swap(path, value):
        data = json.loads(json.dumps(good))
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return data

    return st.builds(swap, st.sampled_from(paths), JSON_VALUES) | JSON_VALUES


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """One studio for every example: its builder holds each build, so nothing is built whatever is accepted."""
    folder = tmp_path_factory.mktemp("studio")
    builder = FakeBuilder(held=True)
    studio = Studio(folder, builder)
    yield TestClient(make_app(folder, TOKEN, studio=studio))
    builder.gate.set()
    studio.close(timeout_s=5)


@settings(max_examples=150, deadline=None)
@given(data=mutated_forms())
def test_any_json_gets_an_answer_never_a_crash(client, data):
    """Any JSON value, or a form with any field replaced by one, is planned or refused with a 400; never a 500.
    (The test client raises any exception the app lets out.)"""
    raw = json.dumps(data)
    plan = client.get(f"/{TOKEN}/studio/plan", params={"form": raw})
    build = client.post(f"/{TOKEN}/studio/build", content=raw, headers={"content-type": "application/json"})
    assert plan.status_code in (200, 400), plan.text[:300]
    assert build.status_code in (202, 400, 503), build.text[:300]
    for reply in (plan, build):
        if reply.status_code >= 400:
            assert "\n" not in reply.json()["error"]


# The voice names a voice, never a file on the server.


@pytest.mark.parametrize(
    "voice",
    ["/etc/passwd", "../outside.onnx", "/{tmp}/outside.onnx", "{folder}/../outside.onnx", "~/x.onnx", "gmw/en-us+f3", "nope"],
)
def test_a_voice_outside_the_engines_and_the_folder_is_refused(open_share, tmp_path, voice):
    """Only a voice the engine lists, or a voice file in the shared folder, may be named; anything else is 400."""
    (tmp_path / "outside.onnx").write_bytes(b"onnx")
    (tmp_path / "outside.onnx.json").write_text("{}")
    share = open_share()
    voice = voice.format(tmp=tmp_path, folder=share.folder)
    for engine in ("pyttsx3", "piper"):
        data = form(settings={"engine": engine, "voice": voice})
        for reply in (share.plan(data), share.build(data)):
            assert reply.status_code == 400, reply.text
            assert reply.json()["error"].startswith("settings.voice"), reply.json()
    assert share.builder.built == []


def test_a_listed_voice_is_taken(open_share):
    """A voice the engine lists goes into the routine as the engine names it."""
    share = open_share()
    voice = next(v for v in listed_voices()["pyttsx3"].voices.values() if v.speaks("en"))
    job = share.built(form(settings={"engine": "pyttsx3", "voice": voice.id}))
    assert job["state"] == "done", job
    assert load_routine(share.folder / f"{job['routine_id']}.toml").settings["voice"] == voice.id


def test_a_piper_voice_file_in_the_folder_is_offered_and_taken(open_share, tmp_path):
    """A Piper voice file (.onnx with its .onnx.json) in the shared folder is offered, and saved by its full path;
    one that is a symlink to a file outside is neither."""
    pytest.importorskip("piper", reason="the piper engine is in the neural extra")
    share = open_share()
    (share.folder / "calm.onnx").write_bytes(b"onnx")
    (share.folder / "calm.onnx.json").write_text("{}")
    (tmp_path / "far.onnx").write_bytes(b"onnx")
    (tmp_path / "far.onnx.json").write_text("{}")
    (share.folder / "far.onnx").symlink_to(tmp_path / "far.onnx")
    (share.folder / "far.onnx.json").symlink_to(tmp_path / "far.onnx.json")
    offered = [v["id"] for v in share.client.get(share.url("studio/options")).json()["engines"]["piper"]]
    assert "calm.onnx" in offered and "far.onnx" not in offered
    job = share.built(form(settings={"engine": "piper", "voice": "calm.onnx"}))
    assert job["state"] == "done", job
    assert load_routine(share.folder / f"{job['routine_id']}.toml").settings["voice"] == str((share.folder / "calm.onnx").resolve())
    refused = share.build(form(settings={"engine": "piper", "voice": "far.onnx"}))
    assert refused.status_code == 400 and refused.json()["error"].startswith("settings.voice")


def test_the_form_with_no_voices_refuses_every_voice(tmp_path):
    """Called without the studio's voices, the form takes the default voice only."""
    from voiceroutine.errors import RoutineError
    from voiceroutine.share.studio_form import find_bases

    bases = find_bases(tmp_path)
    assert routine_from_form(form(), bases)[1].settings.get("voice") is None
    with pytest.raises(RoutineError, match="settings.voice"):
        routine_from_form(form(settings={"voice": "gmw/en-us"}), bases)


# Another site cannot start a build.


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://evil.example"},
        {"origin": "null"},
        {"origin": "http://testserver.evil.example"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"sec-fetch-site": "cross-site", "origin": "http://testserver"},
    ],
    ids=["other origin", "hidden origin", "lookalike", "cross-site", "same-site", "cross-site, origin lies"],
)
def test_a_cross_site_post_cannot_start_a_build(open_share, headers):
    """A page of another site posting JSON (say, with a form trick or fetch no-cors) is refused with 403."""
    share = open_share()
    reply = share.client.post(share.url("studio/build"), content=json.dumps(form()), headers={"content-type": "application/json", **headers})
    assert reply.status_code == 403, reply.text
    assert "this page" in reply.json()["error"]
    assert share.builder.built == []
    assert files_in(share.folder) == {}


@pytest.mark.parametrize(
    "headers",
    [{}, {"origin": "http://testserver"}, {"sec-fetch-site": "same-origin", "origin": "http://testserver"}, {"sec-fetch-site": "none"}],
    ids=["no browser headers", "same origin", "same-origin fetch", "typed in"],
)
def test_the_page_itself_can_start_a_build(open_share, headers):
    share = open_share()
    reply = share.client.post(share.url("studio/build"), content=json.dumps(form()), headers={"content-type": "application/json", **headers})
    assert reply.status_code == 202, reply.text
    assert share.wait(reply.json()["id"])["state"] == "done"


# Names: every file a build writes is checked, and different titles never share one.


@pytest.mark.parametrize(
    "existing",
    ["morning.lrc", "morning.vtt", "morning.json", "morning.m4b", "morning.opus", "morning.wav", "morning-tracks/01.mp3", "morning.toml"],
)
def test_any_file_of_the_name_that_the_studio_did_not_make_is_kept(open_share, existing):
    """Not only the audio: a transcript, manifest, other format, tracks folder or routine file of the name moves
    the build to name-2, and the file is untouched."""
    share = open_share()
    path = share.folder / existing
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"the user's own file")
    job = share.built(form(title="Morning"))
    assert job["routine_id"] == "morning-2", job
    assert path.read_bytes() == b"the user's own file"
    assert share.builder.outputs == [share.folder / "morning-2.mp3"]


def test_a_dangling_symlink_of_the_name_is_kept(open_share):
    share = open_share()
    (share.folder / "morning.vtt").symlink_to(share.folder / "nowhere")
    assert share.built(form(title="Morning"))["routine_id"] == "morning-2"
    assert os.readlink(share.folder / "morning.vtt") == str(share.folder / "nowhere")


def test_titles_that_make_the_same_name_get_their_own_files(open_share):
    """"Morning", "morning!" and "MORNING" make the same name; each title keeps its own files, and building a
    title again remakes that title's files only."""
    share = open_share()
    ids = [share.built(form([stretch("hamstring", hold)], title=title))["routine_id"] for title, hold in
           [("Morning", 20), ("morning!", 21), ("MORNING", 22), ("morning!", 23)]]
    assert ids == ["morning", "morning-2", "morning-3", "morning-2"]
    assert [load_routine(share.folder / f"{name}.toml").title for name in ("morning", "morning-2", "morning-3")] == ["Morning", "morning!", "MORNING"]
    assert [load_routine(share.folder / f"{name}.toml").stretches[0].hold_ms for name in ("morning", "morning-2", "morning-3")] == [20_000, 23_000, 22_000]


def test_non_latin_titles_that_romanise_alike_do_not_share_files(open_share):
    """Two titles in other scripts never overwrite each other: romanised alike, the second takes -2;
    with nothing to romanise, each gets a name of its own."""
    share = open_share()
    first, second = share.built(form(title="Утро")), share.built(form(title="утро"))
    assert (first["routine_id"], second["routine_id"]) == ("utro", "utro-2")
    emoji = [share.built(form(title=title))["routine_id"] for title in ("🧘", "🧘🧘")]
    assert len(set(emoji)) == 2


def test_a_studio_build_changed_since_is_not_remade(open_share):
    """The studio's own earlier files are remade only while they are as it left them: a transcript edited since,
    or a rebuild from the command line after the routine file, makes the next build take name-2."""
    share = open_share()
    assert share.built(form(title="Mine"))["routine_id"] == "mine"
    lrc = share.folder / "mine.lrc"
    lrc.write_text("my own notes")
    future = (share.folder / "mine.json").stat().st_mtime + 60
    os.utime(lrc, (future, future))
    assert share.built(form(title="Mine"))["routine_id"] == "mine-2"
    assert lrc.read_text() == "my own notes"

    assert share.built(form(title="Other"))["routine_id"] == "other"
    manifest = share.folder / "other.json"
    later = (share.folder / "other.toml").stat().st_mtime + 60
    os.utime(manifest, (later, later))  # as if `voiceroutine build other.toml` ran after the studio
    assert share.built(form(title="Other"))["routine_id"] == "other-2"


def test_a_routine_file_without_the_studio_header_but_same_title_is_kept(open_share):
    """The header marks the studio's own routine files; a user's file of the same name and title is never remade."""
    share = open_share()
    assert share.built(form(title="Mine"))["routine_id"] == "mine"
    routine_file = share.folder / "mine.toml"
    text = routine_file.read_text().removeprefix(STUDIO_HEADER.format(name="mine"))
    routine_file.write_text(text)
    assert share.built(form(title="Mine"))["routine_id"] == "mine-2"
    assert routine_file.read_text() == text
    assert json.loads((share.folder / "mine.json").read_text())["format"] == MANIFEST_FORMAT
