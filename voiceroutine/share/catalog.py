"""What a shared folder holds: the routines built into it, read from their manifests.

Only files a manifest names are ever served: an audio file of another format
beside them is an earlier build (the formats share the manifest), not this
one. And only when they are regular files inside the folder after symlinks
are followed. The catalog is read again on every page load, so a
routine built while sharing shows up on reload.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from ..export import MANIFEST_FORMAT, content_digest, listed_files
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
        if manifest.get("format") != MANIFEST_FORMAT:
            return None
        names = listed_files(manifest)
        audio = manifest["audio"]
        chapters = tuple(Chapter(str(c["title"]), int(c["start_ms"]), int(c["end_ms"])) for c in manifest["chapters"])
        stretches = tuple(str(s["name"]) for s in manifest["routine"]["stretches"])
        title, duration_ms = str(manifest["routine"]["title"]), int(audio["duration_ms"])
        content_id = _content_id(manifest_file, stat.st_size, stat.st_mtime_ns)
    # Whatever is wrong with a file (even nesting too deep to parse, or an infinite number), it is not shared.
    except (OSError, ValueError, KeyError, TypeError, AttributeError, OverflowError, RecursionError):
        return None
    files = tuple(f for f in (_shared_file(root, name) for name in names) if f)
    if not files or files[0].path != names[0]:
        return None  # the audio itself is gone
    return SharedRoutine(manifest_file.stem, title, duration_ms, stretches, chapters, files, content_id)


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
    stat = path.stat()
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
def cover_art(audio: Path, kind: str, mtime_ns: int, title: str, duration_ms: int, stretches: int) -> bytes:
    """The cover embedded in the audio, or one drawn from the title (WAV has none); cached per file version."""
    from ..cover import cover_subtitle, make_cover
    from ..tags import read_cover

    return read_cover(audio, kind) or make_cover(title, cover_subtitle(stretches, duration_ms))
