"""Fit to a length: scale every hold by one factor so the routine lasts the time asked for.

Only holds change (each kept within 1 s to 10 min); speech, pauses and rests
stay as they are. Length grows with the holds, so a bisection on the factor
finds it, measured with the same script builder the build uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from .durations import format_clock, format_duration
from .errors import RoutineError
from .routine import HOLD_RANGE_MS, Routine
from .script import SpeechLength, build_script
from .settings import Settings

TOLERANCE_MS = 1_000


def scale_holds(routine: Routine, factor: float) -> Routine:
    low, high = HOLD_RANGE_MS
    return replace(
        routine,
        stretches=tuple(replace(s, hold_ms=min(high, max(low, round(s.hold_ms * factor)))) for s in routine.stretches),
    )


def fit_to_length(routine: Routine, settings: Settings, speech_ms: SpeechLength, chime_ms: Mapping[str, int]) -> Routine:
    """``routine`` with its holds scaled so it lasts ``settings.length_ms`` (within a second).

    Raises:
        RoutineError: the length cannot be reached; the message gives the shortest and longest.
    """
    target = settings.length_ms

    def length(factor: float) -> int:
        return build_script(scale_holds(routine, factor), settings, speech_ms, chime_ms).duration_ms

    low, high = 0.0, HOLD_RANGE_MS[1] / HOLD_RANGE_MS[0]
    shortest, longest = length(low), length(high)
    if not shortest - TOLERANCE_MS <= target <= longest + TOLERANCE_MS:
        raise RoutineError(
            f"{format_duration(target)} is out of reach: with holds of 1s to 10m this routine lasts "
            f"{format_clock(shortest)} to {format_clock(longest)}",
            # Named where the length was set: the routine file's [settings], or the option.
            **(
                {"source": routine.source, "field": "settings.length"}
                if routine.settings.get("length_ms") == target
                else {"source": "--length"}
            ),
        )
    best_factor, best_error = min((abs(shortest - target), low), (abs(longest - target), high))[::-1]
    for _ in range(60):
        if best_error <= 1:
            break
        middle = (low + high) / 2
        measured = length(middle)
        if abs(measured - target) < best_error:
            best_factor, best_error = middle, abs(measured - target)
        if measured < target:
            low = middle
        else:
            high = middle
    return scale_holds(routine, best_factor)
