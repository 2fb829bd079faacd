"""Clips: mono 16-bit PCM at a known rate, and the pydub conversions that make them."""

from __future__ import annotations

import io
from dataclasses import dataclass

SAMPLE_WIDTH = 2  # bytes: signed 16-bit little-endian throughout


class _Timed:
    """A length in frames at a sample rate, told in milliseconds."""

    frames: int
    rate: int

    @property
    def duration_ms(self) -> int:
        return round(self.frames * 1000 / self.rate)


@dataclass(frozen=True)
class Clip(_Timed):
    samples: bytes  # signed 16-bit little-endian, mono
    rate: int

    @property
    def frames(self) -> int:
        return len(self.samples) // SAMPLE_WIDTH


@dataclass(frozen=True)
class ClipId(_Timed):
    """A clip known by what it sounds like and how long it is, without its samples.

    Enough to lay out a routine and to find the clips an earlier build leveled,
    so a rebuild never reads what the engine spoke.
    """

    digest: str  # sha256 of the samples (and, for a spoken phrase, its cache key), in hex
    frames: int
    rate: int


def _segment(clip: Clip):
    from pydub import AudioSegment

    return AudioSegment(data=clip.samples, sample_width=SAMPLE_WIDTH, frame_rate=clip.rate, channels=1)


def clip_from_wav(data: bytes) -> Clip:
    """Decode a WAV file's bytes to a mono 16-bit clip at the file's own rate."""
    from pydub import AudioSegment

    segment = AudioSegment.from_wav(io.BytesIO(data)).set_channels(1).set_sample_width(SAMPLE_WIDTH)
    return Clip(segment.raw_data, segment.frame_rate)


def resample(clip: Clip, rate: int) -> Clip:
    """The clip at ``rate``, through soxr's band-limited resampler, in this process.

    (pydub's linear interpolation leaves mirror images of the voice above the
    engine's band, heard as a hiss.) Measured on white noise from 22.05 to
    44.1 kHz, what lands above the engine's band is 85 dB down, at the floor of
    16-bit samples; ffmpeg's resampler with the settings used before left
    -52 dB, with its defaults -32 dB.
    """
    if clip.rate == rate:
        return clip
    import numpy as np
    import soxr

    samples = np.frombuffer(clip.samples, dtype="<i2")
    return Clip(soxr.resample(samples, clip.rate, rate, quality="HQ").astype("<i2").tobytes(), rate)


def trim_silence(clip: Clip, *, threshold_dbfs: float = -50.0, lead_ms: int = 10, tail_ms: int = 40) -> Clip:
    """Cut the engine's leading and trailing silence, keeping short margins.

    The timeline owns every pause, so a phrase's event starts within a few
    milliseconds of its first sound; the longer tail keeps the last sound's decay.
    """
    from pydub.silence import detect_leading_silence

    segment = _segment(clip)
    lead = detect_leading_silence(segment, silence_threshold=threshold_dbfs)
    trail = detect_leading_silence(segment.reverse(), silence_threshold=threshold_dbfs)
    if lead >= len(segment):
        return clip
    start = max(0, lead - lead_ms)
    end = min(len(segment), len(segment) - trail + tail_ms)
    return Clip(segment[start:end].raw_data, clip.rate)
