"""The music the studio offers: audio files the user put in the shared folder itself.

Only a file at the top of the folder that is no file of a built routine: a
manifest's own files and any file beside a manifest of its name (an earlier
build in another format) are the routines, not music. A symlink counts only
when it leads to such a file in the folder itself. The form sends a file's
name, never a path, and the routine file saved beside it names it the same
way, relative to itself.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..export import listed_files
from ..settings import MUSIC_LEVEL_RANGE_LU, Settings
from .catalog import MAX_MANIFEST_BYTES, clean_text

MUSIC_EXTENSIONS = ("mp3", "m4a", "aac", "ogg", "opus", "oga", "flac", "wav")
MUSIC_LEVELS = tuple(range(int(MUSIC_LEVEL_RANGE_LU[0]), int(MUSIC_LEVEL_RANGE_LU[1]) + 1, 2))  # what the form lists, in LU
DEFAULT_MUSIC_LEVEL = Settings.music_level_lu


@dataclass(frozen=True)
class MusicFiles:
    folder: Path  # the shared folder, as given: where the studio saves routine files, which name music beside them
    names: tuple[str, ...]  # the files offered, by name, sorted


def music_files(folder: Path) -> MusicFiles:
    """The audio files in ``folder`` the studio may lay under a routine."""
    root = folder.resolve()
    built = _built_files(root)
    names = []
    try:
        entries = sorted(entry.name for entry in os.scandir(root))
    except OSError:
        entries = []
    for name in entries:
        if not _offerable(name, built):
            continue
        try:
            target = (root / name).resolve(strict=True)
        except (OSError, RuntimeError):  # gone, a loop of links, or unreadable
            continue
        # A link may lead only to another such file in the folder itself.
        if target.parent == root and _offerable(target.name, built) and target.is_file():
            names.append(name)
    return MusicFiles(folder, tuple(names))


def _offerable(name: str, built: tuple[frozenset[str], frozenset[str]]) -> bool:
    """Whether a name in the folder may be music: a visible audio file that is not a routine's."""
    stem, dot, extension = name.rpartition(".")
    listed, stems = built
    return (
        bool(dot and stem)
        and extension.lower() in MUSIC_EXTENSIONS
        and not name.startswith((".", "~"))  # hidden; or read as someone's home folder when the routine file is loaded
        and "\\" not in name
        and clean_text(name)
        and name not in listed
        and stem not in stems
    )


def _built_files(root: Path) -> tuple[frozenset[str], frozenset[str]]:
    """The files every manifest in ``root`` names, and the names of the manifests (each build's stem)."""
    listed: set[str] = set()
    stems = set()
    for manifest in root.glob("*.json"):
        stems.add(manifest.stem)
        try:
            state = manifest.stat()
        except OSError:
            continue
        listed |= _listed(manifest, state.st_size, state.st_mtime_ns)
    return frozenset(listed), frozenset(stems)


@functools.lru_cache(maxsize=256)
def _listed(manifest: Path, size: int, mtime_ns: int) -> frozenset[str]:
    """The files one manifest names, read once per version of it; none for a file that is not one."""
    if size > MAX_MANIFEST_BYTES:
        return frozenset()
    try:
        return frozenset(name for name in listed_files(json.loads(manifest.read_bytes())) if isinstance(name, str))
    # Any JSON at all may be there: what is not a build's manifest names no files.
    except (OSError, ValueError, RecursionError, KeyError, TypeError, AttributeError):
        return frozenset()
