"""What a shared folder holds: the routines built into it, read from their manifests.

A manifest that is not one this version writes (a file that is not
top-level audio, a field of the wrong type, control characters in a title)
is skipped, and a warning says why once; the other routines are still shared.
Only files a manifest names are ever served: an audio file of another format
beside them is an earlier build (the formats share the manifest), not this
one. And only when they are regular files inside the folder after symlinks
are followed. The catalog is read again on every page load, so a
routine built while sharing shows up on reload.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..export import MANIFEST_FORMAT, content_digest, listed_files
from ..language import DEFAULT_LANGUAGE, available_languages
from ..script import Chapter
from ..settings import FORMATS

MEDIA_TYPES = {
    "mp3": "audio/mpeg",
    "m4b": "audio/mp4",
    "opus": "audio/ogg",
    "wav": "audio/wav",
    "m3u8": "audio/x-mpegurl",
    "lrc": "text/plain; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
}
PLAYER_ORDER = ("mp3", "m4b", "opus", "wav")  # what every phone browser plays first
MAX_MANIFEST_BYTES = 20 * 1024 * 1024  # a 3-hour routine's manifest is a few MB
MAX_DURATION_MS = 48 * 3600 * 1000  # far beyond any routine; keeps every time a plain number

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SharedFile:
    path: str  # relative to the shared folder with "/" separators; also its URL path
    kind: str  # a key of MEDIA_TYPES
    size: int
    mtime_ns: int

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.kind]

    @property
    def is_audio(self) -> bool:
        return self.kind in FORMATS


@dataclass(frozen=True)
class SharedRoutine:
    id: str  # the manifest's file name without .json: unique within the folder
    title: str
    duration_ms: int
    stretches: tuple[str, ...]
    chapters: tuple[Chapter, ...]
    files: tuple[SharedFile, ...]  # the main audio first
    content_id: str  # what the audio holds (export.content_digest): the same for a rebuild that sounds the same
    language: str = DEFAULT_LANGUAGE  # the tag of the language it speaks

    @property
    def player(self) -> SharedFile:
        """The audio file for the page's player and the feed: the build's own audio."""
        return self.files[0]

    @property
    def audio_path(self) -> str:
        return self.files[0].path


@dataclass(frozen=True)
class Catalog:
    folder: Path  # resolved
    routines: tuple[SharedRoutine, ...]

    def routine(self, routine_id: str) -> SharedRoutine | None:
        return next((r for r in self.routines if r.id == routine_id), None)

    def file(self, relative: str) -> tuple[Path, SharedFile] | None:
        """The file at a URL path, if it belongs to a served routine; never anything else."""
        for routine in self.routines:
            for shared in routine.files:
                if shared.path == relative:
                    path = _inside(self.folder, relative)
                    return (path, shared) if path else None
        return None


def read_catalog(folder: Path) -> Catalog:
    """Every routine built into ``folder``, newest first."""
    root = folder.resolve()
    routines = []
    for manifest_file in sorted(root.glob("*.json")):
        routine = _read_routine(root, manifest_file)
        if routine:
            routines.append(routine)
    routines.sort(key=lambda r: -r.files[0].mtime_ns)
    return Catalog(root, tuple(routines))


def _read_routine(root: Path, manifest_file: Path) -> SharedRoutine | None:
    """The routine a manifest describes, or None for any JSON that is not a usable manifest."""
    try:
        stat = manifest_file.stat()
        if stat.st_size > MAX_MANIFEST_BYTES or not _inside(root, manifest_file.name):
            return None
        manifest = json.loads(manifest_file.read_bytes())
    # Whatever is wrong with a file (even nesting too deep to parse, or an infinite number), it is not shared.
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(manifest, dict) or not str(manifest.get("format", "")).startswith("voiceroutine-manifest"):
        return None  # some other JSON: not ours to judge
    try:
        routine = _routine(manifest_file.stem, manifest)
        names = listed_files(manifest)
        content_id = _content_id(manifest_file, stat.st_size, stat.st_mtime_ns)
    except Unusable as e:
        _skipped(manifest_file.name, stat.st_mtime_ns, str(e))
        return None
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError, RecursionError):
        _skipped(manifest_file.name, stat.st_mtime_ns, "its files are not listed as a build lists them")
        return None
    files = tuple(f for f in (_shared_file(root, name) for name in names) if f)
    if not files or files[0].path != names[0]:
        return None  # the audio itself is gone
    return dataclasses.replace(routine, files=files, content_id=content_id)


class Unusable(ValueError):
    """Why a manifest's routine cannot be shared."""


def _routine(routine_id: str, manifest: dict) -> SharedRoutine:
    """The routine as the manifest tells it, every field checked; its files are filled in by the caller."""
    if not clean_text(routine_id):
        raise Unusable("its name has control characters")
    if manifest.get("format") != MANIFEST_FORMAT:
        raise Unusable(f"it is {manifest.get('format')!r}, and this version reads {MANIFEST_FORMAT!r}")
    about, audio = _table(manifest, "routine"), _table(manifest, "audio")
    name = audio.get("file")
    if not isinstance(name, str) or "/" in name or "\\" in name or name.rsplit(".", 1)[-1].lower() not in FORMATS:
        raise Unusable(f"audio.file must be an audio file ({', '.join(FORMATS)}) in the folder itself")
    if not isinstance(manifest.get("files", {}), dict):
        raise Unusable("files must be a table")
    chapters = tuple(
        Chapter(_text(c, "title", f"chapters[{n}]"), _ms(c, "start_ms", f"chapters[{n}]"), _ms(c, "end_ms", f"chapters[{n}]"))
        for n, c in enumerate(_list(manifest, "chapters", ""), 1)
    )
    stretches = tuple(_text(s, "name", f"routine.stretches[{n}]") for n, s in enumerate(_list(about, "stretches", "routine."), 1))
    title, duration_ms = _text(about, "title", "routine"), _ms(audio, "duration_ms", "audio")
    return SharedRoutine(routine_id, title, duration_ms, stretches, chapters, (), "", _language(about))


def _language(about: dict) -> str:
    """The routine's language; manifests written before routines had one are English."""
    language = about.get("language", DEFAULT_LANGUAGE)
    # Exactly a tag this version has a phrase file for: the page and the feed name it, the cover speaks it.
    if not isinstance(language, str) or language not in available_languages():
        raise Unusable(f"routine.language must be one of {', '.join(available_languages())}")
    return language


def clean_text(text: str) -> bool:
    """Whether ``text`` is free of control characters, lone surrogates and the two non-characters XML forbids."""
    return not any(unicodedata.category(c) in ("Cc", "Cs") or c in "\ufffe\uffff" for c in text)


def _table(parent: object, key: str) -> dict:
    value = parent.get(key) if isinstance(parent, dict) else None
    if not isinstance(value, dict):
        raise Unusable(f"{key} must be a table")
    return value


def _list(parent: dict, key: str, where: str) -> list:
    value = parent.get(key)
    if not isinstance(value, list):
        raise Unusable(f"{where}{key} must be a list")
    return value


def _text(parent: object, key: str, where: str) -> str:
    value = parent.get(key) if isinstance(parent, dict) else None
    if not isinstance(value, str) or not clean_text(value):
        raise Unusable(f"{where}.{key} must be text without control characters")
    return value


def _ms(parent: object, key: str, where: str) -> int:
    value = parent.get(key) if isinstance(parent, dict) else None
    if type(value) is not int or not 0 <= value <= MAX_DURATION_MS:
        raise Unusable(f"{where}.{key} must be a whole number of milliseconds")
    return value


@functools.lru_cache(maxsize=256)
def _skipped(name: str, mtime_ns: int, reason: str) -> None:
    """Say once per version of a file why it is not shared (the catalog is read again on every change)."""
    log.warning("not sharing %r: %s", name, reason)  # %r: a name's control characters never reach the terminal


@functools.lru_cache(maxsize=256)
def _content_id(manifest_file: Path, size: int, mtime_ns: int) -> str:
    """The manifest's content digest, worked out once per version of the file (a 3-hour manifest takes 30 ms)."""
    return content_digest(json.loads(manifest_file.read_bytes()))


def _shared_file(root: Path, name: object) -> SharedFile | None:
    if not isinstance(name, str):
        return None
    path = _inside(root, name)
    kind = name.rsplit(".", 1)[-1].lower()
    if not path or kind not in MEDIA_TYPES:
        return None
    try:
        stat = path.stat()
    except OSError:
        return None  # removed since it was looked at
    return SharedFile(name, kind, stat.st_size, stat.st_mtime_ns)


def _inside(root: Path, relative: str) -> Path | None:
    """``root / relative`` if it is a regular file inside ``root`` once symlinks are followed."""
    if not relative or relative.startswith("/") or "\\" in relative or "\0" in relative:
        return None
    try:
        path = (root / relative).resolve()
        return path if path.is_relative_to(root) and path.is_file() else None
    except (OSError, ValueError):
        return None


@functools.lru_cache(maxsize=64)
def cover_art(audio: Path, kind: str, mtime_ns: int, title: str, duration_ms: int, stretches: int, language: str) -> bytes:
    """The cover embedded in the audio, or one drawn from the title in the routine's language (WAV has
    none); cached per file version."""
    from ..cover import cover_subtitle, make_cover
    from ..tags import read_cover

    return read_cover(audio, kind) or make_cover(title, cover_subtitle(stretches, duration_ms, language))
