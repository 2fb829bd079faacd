"""Durations: parsing user text into milliseconds, and writing them back out."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voiceroutine.durations import format_clock, format_duration, parse_duration

# --- parse_duration ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ms"),
    [
        (0, 0),
        (30, 30_000),
        (1.5, 1_500),
        (0.25, 250),
        (90.0, 90_000),
    ],
)
def test_parse_duration_reads_numbers_as_seconds(value, ms):
    assert parse_duration(value) == ms


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("30", 30_000),
        ("1.5", 1_500),
        ("30s", 30_000),
        ("45s", 45_000),
        ("2m", 120_000),
        ("1m30s", 90_000),
        ("1.5s", 1_500),
        ("500ms", 500),
        ("2h", 7_200_000),
        ("1h2m3s", 3_723_000),
        ("1h2m3s4ms", 3_723_004),
        ("1s500ms", 1_500),
        ("0s", 0),
    ],
)
def test_parse_duration_reads_text(text, ms):
    assert parse_duration(text) == ms


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("  30s  ", 30_000),
        ("\t30\n", 30_000),
        ("1m 30s", 90_000),
        ("1 m 30 s", 90_000),
        ("30S", 30_000),
        ("1M30S", 90_000),
        ("500MS", 500),
        ("2H", 7_200_000),
    ],
)
def test_parse_duration_tolerates_whitespace_and_case(text, ms):
    assert parse_duration(text) == ms


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        -1,
        -0.5,
        "-30s",
        "thirty",
        "30x",
        "s",
        "",
        "   ",
        "1s1m",  # parts out of order
        "1m1m",  # the same unit twice
        "1m30",  # a trailing number without a unit
        "1.5.5s",
        "30 seconds",
        None,
        [30],
        ["30s"],
        {"s": 30},
        math.nan,
        math.inf,
        -math.inf,
        "nan",
        "inf",
    ],
    ids=repr,
)
def test_parse_duration_rejects(value):
    with pytest.raises(ValueError, match="expected a duration like") as info:
        parse_duration(value)
    # The message also shows what was given.
    assert repr(value) in str(info.value)


# --- format_duration ---------------------------------------------------------


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0s"),
        (500, "0.5s"),
        (30_000, "30s"),
        (60_000, "1m"),
        (90_500, "1m30.5s"),
        (3_600_000, "1h"),
        (3_660_000, "1h1m"),
        (3_723_000, "1h2m3s"),
        (3_600_500, "1h0.5s"),
    ],
)
def test_format_duration(ms, text):
    assert format_duration(ms) == text


# --- format_clock ------------------------------------------------------------


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0:00.0"),
        (1_000, "0:01.0"),
        (59_900, "0:59.9"),
        (60_000, "1:00.0"),
        (61_200, "1:01.2"),
        (599_900, "9:59.9"),
        (3_599_900, "59:59.9"),
        (3_600_000, "1:00:00.0"),
        (3_723_000, "1:02:03.0"),
        (36_000_000, "10:00:00.0"),
    ],
)
def test_format_clock(ms, text):
    assert format_clock(ms) == text


def test_format_clock_rounds_to_tenths_and_carries_into_minutes():
    assert format_clock(1_240) == "0:01.2"
    assert format_clock(1_260) == "0:01.3"
    assert format_clock(59_960) == "1:00.0"


# --- properties --------------------------------------------------------------


@given(st.integers(min_value=0, max_value=10**7))
def test_milliseconds_text_parses_exactly(ms):
    assert parse_duration(f"{ms}ms") == ms


@given(st.integers(min_value=0, max_value=10**7))
def test_format_duration_round_trips(ms):
    assert parse_duration(format_duration(ms)) == ms
