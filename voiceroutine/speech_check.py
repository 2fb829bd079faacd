"""Is this clip really the phrase spoken? A check every clip passes before it is cached or played.

Under load the espeak driver has handed back a WAV with no samples, and nothing
raised: the phrase was silent in the file, and the cache kept it so. A clip is
refused when it has almost no sound, or when it is far too short for its words
(measured on both engines: no phrase of bed-back took under 0.7 of its words'
time at the rate asked for, so under 0.35 means speech is missing).
"""

from __future__ import annotations

import re

from .clips import Clip

MIN_SHARE_OF_WORDS = 0.35
MIN_AUDIBLE_MS = 60  # even "One." has a few hundred milliseconds of sound
AUDIBLE_DBFS = -40.0  # a 10 ms window louder than this counts as sound
WINDOW_MS = 10

_WORD = re.compile(r"\w+")


def words_in(text: str) -> int:
    return len(_WORD.findall(text))


def length_problem(text: str, frames: int, sample_rate: int, rate_wpm: int) -> str | None:
    """Why a clip of ``frames`` cannot be ``text`` said at ``rate_wpm``, or None when its length is plausible."""
    if frames <= 0:
        return "no sound at all"
    shortest_ms = MIN_SHARE_OF_WORDS * words_in(text) * 60_000 / rate_wpm
    length_ms = frames * 1000 / sample_rate
    if length_ms < shortest_ms:
        return f"only {length_ms:.0f} ms of sound for {words_in(text)} words"
    return None


def audible_ms(clip: Clip) -> int:
    """How many milliseconds of ``clip`` are louder than AUDIBLE_DBFS, in 10 ms windows."""
    import numpy as np

    samples = np.frombuffer(clip.samples, dtype="<i2").astype(np.float32) / 32768
    window = max(1, clip.rate * WINDOW_MS // 1000)
    usable = len(samples) // window * window
    if not usable:
        return 0
    power = np.mean(np.square(samples[:usable].reshape(-1, window)), axis=1)
    loud = power > 10 ** (AUDIBLE_DBFS / 10)
    return int(np.count_nonzero(loud)) * WINDOW_MS


def speech_problem(text: str, clip: Clip, rate_wpm: int) -> str | None:
    """Why ``clip`` cannot be ``text`` spoken at ``rate_wpm`` (silent, or far too short), or None if it can."""
    problem = length_problem(text, clip.frames, clip.rate, rate_wpm)
    if problem:
        return problem
    if audible_ms(clip) < MIN_AUDIBLE_MS:
        return "no audible speech"
    return None
