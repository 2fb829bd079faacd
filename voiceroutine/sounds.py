"""The chimes that open and close each hold, shipped inside the package."""

from __future__ import annotations

import wave
from importlib import resources

from .clips import Clip, clip_from_wav, resample

CHIMES = ("start", "end")


def _chime_file(name: str):
    return resources.files("voiceroutine._sounds").joinpath(f"{name}.wav")


def chime_lengths_ms() -> dict[str, int]:
    """Length of each chime, read from the WAV headers (no decoding, so plans stay instant)."""
    lengths = {}
    for name in CHIMES:
        with _chime_file(name).open("rb") as f, wave.open(f) as w:
            lengths[name] = round(w.getnframes() * 1000 / w.getframerate())
    return lengths


def load_chimes(sample_rate: int) -> dict[str, Clip]:
    """Every chime as a clip at ``sample_rate``."""
    return {name: resample(clip_from_wav(_chime_file(name).read_bytes()), sample_rate) for name in CHIMES}
