"""Tags, chapters, lyrics and cover art, written with mutagen into the encoded file.

MP3 gets ID3v2.3 (read by more players than 2.4) with CHAP frames in start
order under one top-level, ordered CTOC (mutagen sorts frames by size when it
saves, so the chapter frames are added here, after mutagen's). The whole tag
can be made while the audio is encoded, then is written in front of it in one
pass. M4B gets MP4 atoms (its chapters come from ffmpeg at encode time); Opus
gets Vorbis comments with the CHAPTERxxx convention. WAV keeps the RIFF INFO
tags ffmpeg writes.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .language import DEFAULT_LANGUAGE, load_language
from .script import Chapter


@dataclass(frozen=True)
class TrackTags:
    title: str
    album: str
    comment: str
    date: str  # YYYY-MM-DD
    lyrics: str = ""
    synced_lyrics: tuple[tuple[str, int], ...] = ()  # (text, start ms)
    chapters: tuple[Chapter, ...] = ()
    cover_png: bytes | None = None
    track: tuple[int, int] | None = None  # (number, of how many)
    artist: str = "voiceroutine"
    genre: str = "Fitness"
    language: str = DEFAULT_LANGUAGE  # what is spoken, a BCP 47 tag

    @property
    def iso639(self) -> str:
        """The language as MP3 and MP4 tags name it (ISO 639-2: "spa")."""
        return load_language(self.language).iso639


def ffmpeg_metadata(tags: TrackTags) -> dict[str, str]:
    """The plain text tags, for formats whose tags ffmpeg writes (WAV's INFO chunk)."""
    return {
        "title": tags.title, "artist": tags.artist, "album": tags.album, "genre": tags.genre,
        "date": tags.date, "comment": tags.comment, "language": tags.iso639,
    }  # fmt: skip


def tag_writer(fmt: str, tags: TrackTags) -> Callable[[Path], None]:
    """What adds ``tags`` to an encoded file of format ``fmt``.

    An MP3's whole tag is made here, so a build can make it while ffmpeg
    encodes and only has to put it in front of the audio when ffmpeg is done.
    """
    if fmt == "mp3":
        tag = _id3_tag(tags)
        return lambda path: _prepend(path, tag)
    writers = {"m4b": _m4b, "opus": _opus}  # these edit the file itself
    if fmt in writers:
        return lambda path: writers[fmt](path, tags)
    return lambda path: None  # WAV: ffmpeg wrote its tags


def _id3_tag(tags: TrackTags) -> bytes:
    from mutagen.id3 import APIC, COMM, ID3, SYLT, TALB, TCON, TDRC, TIT2, TLAN, TPE1, TRCK, USLT

    id3 = ID3()
    id3.add(TIT2(encoding=3, text=[tags.title]))
    id3.add(TPE1(encoding=3, text=[tags.artist]))
    id3.add(TALB(encoding=3, text=[tags.album]))
    id3.add(TCON(encoding=3, text=[tags.genre]))
    id3.add(TDRC(encoding=3, text=[tags.date]))
    id3.add(COMM(encoding=3, lang="eng", desc="", text=[tags.comment]))  # the comment is in English
    id3.add(TLAN(encoding=3, text=[tags.iso639]))
    if tags.track:
        id3.add(TRCK(encoding=3, text=[f"{tags.track[0]}/{tags.track[1]}"]))
    if tags.lyrics:
        id3.add(USLT(encoding=3, lang=tags.iso639, desc="", text=tags.lyrics))
    if tags.synced_lyrics:
        # format 2: times in milliseconds; type 1: lyrics.
        id3.add(SYLT(encoding=3, lang=tags.iso639, format=2, type=1, desc="", text=list(tags.synced_lyrics)))
    if tags.cover_png:
        id3.add(APIC(encoding=3, mime="image/png", type=3, desc="Cover", data=tags.cover_png))
    # TDRC is a v2.4 frame: readers of v2.3 (eyeD3, Android) look for the year in TYER and the day in TDAT.
    id3.update_to_v23()
    made = io.BytesIO()  # saved into an empty file, the tag is all there is
    id3.save(made, v2_version=3, padding=lambda info: 0)
    return _with_frames(made.getvalue(), _chapter_frames(tags.chapters)) if tags.chapters else made.getvalue()


def _with_frames(tag: bytes, frames: bytes) -> bytes:
    """An ID3v2.3 tag (made without padding) with ``frames`` added at its end."""
    if tag[:4] != b"ID3\x03":
        raise ValueError("not an ID3v2.3 tag")
    size = sum(byte << (7 * (3 - i)) for i, byte in enumerate(tag[6:10]))  # sync-safe
    grown = size + len(frames)
    return tag[:6] + bytes((grown >> (7 * (3 - i))) & 0x7F for i in range(4)) + tag[10 : 10 + size] + frames


def _prepend(path: Path, tag: bytes) -> None:
    """Put ``tag`` in front of the audio in ``path``.

    The audio is copied in chunks into a file beside it, so memory stays small
    however long the routine.
    """
    grown = path.with_name(path.name + ".tag")
    try:
        with path.open("rb") as source, grown.open("wb") as target:
            target.write(tag)
            shutil.copyfileobj(source, target, 1 << 20)
        os.replace(grown, path)
    finally:
        grown.unlink(missing_ok=True)


def _frame(frame_id: bytes, body: bytes) -> bytes:
    """An ID3v2.3 frame: id, plain 32-bit size, no flags."""
    return frame_id + struct.pack(">IH", len(body), 0) + body


def _title_frame(text: str) -> bytes:
    # ID3v2.3 has no UTF-8: UTF-16 with a byte order mark (encoding 1).
    return _frame(b"TIT2", b"\x01" + "\ufeff".encode("utf-16-le") + text.encode("utf-16-le") + b"\0\0")


def _chapter_frames(chapters: tuple[Chapter, ...]) -> bytes:
    """CHAP frames in start order, then the top-level, ordered CTOC that lists them."""
    ids = [f"chp{i:03d}".encode("ascii") for i in range(len(chapters))]
    frames = b"".join(
        _frame(b"CHAP", element_id + b"\0" + struct.pack(">IIII", c.start_ms, c.end_ms, 0xFFFFFFFF, 0xFFFFFFFF) + _title_frame(c.title))
        for element_id, c in zip(ids, chapters)
    )
    toc = b"toc\0" + bytes([0x03, len(ids)]) + b"".join(i + b"\0" for i in ids)  # 0x03: top level, ordered
    return frames + _frame(b"CTOC", toc + _title_frame("Chapters"))


def _m4b(path: Path, tags: TrackTags) -> None:
    from mutagen.mp4 import MP4, MP4Cover

    mp4 = MP4(str(path))
    mp4["\xa9nam"] = [tags.title]
    mp4["\xa9ART"] = [tags.artist]
    mp4["\xa9alb"] = [tags.album]
    mp4["\xa9gen"] = [tags.genre]
    mp4["\xa9day"] = [tags.date]
    mp4["\xa9cmt"] = [tags.comment]
    mp4["stik"] = [2]  # media kind: audiobook
    if tags.lyrics:
        mp4["\xa9lyr"] = [tags.lyrics]
    if tags.track:
        mp4["trkn"] = [tags.track]
    if tags.cover_png:
        mp4["covr"] = [MP4Cover(tags.cover_png, imageformat=MP4Cover.FORMAT_PNG)]
    mp4.save()


def _opus(path: Path, tags: TrackTags) -> None:
    from mutagen.flac import Picture
    from mutagen.oggopus import OggOpus

    opus = OggOpus(str(path))
    opus.clear()
    opus.update(
        {
            "TITLE": tags.title,
            "ARTIST": tags.artist,
            "ALBUM": tags.album,
            "GENRE": tags.genre,
            "DATE": tags.date,
            "COMMENT": tags.comment,
            "LANGUAGE": tags.language,
        }
    )
    if tags.lyrics:
        opus["LYRICS"] = tags.lyrics
    if tags.track:
        opus["TRACKNUMBER"] = f"{tags.track[0]}/{tags.track[1]}"
    for i, chapter in enumerate(tags.chapters, 1):
        opus[f"CHAPTER{i:03d}"] = _chapter_time(chapter.start_ms)
        opus[f"CHAPTER{i:03d}NAME"] = chapter.title
    if tags.cover_png:
        picture = Picture()
        picture.type, picture.mime, picture.desc, picture.data = 3, "image/png", "Cover", tags.cover_png
        picture.width, picture.height, picture.depth = _image_size(tags.cover_png)
        opus["METADATA_BLOCK_PICTURE"] = base64.b64encode(picture.write()).decode("ascii")
    opus.save()


def _image_size(image: bytes) -> tuple[int, int, int]:
    """Width, height and bits per pixel of a cover (cover.py makes 8-bit RGB), as a FLAC picture block states them."""
    from PIL import Image

    with Image.open(io.BytesIO(image)) as picture:
        return picture.width, picture.height, 8 * len(picture.getbands())


def _chapter_time(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def read_cover(path: Path, fmt: str) -> bytes | None:
    """The cover art embedded in a file this module tagged, or None if it has none."""
    import mutagen

    try:
        if fmt == "mp3":
            from mutagen.id3 import ID3

            pictures = ID3(str(path)).getall("APIC")
            return pictures[0].data if pictures else None
        if fmt == "m4b":
            from mutagen.mp4 import MP4

            covers = (MP4(str(path)).tags or {}).get("covr")
            return bytes(covers[0]) if covers else None
        if fmt == "opus":
            from mutagen.flac import Picture
            from mutagen.oggopus import OggOpus

            blocks = OggOpus(str(path)).get("METADATA_BLOCK_PICTURE")
            return Picture(base64.b64decode(blocks[0])).data if blocks else None
    except (OSError, ValueError, mutagen.MutagenError):
        return None
    return None
