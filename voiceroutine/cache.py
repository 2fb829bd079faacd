"""A content-addressed cache of synthesised phrases.

Each entry is one clip, stored under sha256(engine key + text), written to a
temporary name and renamed into place, and checked against its own digest when
read: a damaged entry is deleted and made again, never played.
"""

from __future__ import annotations

import hashlib
import logging
import os
import struct
import sys
import tempfile
from pathlib import Path

from .clips import Clip

log = logging.getLogger(__name__)

_MAGIC = b"VRCLIP1\0"
_HEADER = struct.Struct("<8sI32s")  # magic, sample rate, sha256 of the samples


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


class PhraseCache:
    def __init__(self, root: Path | None = None):
        self.root = root or default_cache_dir()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.clip"

    def get(self, key: str) -> Clip | None:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            log.warning("cannot read cache entry %s (%s); making it again", path, e)
            return None
        if len(data) >= _HEADER.size:
            magic, rate, digest = _HEADER.unpack_from(data)
            samples = data[_HEADER.size :]
            if magic == _MAGIC and rate > 0 and hashlib.sha256(samples).digest() == digest:
                return Clip(samples, rate)
        log.warning("damaged cache entry %s; making it again", path)
        path.unlink(missing_ok=True)
        return None

    def put(self, key: str, clip: Clip) -> None:
        """Store ``clip``; a cache that cannot be written only costs speed, so failures are logged."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(_HEADER.pack(_MAGIC, clip.rate, hashlib.sha256(clip.samples).digest()))
                    f.write(clip.samples)
                os.replace(tmp, path)
            finally:
                Path(tmp).unlink(missing_ok=True)
        except OSError as e:
            log.warning("cannot write to the phrase cache %s (%s)", self.root, e)
