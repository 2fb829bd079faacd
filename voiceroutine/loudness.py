"""Loudness: measure what the listener will hear and set the gain that brings it to the target.

Phones expect spoken word at about -16 LUFS with true peaks at most -1 dBTP.
Silence does not count in integrated loudness (EBU R128 gating), so the sounds
are measured with the silence between them cut to one second: every 400 ms
gating block that touches a sound is the same as in the full timeline, so the
figure is the same, in a fraction of the time for routines that are mostly holds. A lookahead limiter (with its
delay compensated, so timing is untouched) keeps the peaks down after the gain.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping

from .clips import Clip
from . import ffmpeg
from .errors import EncoderError
from .ffmpeg import feed
from .render import sounds
from .script import Script

TARGET_LUFS = -16.0
LOUDNESS_RANGE = (-30.0, -10.0)
# Sample-peak ceiling: with the encoder's overshoot the true peak stays below -1 dBTP.
PEAK_CEILING_DBFS = -2.0

_INTEGRATED = re.compile(r"I:\s+(-?[\d.]+|-inf|nan) LUFS")


def audible(script: Script, clips: Mapping[str, Clip], chimes: Mapping[str, Clip], rate: int) -> Iterator[bytes]:
    """Every speech and chime of the script in time order, with at most a second of silence before each."""
    heard_until = 0
    for event, clip in sounds(script, clips, chimes):
        silence_ms = min(max(event.start_ms - heard_until, 0), 1000)
        yield bytes(silence_ms * rate // 1000 * 2)
        yield clip.samples
        heard_until = max(heard_until, event.start_ms + clip.duration_ms)


def measure_lufs(blocks: Iterable[bytes], rate: int, filters: Iterable[str] = ()) -> float | None:
    """Integrated loudness of mono PCM, after ``filters``, as heard on headphones (dual mono); None for silence."""
    command = [
        "ffmpeg", "-hide_banner", "-nostats", "-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0",
        "-af", ",".join([*filters, "ebur128=dualmono=true:framelog=verbose"]), "-f", "null", "-",
    ]  # fmt: skip
    process = ffmpeg.start(command, stderr=subprocess.PIPE)
    with process:
        feed(process, blocks)
        report = process.stderr.read().decode(errors="replace")
    if process.returncode != 0:
        raise EncoderError(f"ffmpeg could not measure loudness: {report.strip().splitlines()[-1:]}")
    found = _INTEGRATED.findall(report)
    value = float(found[-1]) if found else float("nan")
    return value if value > -70 else None


def _filters(gain_db: float) -> list[str]:
    ceiling = 10 ** (PEAK_CEILING_DBFS / 20)
    return [f"volume={gain_db:.2f}dB", f"alimiter=limit={ceiling:.4f}:level=false:latency=true"]


def loudness_filters(sounds: Callable[[], Iterable[bytes]], rate: int, target_lufs: float) -> list[str]:
    """ffmpeg filters that bring ``sounds`` to ``target_lufs`` with the peaks held down.

    The limiter takes a little loudness off the peaks, so the result is measured
    once more and the gain corrected by the difference.
    """
    measured = measure_lufs(sounds(), rate)
    if measured is None:
        return []
    gain = target_lufs - measured
    limited = measure_lufs(sounds(), rate, _filters(gain))
    return _filters(gain + target_lufs - limited) if limited is not None else _filters(gain)
