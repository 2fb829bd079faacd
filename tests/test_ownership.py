"""A build owns its files: after a build of out/x.*, nothing in out/ presents an earlier build as this one,
`share` and `export` offer only what the current manifest names, and nothing the tool did not write is removed."""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from voiceroutine import Settings, build
from voiceroutine.cli import cli
from voiceroutine.share.catalog import read_catalog

from conftest import RunningShare, one_line_error, read_manifest

pytestmark = pytest.mark.integration


def files_in(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def run(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as e:
        return e.code, b""


def offered_files(page: str) -> set[str]:
    """Every file the share page links to or plays."""
    return {urllib.request.unquote(m) for m in re.findall(r'(?:href|src)="(?:[^"]*/)?files/([^"]+)"', page)}


def test_a_smaller_build_under_the_same_name_leaves_nothing_of_the_earlier_one(tmp_path):
    """5 stretches as M4B with tracks, then 1 stretch as MP3 without transcripts, to the same name."""
    out = tmp_path / "out"
    run("build", "--hold", "2s", "--rest", "1s", "--format", "m4b", "--split", "-o", str(out / "bed-back.m4b"))
    earlier = read_manifest(out / "bed-back.m4b")
    assert len(earlier["routine"]["stretches"]) == 5 and earlier["files"]["tracks"]["files"]
    # The user's own files beside it, and in its tracks folder.
    mine = {"bed-back-notes.txt": "my notes", "bed-back.flac": "not ours", "bed-back-tracks/folder.jpg": "a picture"}
    for name, text in mine.items():
        (out / name).write_text(text)

    run("build", "--hold", "2s", "--only", "hamstring", "--no-sidecars", "-o", str(out / "bed-back.mp3"))

    manifest = read_manifest(out / "bed-back.mp3")
    assert [s["id"] for s in manifest["routine"]["stretches"]] == ["hamstring"]
    assert manifest["files"] == {}
    assert files_in(out) == {"bed-back.mp3", "bed-back.json", *mine}
    assert all((out / name).read_text() == text for name, text in mine.items())

    catalog = read_catalog(out)
    (routine,) = catalog.routines
    assert [f.path for f in routine.files] == ["bed-back.mp3"]
    with RunningShare(out) as share:
        status, page = fetch(share.url)
        assert status == 200
        assert offered_files(page.decode()) == {"bed-back.mp3"}
        status, feed = fetch(share.url + "feed.xml")
        assert [e.get("url").rsplit("/", 1)[-1] for e in ET.fromstring(feed).iter("enclosure")] == ["bed-back.mp3"]
        for stale in ("bed-back.m4b", "bed-back.lrc", "bed-back-tracks/folder.jpg", "bed-back.flac"):
            assert fetch(share.url + "files/" + stale)[0] == 404, stale

    phone = tmp_path / "phone"
    run("export", str(out / "bed-back.mp3"), "--to", str(phone))
    assert files_in(phone) == {"bed-back.mp3"}


def test_a_file_changed_since_the_earlier_build_is_kept_but_never_offered(tmp_path):
    """A transcript or audio the user changed after the build is theirs: kept, yet neither shared nor exported."""
    out = tmp_path / "out"
    run("build", "--hold", "2s", "--only", "hamstring,butterfly", "--format", "opus", "-o", str(out / "x.opus"))
    later = (out / "x.json").stat().st_mtime + 60
    (out / "x.vtt").write_text("WEBVTT\n\nmy own notes\n")
    for name in ("x.vtt", "x.opus"):
        os.utime(out / name, (later, later))

    run("build", "--hold", "2s", "--only", "hamstring", "--no-sidecars", "-o", str(out / "x.mp3"))

    assert files_in(out) == {"x.mp3", "x.json", "x.opus", "x.vtt"}
    assert (out / "x.vtt").read_text() == "WEBVTT\n\nmy own notes\n"
    assert [f.path for f in read_catalog(out).routines[0].files] == ["x.mp3"]
    refused = CliRunner().invoke(cli, ["export", str(out / "x.opus"), "--to", str(tmp_path / "phone")])
    assert "earlier build" in one_line_error(refused, 2) and "describes x.mp3" in refused.output
    assert not (tmp_path / "phone").exists()


def test_a_rebuild_with_tracks_keeps_what_the_user_put_in_their_folder(tmp_path, short_routine, engine):
    out = tmp_path / "short.mp3"
    build(short_routine, Settings(split=True, sidecars=False), out, engine=engine)
    tracks = out.with_name("short-tracks")
    (tracks / "folder.jpg").write_text("a picture")
    (tracks / "mine").mkdir()
    (tracks / "mine" / "song.mp3").write_text("a song")
    before = set(read_manifest(out)["files"]["tracks"]["files"])

    build(short_routine, Settings(format="opus", split=True, sidecars=False), out.with_suffix(".opus"), engine=engine)

    manifest = read_manifest(out.with_suffix(".opus"))
    now = set(manifest["files"]["tracks"]["files"])
    assert now == {name.replace(".mp3", ".opus") for name in before}
    assert files_in(tmp_path) == {"short.opus", "short.json", *(f"short-tracks/{n}" for n in [*now, "short.m3u8", "folder.jpg", "mine/song.mp3"])}
    assert (tracks / "mine" / "song.mp3").read_text() == "a song"


def test_only_what_a_build_of_that_name_writes_is_ever_removed(tmp_path, short_routine, engine):
    """An earlier manifest naming other files (another routine's, files outside, the user's) removes none of them."""
    folder = tmp_path / "out"
    folder.mkdir()
    outside = tmp_path / "victim.txt"
    for path in (outside, folder / "other.mp3", folder / "x-notes.txt", folder / "x.toml"):
        path.write_text("keep me")
    old = os.stat(outside).st_mtime - 60
    for path in (outside, folder / "other.mp3", folder / "x-notes.txt", folder / "x.toml"):
        os.utime(path, (old, old))
    crafted = {
        "format": "voiceroutine-manifest/1",
        "audio": {"file": "other.mp3"},
        "files": {"lrc": "../victim.txt", "vtt": "x-notes.txt", "tracks": {"folder": "..", "playlist": "x.toml", "files": ["victim.txt"]}},
    }
    (folder / "x.json").write_text(json.dumps(crafted))

    build(short_routine, Settings(sidecars=False), folder / "x.mp3", engine=engine)

    assert all(p.read_text() == "keep me" for p in (outside, folder / "other.mp3", folder / "x-notes.txt", folder / "x.toml"))
    assert files_in(folder) == {"x.mp3", "x.json", "other.mp3", "x-notes.txt", "x.toml"}
