"""Phone-ready files, checked as a phone would see them: loudness, chapters, tags, cover, formats, tracks."""

from __future__ import annotations

import array
import io
import json
import math
import random
import re
import shutil
import subprocess
import wave
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from voiceroutine import Settings, build
from voiceroutine.cli import cli
from voiceroutine.settings import LOUDNESS_RANGE

from conftest import RATE, decode, read_manifest

pytestmark = pytest.mark.integration


def loudness(path: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS, dual mono as on headphones) and true peak (dBTP) of a file."""
    report = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af", "ebur128=peak=true:dualmono=true:framelog=verbose", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", report)[-1]), float(re.findall(r"Peak:\s+(-?[\d.]+) dBFS", report)[-1])


def chapters(path: Path) -> list[dict]:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_chapters", "-of", "json", str(path)], capture_output=True, check=True).stdout
    return json.loads(out)["chapters"]


def assert_chapters_match(path: Path, manifest: dict) -> None:
    found = chapters(path)
    assert [c["tags"]["title"] for c in found] == [c["title"] for c in manifest["chapters"]]
    for got, want in zip(found, manifest["chapters"]):
        assert abs(float(got["start_time"]) * 1000 - want["start_ms"]) <= 30
        assert abs(float(got["end_time"]) * 1000 - want["end_ms"]) <= 30


def assert_cover(png: bytes) -> None:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width == image.height >= 1400


@pytest.fixture(scope="module")
def mp3(tmp_path_factory, short_routine, engine):
    out = tmp_path_factory.mktemp("mp3") / "short.mp3"
    build(short_routine, Settings(split=True), out, engine=engine)
    return out, read_manifest(out)


def test_mp3_is_as_loud_as_a_podcast_with_headroom(mp3):
    level, peak = loudness(mp3[0])
    assert -17 <= level <= -15
    assert peak <= -1.0


def test_mp3_chapters_are_in_order_and_on_time(mp3):
    from mutagen.id3 import ID3, CTOCFlags

    path, manifest = mp3
    assert_chapters_match(path, manifest)
    tag = ID3(path)
    chap = tag.getall("CHAP")
    assert [c.element_id for c in chap] == sorted(c.element_id for c in chap)
    assert [(c.start_time, c.end_time) for c in chap] == [(c["start_ms"], c["end_ms"]) for c in manifest["chapters"]]
    (toc,) = tag.getall("CTOC")
    assert toc.flags == CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED
    assert toc.child_element_ids == [c.element_id for c in chap]


def test_mp3_tags_lyrics_and_cover(mp3):
    from mutagen.id3 import ID3

    path, manifest = mp3
    tag = ID3(path)
    assert tag.version == (2, 3, 0)
    assert str(tag["TIT2"]) == str(tag["TALB"]) == "Short test routine"
    assert str(tag["TPE1"]) == "voiceroutine" and str(tag["TCON"]) == "Fitness"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", str(tag["TDRC"]))
    assert "pyttsx3 voice gmw/en-us" in str(tag.getall("COMM")[0])
    speech = [e for e in manifest["events"] if e["kind"] == "speech"]
    assert tag.getall("USLT")[0].text == "\n".join(e["text"] for e in speech)
    assert tag.getall("SYLT")[0].text == [(e["text"], e["start_ms"]) for e in speech]
    assert_cover(tag.getall("APIC")[0].data)


# Frames ID3v2.4 added; a v2.3 reader does not know them (TDRC hides the year from eyeD3 and Android).
V24_ONLY_FRAMES = {"ASPI", "EQU2", "RVA2", "SEEK", "SIGN", "TDEN", "TDOR", "TDRC", "TDRL", "TDTG", "TIPL", "TMCL", "TMOO", "TPRO", "TSOA", "TSOP", "TSOT", "TSST"}


def test_mp3_tag_is_pure_id3v23_as_eyed3_reads_it(mp3):
    import datetime

    import eyed3

    path, manifest = mp3
    tag = eyed3.load(str(path)).tag
    assert tag.version == (2, 3, 0)
    assert tag.title == tag.album == "Short test routine" and tag.artist == "voiceroutine"
    assert tag.recording_date.year == datetime.date.fromtimestamp(path.stat().st_mtime).year
    assert [(c.title, c.times.start, c.times.end) for c in tag.chapters] == [
        (c["title"], c["start_ms"], c["end_ms"]) for c in manifest["chapters"]
    ]
    (toc,) = tag.table_of_contents
    assert toc.toplevel and toc.ordered and toc.child_ids == [c.element_id for c in tag.chapters]
    speech = [e["text"] for e in manifest["events"] if e["kind"] == "speech"]
    assert [lyrics.text for lyrics in tag.lyrics] == ["\n".join(speech)]
    (cover,) = tag.images
    assert cover.mime_type == "image/png"
    assert_cover(cover.image_data)
    frame_ids = {frame_id.decode() for frame_id in tag.frame_set}
    assert {"TYER", "TDAT"} <= frame_ids and not frame_ids & V24_ONLY_FRAMES, frame_ids
    assert not raw_frame_ids(path.read_bytes()) & V24_ONLY_FRAMES


def raw_frame_ids(data: bytes) -> set[str]:
    """Every top-level frame id in the file's ID3v2.3 tag, read straight from its bytes."""
    assert data[:5] == b"ID3\x03\x00"
    end = 10 + sum(byte << (7 * (3 - i)) for i, byte in enumerate(data[6:10]))
    ids, at = set(), 10
    while at < end and data[at] != 0:
        ids.add(data[at : at + 4].decode("ascii"))
        at += 10 + int.from_bytes(data[at + 4 : at + 8], "big")
    return ids


def test_transcripts_follow_the_manifest(mp3):
    path, manifest = mp3
    speech = [e for e in manifest["events"] if e["kind"] == "speech"]
    lrc = path.with_suffix(".lrc").read_text().splitlines()
    timed = [line for line in lrc if re.match(r"\[\d\d:\d\d\.\d\d\]", line)]
    assert len(timed) == len(speech)
    for line, event in zip(timed, speech):
        minutes, seconds = int(line[1:3]), float(line[4:9])
        assert abs((minutes * 60 + seconds) * 1000 - event["start_ms"]) <= 10
        assert line[10:] == event["text"]
    vtt = path.with_suffix(".vtt").read_text()
    assert vtt.startswith("WEBVTT\n")
    spans = re.findall(r"(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})\n(.+)", vtt)
    assert len(spans) == len(speech)
    for span, event in zip(spans, speech):
        h, m, s, ms = map(int, span[:4])
        assert ((h * 60 + m) * 60 + s) * 1000 + ms == event["start_ms"]
        assert span[8] == event["text"]


def test_split_tracks_add_up_and_the_playlist_lists_them(mp3):
    path, manifest = mp3
    tracks = manifest["files"]["tracks"]
    folder = path.with_name(tracks["folder"])
    assert len(tracks["files"]) == len(manifest["chapters"])
    lengths = []
    for name, chapter in zip(tracks["files"], manifest["chapters"]):
        decoded_ms = len(decode(folder / name)) * 1000 / RATE
        assert abs(decoded_ms - (chapter["end_ms"] - chapter["start_ms"])) <= 30
        lengths.append(decoded_ms)
    assert abs(sum(lengths) - manifest["audio"]["duration_ms"]) <= 30 * len(lengths)
    playlist = (folder / tracks["playlist"]).read_text().splitlines()
    assert playlist[0] == "#EXTM3U"
    entries = [(playlist[i], playlist[i + 1]) for i, line in enumerate(playlist) if line.startswith("#EXTINF:")]
    assert [name for _, name in entries] == tracks["files"]
    for (info, name), chapter in zip(entries, manifest["chapters"]):
        seconds, title = info[len("#EXTINF:") :].split(",", 1)
        assert title == chapter["title"]
        assert abs(int(seconds) * 1000 - (chapter["end_ms"] - chapter["start_ms"])) <= 500
        assert (folder / name).is_file()


def test_m4b_has_chapters_cover_and_tags(tmp_path, short_routine, engine):
    from mutagen.mp4 import MP4

    out = tmp_path / "short.m4b"
    build(short_routine, Settings(format="m4b"), out, engine=engine)
    manifest = read_manifest(out)
    assert abs(len(decode(out)) * 1000 / RATE - manifest["audio"]["duration_ms"]) <= 30
    assert_chapters_match(out, manifest)
    tags = MP4(out).tags
    assert tags["\xa9nam"] == ["Short test routine"] and tags["stik"] == [2]
    assert_cover(bytes(tags["covr"][0]))
    level, peak = loudness(out)
    assert -17 <= level <= -15 and peak <= -1.0


def test_opus_has_chapters_cover_and_tags(tmp_path, short_routine, engine):
    import base64

    from mutagen.flac import Picture
    from mutagen.oggopus import OggOpus

    out = tmp_path / "short.opus"
    build(short_routine, Settings(format="opus"), out, engine=engine)
    manifest = read_manifest(out)
    assert manifest["audio"]["sample_rate"] == 48_000
    assert abs(len(decode(out)) * 1000 / RATE - manifest["audio"]["duration_ms"]) <= 30
    assert_chapters_match(out, manifest)
    tags = OggOpus(out).tags
    assert tags["TITLE"] == ["Short test routine"]
    picture = Picture(base64.b64decode(tags["METADATA_BLOCK_PICTURE"][0]))
    assert_cover(picture.data)
    image = Image.open(io.BytesIO(picture.data))
    assert image.mode == "RGB"  # 24 bits a pixel
    assert (picture.width, picture.height, picture.depth) == (image.width, image.height, 24)
    if shutil.which("opusinfo"):  # opus-tools, another reader of the block
        info = subprocess.run(["opusinfo", str(out)], capture_output=True, text=True, check=True).stdout
        assert f"METADATA_BLOCK_PICTURE=3|image/png|Cover|{image.width}x{image.height}x24|" in info
    level, peak = loudness(out)
    assert -17 <= level <= -15 and peak <= -1.0


def test_loudness_target_and_custom_cover(tmp_path, short_routine, engine):
    from mutagen.id3 import ID3

    picture = tmp_path / "me.png"
    Image.new("RGB", (300, 200), (200, 80, 40)).save(picture)
    out = tmp_path / "quiet.mp3"
    build(short_routine, Settings(loudness_lufs=-20.0, cover=str(picture), sidecars=False), out, engine=engine)
    level, _ = loudness(out)
    assert -21 <= level <= -19
    cover = Image.open(io.BytesIO(ID3(out).getall("APIC")[0].data))
    assert cover.size == (1400, 1400) and cover.getpixel((700, 700)) == (200, 80, 40)
    assert not out.with_suffix(".lrc").exists() and not out.with_suffix(".vtt").exists()


@pytest.fixture(scope="module")
def struck_bell(tmp_path_factory) -> Path:
    """A chime as loud as a file can be: a bell struck hard, its click at full scale."""
    rate, frames = 44_100, 44_100
    noise = random.Random(3)
    samples = []
    for i in range(frames):
        t = i / rate
        ring = sum(a * math.sin(2 * math.pi * 880 * r * t) * math.exp(-d * t) for r, a, d in ((1, 1, 2.5), (2.76, 0.6, 4), (5.4, 0.4, 7)))
        samples.append(ring + 2 * noise.gauss(0, 1) * math.exp(-t / 0.002))
    scale = 32767 / max(abs(s) for s in samples)
    path = tmp_path_factory.mktemp("chimes") / "bell.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(array.array("h", (round(s * scale) for s in samples)).tobytes())
    return path


@pytest.fixture(scope="module")
def clipped_noise(tmp_path_factory) -> Path:
    """A chime no limiter of samples can tame: white noise clipped at full scale, whose peaks
    between samples run about 5 dB over its samples'."""
    noise = random.Random(5)
    samples = [max(-32767, min(32767, round(noise.gauss(0, 1) * 30000))) for _ in range(44_100 * 3 // 10)]
    path = tmp_path_factory.mktemp("chimes") / "noise.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(44_100)
        out.writeframes(array.array("h", samples).tobytes())
    return path


@pytest.mark.parametrize("fmt", ["mp3", "m4b", "opus", "wav"])
@pytest.mark.parametrize("content", ["speech", "loud", "clipped", "loudest"])
def test_encoded_file_keeps_true_peak_under_1_dbtp_at_the_target_loudness(tmp_path, short_routine, engine, struck_bell, clipped_noise, fmt, content):
    """Measured on the file a phone plays, after the encoder's own overshoot: "loud" adds a full-scale bell
    for both chimes and the ambient bed, at the lowest bit rate (where encoders overshoot most);
    "clipped" makes both chimes a burst of clipped noise; "loudest" asks for the loudest target allowed."""
    settings = Settings(format=fmt, sidecars=False)
    if content == "loud":
        settings = replace(settings, bitrate_kbps=32, start_chime=str(struck_bell), end_chime=str(struck_bell), ambient="noise")
    if content == "clipped":
        settings = replace(settings, start_chime=str(clipped_noise), end_chime=str(clipped_noise))
    if content == "loudest":
        settings = replace(settings, loudness_lufs=LOUDNESS_RANGE[1])
    out = tmp_path / f"{content}.{fmt}"
    build(short_routine, settings, out, engine=engine)
    level, peak = loudness(out)
    assert peak <= -1.0, (fmt, content, level, peak)
    assert abs(level - settings.loudness_lufs) <= 1.0, (fmt, content, level, peak)


def test_ambient_bed_stays_well_under_the_voice(tmp_path, short_routine, engine):
    out = tmp_path / "ambient.mp3"
    build(short_routine, Settings(ambient="noise"), out, engine=engine)
    samples, manifest = decode(out), read_manifest(out)
    rest = max((e for e in manifest["events"] if e["kind"] == "pause"), key=lambda e: e["end_ms"] - e["start_ms"])
    quiet = samples[(rest["start_ms"] + 300) * RATE // 1000 : (rest["end_ms"] - 300) * RATE // 1000]
    rms = (sum(s * s for s in quiet) / len(quiet)) ** 0.5
    assert 30 < rms < 600  # a soft hiss where it was silent, far under the voice (peaks near 26000)
    level, peak = loudness(out)
    assert -17 <= level <= -15 and peak <= -1.0


def test_export_copies_the_build_and_never_clobbers(tmp_path, mp3):
    path, manifest = mp3
    phone = tmp_path / "phone"
    runner = CliRunner()
    first = runner.invoke(cli, ["export", str(path), "--to", str(phone)])
    assert first.exit_code == 0, first.output
    folder = phone / manifest["files"]["tracks"]["folder"]
    assert (phone / "short.mp3").read_bytes() == path.read_bytes()
    assert sorted(p.name for p in folder.iterdir()) == sorted([*manifest["files"]["tracks"]["files"], "short.m3u8"])
    again = runner.invoke(cli, ["export", str(path), "--to", str(phone)])
    assert again.exit_code == 0 and again.output.strip().endswith("0 files copied to " + str(phone) + f", {len(first.output.splitlines()) - 1} already there")
    (phone / "short.lrc").write_text("my notes")
    refused = runner.invoke(cli, ["export", str(path), "--to", str(phone)])
    assert refused.exit_code == 1
    assert "short.lrc already exists and differs; add --force" in refused.output
    assert (phone / "short.lrc").read_text() == "my notes"
    forced = runner.invoke(cli, ["export", str(path), "--to", str(phone), "--force"])
    assert forced.exit_code == 0
    assert (phone / "short.lrc").read_bytes() == path.with_suffix(".lrc").read_bytes()


def test_chimes_are_audible_but_softer_than_the_voice(mp3):
    path, manifest = mp3
    voice, _ = loudness(path)
    for chime in [e for e in manifest["events"] if e["kind"] == "chime"][:4]:
        seconds = chime["start_ms"] / 1000
        report = subprocess.run(
            ["ffmpeg", "-hide_banner", "-nostats", "-ss", f"{seconds}", "-t", "0.9", "-i", str(path),
             "-af", "ebur128=dualmono=true:framelog=verbose", "-f", "null", "-"],
            capture_output=True, text=True, check=True,
        ).stderr  # fmt: skip
        level = float(re.findall(r"I:\s+(-?[\d.]+) LUFS", report)[-1])
        assert voice - 10 < level < voice - 2, (chime, level, voice)
