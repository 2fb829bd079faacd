"""The chimes that open and close each hold: built-in sets shipped in the package, or the user's WAVs."""

from __future__ import annotations

import wave
from importlib import resources
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .clips import Clip

CHIMES = ("start", "end")
CHIME_SETS = ("soft", "bright", "none")
MAX_CHIME_MS = 3_000


def _read_wav_length_ms(source) -> int:
    with source.open("rb") as f, wave.open(f) as w:
        return round(w.getnframes() * 1000 / w.getframerate())


def check_chime_file(value: object) -> str:
    """A chime WAV the user named: it must exist, be PCM WAV, and last 50 ms to 3 s."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected the path of a WAV file")
    path = Path(value).expanduser()
    try:
        length = _read_wav_length_ms(path)
    except FileNotFoundError:
        raise ValueError(f"{value}: file not found") from None
    except (OSError, EOFError, wave.Error) as e:
        raise ValueError(f"{value}: not a PCM WAV file ({e})") from None
    if not 50 <= length <= MAX_CHIME_MS:
        raise ValueError(f"{value}: lasts {length} ms; a chime must last 50 ms to {MAX_CHIME_MS // 1000} s")
    return str(path)


def chime_sources(chimes: str, start: str | None = None, end: str | None = None) -> dict:
    """Where each chime's WAV comes from: the user's file, else the set's. "none": no chimes at all."""
    if chimes == "none":
        return {}
    package = resources.files("voiceroutine._sounds")
    custom = {"start": start, "end": end}
    return {name: Path(custom[name]) if custom[name] else package.joinpath(f"{chimes}-{name}.wav") for name in CHIMES}


def chime_lengths_ms(sources: dict) -> dict[str, int]:
    """Length of each chime, read from the WAV headers (no decoding, so plans stay instant)."""
    return {name: _read_wav_length_ms(source) for name, source in sources.items()}


def load_chimes(sources: dict, sample_rate: int) -> dict[str, Clip]:
    from .clips import clip_from_wav, resample

    """Every chime as a clip at ``sample_rate``."""
    return {name: resample(clip_from_wav(source.read_bytes()), sample_rate) for name, source in sources.items()}
