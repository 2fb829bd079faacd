"""The chimes that open and close each hold: built-in sets shipped in the package, or the user's own
sounds in any format ffmpeg reads (WAV, MP3, OGG, M4A, FLAC...)."""

from __future__ import annotations

import functools
import subprocess
import wave
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING

from .user_audio import audio_path, decode

if TYPE_CHECKING:
    from .clips import Clip

CHIMES = ("start", "end")
CHIME_SETS = ("soft", "bright", "none")
MIN_CHIME_MS = 50
MAX_CHIME_MS = 3_000
MEASURE_RATE = 44_100  # the rate builds use, so a user's chime measures as long as its clip


@dataclass(frozen=True)
class ChimeSource:
    """Where a chime comes from: a built-in PCM WAV (read by its header, instantly), or the user's file."""

    location: Traversable | Path
    builtin: bool


def _read_wav_length_ms(source: Traversable | Path) -> int:
    with source.open("rb") as f, wave.open(f) as w:
        return round(w.getnframes() * 1000 / w.getframerate())


def _decode(path: Path, rate: int) -> bytes:
    """The chime's audio at ``rate``, cut just past the longest a chime may be."""
    return decode(path, rate, (MAX_CHIME_MS + 100) / 1000)


@functools.lru_cache(maxsize=16)
def _user_length_ms(path: Path, mtime_ns: int, size: int) -> int:
    # Keyed by the file's state: checking the settings and planning measure the same file once.
    decoded_ms = round(len(_decode(path, MEASURE_RATE)) // 2 * 1000 / MEASURE_RATE)
    return (_probed_ms(path) or decoded_ms) if decoded_ms > MAX_CHIME_MS else decoded_ms


def _probed_ms(path: Path) -> int | None:
    """The whole file's length as its container gives it, for saying how much too long it is."""
    command = ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "default=nw=1:nk=1", f"file:{path}"]
    try:
        return round(float(subprocess.run(command, capture_output=True, text=True, check=True).stdout) * 1000)
    except (OSError, ValueError, subprocess.CalledProcessError):
        return None


def _length_of_file(path: Path) -> int:
    state = path.stat()
    return _user_length_ms(path, state.st_mtime_ns, state.st_size)


def check_chime_file(value: object) -> str:
    """A chime file the user named: it must exist, hold audio ffmpeg reads, and last 50 ms to 3 s."""
    path, state = audio_path(value)
    try:
        length = _user_length_ms(path, state.st_mtime_ns, state.st_size)
    except ValueError as e:
        raise ValueError(f"{value}: {e}") from None
    if not MIN_CHIME_MS <= length <= MAX_CHIME_MS:
        raise ValueError(f"{value}: lasts {length} ms; a chime must last {MIN_CHIME_MS} ms to {MAX_CHIME_MS // 1000} s")
    return str(path)


def chime_sources(chimes: str, start: str | None = None, end: str | None = None) -> dict[str, ChimeSource]:
    """Where each chime comes from: the user's file, else the set's WAV. "none": no chimes at all."""
    if chimes == "none":
        return {}
    package = resources.files("voiceroutine._sounds")
    custom = {"start": start, "end": end}
    return {
        name: ChimeSource(Path(custom[name]), False) if custom[name] else ChimeSource(package.joinpath(f"{chimes}-{name}.wav"), True)
        for name in CHIMES
    }


def chime_lengths_ms(sources: dict[str, ChimeSource]) -> dict[str, int]:
    """Length of each chime: built-in ones from their WAV headers (no decoding, so plans stay instant)."""
    return {
        name: _read_wav_length_ms(source.location) if source.builtin else _length_of_file(source.location)
        for name, source in sources.items()
    }


def load_chimes(sources: dict[str, ChimeSource], sample_rate: int) -> dict[str, Clip]:
    """Every chime as a mono clip at ``sample_rate``; the user's decoded by ffmpeg from whatever format."""
    from .clips import Clip, clip_from_wav, resample

    return {
        name: resample(clip_from_wav(source.location.read_bytes()), sample_rate)
        if source.builtin
        else Clip(_decode(source.location, sample_rate), sample_rate)
        for name, source in sources.items()
    }
