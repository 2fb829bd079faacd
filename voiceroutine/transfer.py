"""Copy a built routine to a phone's folder or a synced folder, safely.

Every file is copied atomically; a file already there with the same bytes is
left alone, and one with different bytes is only replaced when asked. All
conflicts are found before anything is copied, so a refused export changes nothing.
"""

from __future__ import annotations

import filecmp
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from .errors import RoutineError, VoiceRoutineError
from .export import listed_files, manifest_path
from .files import atomic_path
from .settings import DEFAULT_OUT_DIR, FORMATS


class ExportConflict(VoiceRoutineError):
    """The destination holds different files of the same names."""


@dataclass(frozen=True)
class ExportResult:
    copied: tuple[Path, ...]
    unchanged: tuple[Path, ...]


def built_files(ref: str) -> list[tuple[Path, Path]]:
    """The files a build made, as (source, path relative to the destination).

    ``ref`` is an audio file the CLI built, or a routine id whose build is in out/.
    """
    audio = Path(ref)
    if audio.suffix.lstrip(".").lower() not in FORMATS:
        audio = _built_audio(audio.stem if audio.suffix == ".toml" else ref)
    if not audio.is_file():
        raise RoutineError("file not found", source=ref)
    try:
        manifest = json.loads(manifest_path(audio).read_text(encoding="utf-8"))
        names, described = listed_files(manifest), manifest["audio"]["file"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        names, described = [audio.name], audio.name  # an audio file without its manifest: copy just the audio
    if described != audio.name:
        # Every format of a name shares one manifest: the audio it does not describe is an earlier build.
        raise RoutineError(
            f"this is an earlier build: {manifest_path(audio)} now describes {described}; export that, or build {audio.name} again",
            source=ref,
        )
    pairs = [(audio.parent / name, Path(name)) for name in names]
    missing = [str(source) for source, _ in pairs if not source.is_file()]
    if missing:
        raise RoutineError(f"{missing[0]} is missing; build the routine again", source=ref)
    return pairs


def _built_audio(routine_id: str) -> Path:
    manifest = DEFAULT_OUT_DIR / f"{routine_id}.json"
    try:
        return DEFAULT_OUT_DIR / json.loads(manifest.read_text(encoding="utf-8"))["audio"]["file"]
    except (OSError, ValueError, KeyError):
        raise RoutineError(
            f"no build found in {DEFAULT_OUT_DIR}/; build it first with `voiceroutine build {routine_id}`",
            source=routine_id,
        ) from None


def export(ref: str, destination: Path, *, force: bool = False) -> ExportResult:
    """Copy the build named by ``ref`` into ``destination`` (made if missing)."""
    pairs = built_files(ref)
    if destination.exists() and not destination.is_dir():
        raise RoutineError("is not a folder", source=str(destination))
    unchanged, to_copy = [], []
    for source, relative in pairs:
        target = destination / relative
        if target.is_file() and filecmp.cmp(source, target, shallow=False):
            unchanged.append(target)
            continue
        if target.exists() and not force:
            raise ExportConflict(f"{target} already exists and differs; add --force to replace it")
        to_copy.append((source, target))
    for source, target in to_copy:
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)
    return ExportResult(tuple(t for _, t in to_copy), tuple(unchanged))
