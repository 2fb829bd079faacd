"""Value checks shared by routine files and command-line options.

Each returns the checked value or raises ValueError with a message that says
what was expected; the caller adds where (a file and field, or an option).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from .durations import format_duration, parse_duration

_UNSPOKEN = {"Cc", "Cf", "Cs", "Co", "Cn"}  # controls, format marks, surrogates, private use, unassigned
_PHONEME_BRACKETS = re.compile(r"\[{2,}|\]{2,}")


def describe(value: object) -> str:
    """A short phrase for what the user wrote, for "expected X, got Y" messages."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def duration_in(value: object, bounds: tuple[int, int]) -> int:
    """A duration (see ``parse_duration``) within ``bounds``, in ms."""
    ms = parse_duration(value)
    low, high = bounds
    if not low <= ms <= high:
        raise ValueError(f"{format_duration(ms)} is out of range ({format_duration(low)} to {format_duration(high)})")
    return ms


def durations_in(value: object, bounds: tuple[int, int]) -> tuple[int, ...]:
    """Durations as a list or comma-separated text ("30s,10s"), each within ``bounds``, longest first."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError(f'expected durations like ["30s", "10s"], got {describe(value)}')
    items = [item for item in items if not (isinstance(item, str) and not item.strip())]
    return tuple(sorted({duration_in(item, bounds) for item in items}, reverse=True))


def whole_number_in(value: object, bounds: tuple[int, int]) -> int:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number from {low} to {high}, got {describe(value)}")
    if not low <= value <= high:
        raise ValueError(f"{value} is out of range ({low} to {high})")
    return value


def number_in(value: object, bounds: tuple[float, float]) -> float:
    """A number (or numeric text, as options arrive) within ``bounds``."""
    low, high = bounds
    try:
        number = float(value) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else None
    except ValueError:
        number = None
    except OverflowError:  # a whole number too long for a float: far out of any range
        raise ValueError(f"out of range ({low:g} to {high:g})") from None
    if number is None or number != number:
        raise ValueError(f"expected a number from {low:g} to {high:g}, got {describe(value)}")
    if not low <= number <= high:
        raise ValueError(f"{number:g} is out of range ({low:g} to {high:g})")
    return number


def one_of(value: object, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        quoted = ", ".join(f'"{c}"' for c in choices)
        raise ValueError(f"expected one of {quoted}, got {describe(value)}")
    return value


def speakable(value: str) -> str:
    """Text safe to hand a speech engine: no control or format characters (NUL, escapes,
    bidirectional overrides, lone surrogates), no ``[[phoneme]]`` markup (Piper reads it
    as raw phonemes), and white space folded to single spaces."""
    kept = "".join(" " if unicodedata.category(c) in _UNSPOKEN else c for c in value)
    return " ".join(_PHONEME_BRACKETS.sub(lambda m: m.group(0)[0], kept).split())


def text(value: object, max_len: int) -> str:
    """Speakable text (see ``speakable``), non-empty and at most ``max_len`` long."""
    if not isinstance(value, str):
        raise ValueError(f"expected text in quotes, got {describe(value)}")
    folded = speakable(value)
    if not folded:
        raise ValueError("must not be empty")
    if len(folded) > max_len:
        raise ValueError(f"too long ({len(folded)} characters; at most {max_len})")
    return folded



def flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {describe(value)}")
    return value
