"""A build owns its files: what an earlier build of the same output wrote, and clearing what is left of it.

A build of ``out/x.<format>`` writes under names of its own: the audio (every
format shares the manifest ``out/x.json``), ``x.lrc``, ``x.vtt`` and the
``x-tracks/`` folder. The earlier build's manifest, read before anything is
written, says which of them it wrote. Once the new manifest is in place, those
the new build did not write again are removed, so nothing left in the folder
presents the earlier build as this one.

Nothing else is ever removed: not a name the earlier manifest does not list,
nor one a build of this output could not have written, nor a file changed
since that build wrote it (it is the user's now), nor a symlink or a folder
with anything the user put in it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .export import MANIFEST_FORMAT, listed_files, manifest_path, tracks_folder
from .settings import FORMATS

# What a build of out/x.mp3 may write beside it, besides its manifest: x in every format, its
# transcripts, and its tracks folder (tracks_folder).
SIBLING_EXTENSIONS = (*FORMATS, "lrc", "vtt")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EarlierBuild:
    """The files an earlier build of an output wrote, as its manifest names them."""

    folder: Path  # the output's folder: names are relative to it
    names: frozenset[str]  # only names a build of this output writes
    manifest_ns: int  # when its manifest was written, after all its other files

    def wrote(self, name: str) -> bool:
        """Whether ``name`` is still as that build left it: one of its files, a regular file, unchanged since."""
        if name not in self.names:
            return False
        path = self.folder / name
        try:
            if path.parent != self.folder and not stat.S_ISDIR(path.parent.lstat().st_mode):
                return False  # the tracks folder is a symlink: not one the tool made
            info = path.lstat()
        except OSError:
            return False
        return stat.S_ISREG(info.st_mode) and info.st_mtime_ns <= self.manifest_ns


def earlier_build(output: Path) -> EarlierBuild | None:
    """What the build described by ``output``'s manifest wrote; None without a readable manifest there."""
    path = manifest_path(output)
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode):
            return None
        manifest = json.loads(path.read_bytes())
        if manifest.get("format") != MANIFEST_FORMAT:
            return None
        names = listed_files(manifest)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
    return EarlierBuild(output.parent, frozenset(n for n in names if _could_write(output, n)), info.st_mtime_ns)


def _could_write(output: Path, name: object) -> bool:
    """Whether a build of ``output`` writes files of this name: its audio in any format, transcripts, tracks."""
    if not isinstance(name, str):
        return False
    if name in {f"{output.stem}.{ext}" for ext in SIBLING_EXTENSIONS}:
        return True
    folder, _, track = name.partition("/")
    return folder == tracks_folder(output).name and track not in ("", ".", "..") and not any(c in track for c in "/\\\0")


def keep_others(folder: Path, staging: Path, earlier: EarlierBuild | None) -> None:
    """Put into ``staging`` (the tracks folder about to replace ``folder`` whole) whatever the old
    folder holds that the earlier build did not write, so the user's own files stay."""
    if folder.is_symlink() or not folder.is_dir():
        return
    for entry in folder.iterdir():
        target = staging / entry.name
        if os.path.lexists(target) or (earlier and earlier.wrote(f"{folder.name}/{entry.name}")):
            continue  # a new track of the same name replaces it, as a new build replaces its audio
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, target, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(entry, target)


def _link_or_copy(source: Path | str, target: Path | str) -> None:
    # A hard link keeps the file if the swap fails; FAT and exFAT (phones, USB sticks) have none.
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError:
        shutil.copy2(source, target, follow_symlinks=False)


def remove_leftovers(earlier: EarlierBuild | None, output: Path, written: Iterable[str]) -> tuple[Path, ...]:
    """Remove what ``earlier`` wrote that this build (``written``: its manifest's names) did not; return it."""
    if earlier is None:
        return ()
    removed = []
    for name in sorted(earlier.names - set(written)):
        if earlier.wrote(name):
            path = earlier.folder / name
            path.unlink(missing_ok=True)
            removed.append(path)
            log.info("removed %s: the earlier build of this name wrote it, this one did not", path)
    folder = tracks_folder(output)
    if any(path.parent == folder for path in removed):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty: whatever the user put there stays
    return tuple(removed)
