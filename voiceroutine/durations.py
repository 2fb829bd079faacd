"""Durations: read "30", "30s", "1m30s" or 90 as milliseconds, and write them for tables and messages.

How a duration is said aloud depends on the language: see language.py."""

from __future__ import annotations

import math
import re

_UNIT_MS = {"h": 3_600_000, "m": 60_000, "s": 1_000, "ms": 1}
_UNIT_ORDER = ("h", "m", "s", "ms")
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|h|m|s)")
_PLAIN_NUMBER = re.compile(r"\d+(?:\.\d+)?")

EXAMPLE = '"30s" or "1m30s"'


def parse_duration(value: object) -> int:
    """Return ``value`` in whole milliseconds.

    A bare number (int, float or numeric string) counts seconds. Strings may join
    parts in the order h, m, s, ms: "1m30s", "2m", "45s", "1.5s", "500ms".

    Raises:
        ValueError: with a message saying what was expected and what was given.
    """
    wrong = ValueError(f"expected a duration like {EXAMPLE}, got {value!r}")
    if isinstance(value, bool):
        raise wrong
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0 or value > 1e9:
            raise wrong
        return round(value * 1000)
    if not isinstance(value, str):
        raise wrong
    text = value.strip().lower()
    if _PLAIN_NUMBER.fullmatch(text):
        return parse_duration(float(text))
    total = 0.0
    position = 0
    last_unit = -1
    for match in _PART.finditer(text):
        if match.start() != position:
            raise wrong
        unit_index = _UNIT_ORDER.index(match.group(2))
        if unit_index <= last_unit:
            raise wrong
        last_unit = unit_index
        total += float(match.group(1)) * _UNIT_MS[match.group(2)]
        position = match.end()
    if position == 0 or text[position:].strip() or total > 1e12:
        raise wrong
    return round(total)


def format_duration(ms: int) -> str:
    """Compact form for tables and messages: 30000 -> "30s", 90500 -> "1m30.5s"."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds = rest / 1000
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if seconds or not parts:
        parts.append(f"{seconds:g}s")
    return "".join(parts)


def format_clock(ms: int) -> str:
    """Timestamp for a timeline: 61200 -> "1:01.2", 3723000 -> "1:02:03.0"."""
    tenths = round(ms / 100)
    minutes, tenths = divmod(tenths, 600)
    hours, minutes = divmod(minutes, 60)
    seconds = f"{tenths // 10:02d}.{tenths % 10}"
    return f"{hours}:{minutes:02d}:{seconds}" if hours else f"{minutes}:{seconds}"
