"""A content-addressed cache of synthesised phrases.

Each entry is one clip, stored under sha256(engine key + text), written to a
temporary name and renamed into place, and checked when read against a digest
of its key and samples: a damaged entry, or one copied under another phrase's
name, is deleted and made again, never played. That digest, kept in the
entry's header, also names the clip's sound: ``peek`` reads it, and the clip's
length, without the samples. The cache is bounded: after a build, the entries
used longest ago go once it is over its size limit.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

from .clips import SAMPLE_WIDTH, Clip, ClipId
from .files import make_file, remove_file, temporary

log = logging.getLogger(__name__)

_MAGIC = b"VRCLIP2\0"
_HEADER = struct.Struct("<8sI32s")  # magic, sample rate, sha256 of the key and the samples
DEFAULT_LIMIT_MB = 500  # bed-back in one voice and pace is about 20 MB


def default_cache_dir() -> Path:
    """``VOICEROUTINE_CACHE`` if set, else the platform's user cache folder."""
    override = os.environ.get("VOICEROUTINE_CACHE")
    if override:
        return Path(override)
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "voiceroutine" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "voiceroutine"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "voiceroutine"


def phrase_key(engine_key: str, text: str) -> str:
    return hashlib.sha256(f"{engine_key}\n{text}".encode()).hexdigest()


def default_limit_bytes() -> int:
    """``VOICEROUTINE_CACHE_MB`` (whole megabytes) if set and valid, else DEFAULT_LIMIT_MB."""
    value = os.environ.get("VOICEROUTINE_CACHE_MB", "")
    megabytes = int(value) if value.isdigit() else DEFAULT_LIMIT_MB
    return megabytes * 1_000_000


@dataclass(frozen=True)
class CacheInfo:
    root: Path
    entries: int
    size_bytes: int
    limit_bytes: int


def _digest(key: str, samples: bytes) -> bytes:
    digest = hashlib.sha256(key.encode("ascii") + b"\0")
    digest.update(samples)  # not joined to the key: that would copy megabytes
    return digest.digest()


def clip_id(key: str, clip: Clip) -> ClipId:
    """What ``peek`` tells of ``clip`` once it is stored under ``key``."""
    return ClipId(_digest(key, clip.samples).hex(), clip.frames, clip.rate)


def _read_header(header: bytes, samples_size: int) -> tuple[int, bytes] | None:
    """The sample rate and digest an entry's header gives, if it is one of ours and its size fits."""
    if len(header) < _HEADER.size or samples_size < 0 or samples_size % SAMPLE_WIDTH:
        return None
    magic, rate, digest = _HEADER.unpack(header)
    return (rate, digest) if magic == _MAGIC and rate > 0 else None


def _touch(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: kept longest when the cache is trimmed


class PhraseCache:
    def __init__(self, root: Path | None = None, limit_bytes: int | None = None):
        self.root = root or default_cache_dir()
        self.limit_bytes = default_limit_bytes() if limit_bytes is None else limit_bytes
        self.stored = 0  # entries written by this object: when none were, there is nothing to trim

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.clip"

    def get(self, key: str) -> Clip | None:
        path = self._path(key)
        try:
            with open(path, "rb") as f:
                header, samples = f.read(_HEADER.size), f.read()
        except FileNotFoundError:
            return None
        except OSError as e:
            log.warning("cannot read cache entry %s (%s); making it again", path, e)
            return None
        found = _read_header(header, len(samples))
        if found and _digest(key, samples) == found[1]:
            _touch(path)
            return Clip(samples, found[0])
        log.warning("damaged cache entry %s; making it again", path)
        path.unlink(missing_ok=True)
        return None

    def discard(self, key: str) -> None:
        """Remove an entry whose clip turned out unusable, so it is never played again."""
        with contextlib.suppress(OSError):
            self._path(key).unlink(missing_ok=True)

    def peek(self, key: str, *, touch: bool = True) -> ClipId | None:
        """The entry's sound and length, read from its header without the samples (None if absent).

        The samples are not checked: a build that plays this entry reads it with ``get``.
        ``touch``: count the entry as used (a plan only looks).
        """
        path = self._path(key)
        try:
            with open(path, "rb") as f:
                header, size = f.read(_HEADER.size), os.fstat(f.fileno()).st_size
        except OSError:
            return None
        found = _read_header(header, size - _HEADER.size)
        if not found:
            return None
        if touch:
            _touch(path)
        rate, digest = found
        return ClipId(digest.hex(), (size - _HEADER.size) // SAMPLE_WIDTH, rate)

    def put(self, key: str, clip: Clip) -> None:
        """Store ``clip``; a cache that cannot be written only costs speed, so failures are logged."""
        self._store(self._path(key), _HEADER.pack(_MAGIC, clip.rate, _digest(key, clip.samples)), clip.samples)

    def _note_path(self, key: str) -> Path:
        return self.root / "notes" / f"{key}.txt"

    def get_note(self, key: str) -> str | None:
        """A short text stored under ``key`` (a hex digest), e.g. the gain a routine's sounds need."""
        try:
            return self._note_path(key).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None

    def put_note(self, key: str, value: str) -> None:
        self._store(self._note_path(key), value.encode("ascii"))

    def _store(self, path: Path, *parts: bytes) -> None:
        """Write ``parts`` to a temporary file renamed onto ``path``; failures are logged, not raised."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with temporary(lambda: make_file(path.parent, "."), remove_file) as tmp:
                with open(tmp, "wb") as f:
                    for part in parts:
                        f.write(part)
                os.replace(tmp, path)
            self.stored += 1
        except OSError as e:
            log.warning("cannot write to the phrase cache %s (%s)", self.root, e)

    def _entries(self) -> list[tuple[Path, os.stat_result]]:
        found = []
        for path in self.root.glob("??/*.clip"):
            with contextlib.suppress(OSError):
                found.append((path, path.stat()))
        return found

    def info(self) -> CacheInfo:
        entries = self._entries()
        return CacheInfo(self.root, len(entries), sum(stat.st_size for _, stat in entries), self.limit_bytes)

    def trim(self) -> int:
        """Delete the entries used longest ago until the cache is within its limit; returns how many went."""
        entries = sorted(self._entries(), key=lambda entry: entry[1].st_mtime_ns)
        size = sum(stat.st_size for _, stat in entries)
        removed = 0
        for path, stat in entries:
            if size <= self.limit_bytes:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                size -= stat.st_size
                removed += 1
        return removed

    def clear(self) -> int:
        """Delete every entry and leftover temporary file; only files the cache wrote are touched."""
        removed = 0
        for pattern in ("??/*.clip", "??/.*.part", "notes/*.txt", "notes/.*.part"):
            for path in self.root.glob(pattern):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += pattern.endswith(".clip")
        for folder in [*self.root.glob("??"), self.root / "notes"]:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty
        return removed
