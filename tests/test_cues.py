"""Cues inside a hold (voiceroutine.cues): which ones each guidance level asks for, and where they fit.

Holds here start at 100 s, not 0, so a mix-up of absolute and relative times shows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from voiceroutine.language import load_language
from voiceroutine import Settings, Stretch
from voiceroutine.cues import (
    CHIME_MARGIN_MS,
    CUE_GAP_MS,
    Cue,
    DroppedCue,
    PlacedCue,
    hold_cues,
    place_cues,
)

START = 100_000
CHIME = 900  # the start chime
TIPS = ("Keep the knee straight.", "Let your head rest.", "Breathe slowly.")
STRETCH = Stretch("hamstring", "Hamstring stretch", ("Lie down.",), 30_000, "both", 1, 10_000, 5_000, 4_000, ("left leg", "right leg"), tips=TIPS)

ENGLISH = load_language("en")


def hold(length: int) -> tuple[int, int]:
    return START, START + length


def window(length: int, opening: int = CHIME) -> tuple[int, int]:
    """The free time of a hold: after the start chime and the margin, until the margin before the end chime."""
    return START + opening + CHIME_MARGIN_MS, START + length - CHIME_MARGIN_MS


def cues_for(length: int, **settings) -> list[Cue]:
    return hold_cues(replace(STRETCH, hold_ms=length), replace(Settings(), **settings), *hold(length), ENGLISH)


def by_kind(cues: list[Cue]) -> dict[str, list[tuple[str, int, int]]]:
    found: dict[str, list[tuple[str, int, int]]] = {}
    for cue in sorted(cues, key=lambda c: c.at_ms):
        found.setdefault(cue.kind, []).append((cue.text, cue.at_ms, cue.slack_ms))
    return found


def lengths(table: dict[str, int], default: int = 500):
    return lambda text: table.get(text, default)


def place(cues: list[Cue], speech_ms, length: int, opening: int = CHIME):
    return place_cues(cues, speech_ms, window(length, opening), hold(length))


def placed_as(placed: list[PlacedCue]) -> list[tuple[str, int, int]]:
    return [(p.text, p.start_ms - START, p.end_ms - START) for p in placed]


def reasons(dropped: list[tuple[Cue, str]]) -> list[tuple[str, str]]:
    return [(cue.text, reason) for cue, reason in dropped]


# ---------------------------------------------------------------- hold_cues: what each level asks for


def test_minimal_guidance_asks_for_nothing():
    assert cues_for(30_000, guidance="minimal") == []
    assert cues_for(600_000, guidance="minimal", time_left_ms=(60_000, 10_000), breathe_every_ms=5_000) == []


def test_standard_guidance_asks_for_time_left_and_halfway_only():
    cues = cues_for(30_000, guidance="standard")
    assert by_kind(cues) == {
        "time-left": [("Ten seconds left.", START + 20_000, 0)],
        "halfway": [("Halfway.", START + 15_000, 2_000)],  # it may come up to 2 s early
    }
    # Each mark, before the hold's end; halfway rounds down on odd lengths.
    cues = cues_for(95_001, guidance="standard", time_left_ms=(90_000, 60_000, 5_000))
    assert by_kind(cues) == {
        "time-left": [
            ("One minute and thirty seconds left.", START + 5_001, 0),
            ("One minute left.", START + 35_001, 0),
            ("Five seconds left.", START + 90_001, 0),
        ],
        "halfway": [("Halfway.", START + 47_500, 2_000)],
    }
    assert by_kind(cues_for(30_000, guidance="standard", time_left_ms=())) == {"halfway": [("Halfway.", START + 15_000, 2_000)]}
    # On a short hold, a tenth of it.
    assert by_kind(cues_for(8_000, guidance="standard", time_left_ms=()))["halfway"] == [("Halfway.", START + 4_000, 800)]


def test_full_guidance_adds_countdown_tips_and_breathing():
    cues = cues_for(40_000, guidance="full", breathe_every_ms=15_000)
    assert by_kind(cues) == {
        "countdown": [("Three.", START + 37_000, 0), ("Two.", START + 38_000, 0), ("One.", START + 39_000, 0)],
        "time-left": [("Ten seconds left.", START + 30_000, 0)],
        "halfway": [("Halfway.", START + 20_000, 2_000)],
        # Spread evenly: a quarter, a half and three quarters in; each may slide half a spacing.
        "tip": [(TIPS[0], START + 10_000, 5_000), (TIPS[1], START + 20_000, 5_000), (TIPS[2], START + 30_000, 5_000)],
        # Every breathe_every from the start, never at the end itself; each may slide half the period.
        "breathe": [("Breathe in... and out.", START + 15_000, 7_500), ("Breathe in... and out.", START + 30_000, 7_500)],
    }


def test_full_guidance_breathing_stops_before_the_end_and_tips_follow_the_stretch():
    cues = by_kind(cues_for(45_000, guidance="full", breathe_every_ms=15_000))
    assert [at - START for _, at, _ in cues["breathe"]] == [15_000, 30_000]  # not at 45 s, the end
    assert [at - START for _, at, _ in by_kind(cues_for(45_001, guidance="full", breathe_every_ms=15_000))["breathe"]] == [
        15_000,
        30_000,
        45_000,
    ]
    # A hold no longer than breathe_every still asks for one prompt (so the phrases a routine
    # may say do not depend on hold lengths); where it cannot fit, it is dropped with the reason.
    for length in (5_000, 15_000):
        assert [(text, slack) for text, _, slack in by_kind(cues_for(length, guidance="full", breathe_every_ms=15_000))["breathe"]] == [
            ("Breathe in... and out.", 7_500)
        ]
    breathe = [c for c in cues_for(5_000, guidance="full", breathe_every_ms=15_000) if c.kind == "breathe"]
    assert place(breathe, lengths({}), 5_000) == ([], [(breathe[0], "the hold is only 5s")])
    one_tip = hold_cues(replace(STRETCH, tips=("Relax.",)), replace(Settings(), guidance="full"), *hold(30_000), ENGLISH)
    assert by_kind(one_tip)["tip"] == [("Relax.", START + 15_000, 7_500)]
    no_tips = hold_cues(replace(STRETCH, tips=()), replace(Settings(), guidance="full"), *hold(30_000), ENGLISH)
    assert "tip" not in by_kind(no_tips)


def test_cues_are_asked_for_even_when_they_cannot_fit():
    """hold_cues lists them all; place_cues decides, so dropped cues are reported."""
    kinds = Counter(c.kind for c in cues_for(2_000, guidance="full", time_left_ms=(10_000,)))
    assert kinds == {"countdown": 3, "time-left": 1, "halfway": 1, "tip": 3, "breathe": 1}


def test_time_left_words():
    assert [ENGLISH.time_left(ms) for ms in (1_000, 10_000, 10_400, 30_000, 60_000, 90_000, 125_000)] == [
        "One second left.",
        "Ten seconds left.",
        "Ten seconds left.",
        "Thirty seconds left.",
        "One minute left.",
        "One minute and thirty seconds left.",
        "Two minutes and five seconds left.",
    ]


# ---------------------------------------------------------------- place_cues: where they fit


def test_cues_that_fit_start_on_their_marks():
    cues = cues_for(30_000, guidance="standard")
    placed, dropped = place(cues, lengths({"Halfway.": 800, "Ten seconds left.": 1_500}), 30_000)
    assert dropped == []
    assert placed_as(placed) == [("Halfway.", 15_000, 15_800), ("Ten seconds left.", 20_000, 21_500)]
    assert [(p.kind, p.text) for p in placed] == [("halfway", "Halfway."), ("time-left", "Ten seconds left.")]


def test_halfway_moves_just_before_time_left_when_they_clash():
    """On a 20 s hold both fall ten seconds in: time left keeps its mark, halfway comes just before it."""
    cues = cues_for(20_000, guidance="standard")
    for order in (cues, cues[::-1]):
        placed, dropped = place(order, lengths({"Halfway.": 700, "Ten seconds left.": 1_300}), 20_000)
        assert dropped == []
        assert placed_as(placed) == [("Halfway.", 10_000 - CUE_GAP_MS - 700, 10_000 - CUE_GAP_MS), ("Ten seconds left.", 10_000, 11_300)]


def test_time_left_wins_over_halfway_when_halfway_cannot_come_early_enough():
    cues = cues_for(20_000, guidance="standard")
    for order in (cues, cues[::-1]):
        # "Halfway." would have to start 2.001 s early, past its slack of 2 s; it never moves later.
        placed, dropped = place(order, lengths({"Halfway.": 1_601, "Ten seconds left.": 500}), 20_000)
        assert placed_as(placed) == [("Ten seconds left.", 10_000, 10_500)]
        assert reasons(dropped) == [("Halfway.", "would overlap 'Ten seconds left.'")]
        assert dropped[0][0] == Cue("halfway", "Halfway.", START + 10_000, 2_000, early_only=True)


@pytest.mark.parametrize(
    ("halfway_at", "fits"),
    [
        (10_000 + 1_000 + CUE_GAP_MS, True),  # the gap after "A."
        (10_000 + 1_000 + CUE_GAP_MS - 1, False),
        (10_000 - CUE_GAP_MS - 1_000, True),  # the gap before it
        (10_000 - CUE_GAP_MS - 1_000 + 1, False),
    ],
)
def test_cues_keep_the_gap_between_them(halfway_at, fits):
    cues = [Cue("time-left", "A.", START + 10_000), Cue("halfway", "B.", START + halfway_at)]
    placed, dropped = place(cues, lambda text: 1_000, 60_000)
    if fits:
        assert dropped == [] and len(placed) == 2
        first, second = placed
        assert second.start_ms - first.end_ms >= CUE_GAP_MS
    else:
        assert placed_as(placed) == [("A.", 10_000, 11_000)]
        assert reasons(dropped) == [("B.", "would overlap 'A.'")]


def test_the_countdown_fits_exactly_when_its_last_word_ends_at_the_window_end():
    cues = cues_for(30_000, guidance="full", time_left_ms=())
    speech = lengths({"One.": 700}, default=400)  # "One." at end-1000 ends at end-300: the window's end
    placed, dropped = place([c for c in cues if c.kind == "countdown"], speech, 30_000)
    assert dropped == []
    assert placed_as(placed) == [("Three.", 27_000, 27_400), ("Two.", 28_000, 28_400), ("One.", 29_000, 29_700)]
    assert placed[-1].end_ms == window(30_000)[1]


def test_the_countdown_goes_in_whole_or_not_at_all():
    cues = cues_for(30_000, guidance="full", time_left_ms=(2_000,))
    speech = lengths({"One.": 701, "Two seconds left.": 1_000}, default=400)
    placed, dropped = place(cues, speech, 30_000)
    countdown = [(c.text, r) for c, r in dropped if c.kind == "countdown"]
    why = "the countdown does not fit: 'One.' runs 0.001s into the end of the hold"
    assert countdown == [("Three.", why), ("Two.", why), ("One.", why)]
    assert not [p for p in placed if p.kind == "countdown"], "part of a countdown was kept"
    # The room it would have taken is free for the rest: two seconds left fits where "Two." would be.
    assert ("Two seconds left.", 28_000, 29_000) in placed_as(placed)


def test_countdown_words_may_sit_closer_but_not_overlap():
    countdown = [c for c in cues_for(30_000, guidance="full") if c.kind == "countdown"]
    placed, dropped = place(countdown, lengths({"Three.": 900}), 30_000)  # ends 100 ms before "Two."
    assert dropped == [] and [p.text for p in placed] == ["Three.", "Two.", "One."]
    placed, dropped = place(countdown, lengths({"Three.": 901}), 30_000)
    assert placed == []
    assert reasons(dropped) == [(word, "the countdown does not fit: 'Two.' would overlap 'Three.'") for word in ("Three.", "Two.", "One.")]


def test_no_countdown_in_a_hold_shorter_than_it():
    countdown = [c for c in cues_for(2_500, guidance="full") if c.kind == "countdown"]
    placed, dropped = place(countdown, lengths({}, default=100), 2_500, opening=0)
    assert placed == []
    assert reasons(dropped) == [(word, "the countdown does not fit: 'Three.' the hold is only 2.5s") for word in ("Three.", "Two.", "One.")]


@pytest.mark.parametrize("mark", [9_500, 10_000, 20_000])  # 9.5 s: it would start before the chime ends
def test_a_time_left_mark_as_long_as_the_hold_is_dropped(mark):
    cues = cues_for(10_000, guidance="standard", time_left_ms=(mark,))
    placed, dropped = place(cues, lengths({}), 10_000)
    assert placed_as(placed) == [("Halfway.", 5_000, 5_500)]
    assert reasons(dropped) == [(ENGLISH.time_left(mark), "the hold is only 10s")]
    assert dropped[0][0].at_ms == START + 10_000 - mark


def test_a_fixed_cue_too_near_either_end_says_which():
    early = [Cue("halfway", "Halfway.", START + 1_000)]
    placed, dropped = place(early, lengths({}), 2_000)
    assert placed == [] and reasons(dropped) == [("Halfway.", "too close to the start of the hold")]
    late = [Cue("time-left", "One second left.", START + 9_000)]
    placed, dropped = place(late, lengths({"One second left.": 1_500}), 10_000)
    assert placed == [] and reasons(dropped) == [("One second left.", "runs 0.8s into the end of the hold")]


def test_a_tip_slides_within_its_slack_to_free_room():
    cues = [Cue("halfway", "Halfway.", START + 15_000), Cue("tip", "Relax.", START + 15_000, 5_000)]
    placed, dropped = place(cues, lengths({"Halfway.": 1_000, "Relax.": 2_000}), 30_000)
    assert dropped == []
    # The nearest free start: just past "Halfway." and the gap (1.4 s later), not before it (2.4 s earlier).
    assert placed_as(placed) == [("Halfway.", 15_000, 16_000), ("Relax.", 16_000 + CUE_GAP_MS, 18_000 + CUE_GAP_MS)]


def test_a_tip_slides_earlier_when_later_is_taken():
    cues = [
        Cue("halfway", "Halfway.", START + 15_000),
        Cue("time-left", "Ten seconds left.", START + 17_000),
        Cue("tip", "Relax.", START + 15_000, 5_000),
    ]
    placed, dropped = place(cues, lengths({"Relax.": 2_000}, default=1_000), 30_000)
    assert dropped == []
    assert ("Relax.", 15_000 - CUE_GAP_MS - 2_000, 15_000 - CUE_GAP_MS) in placed_as(placed)


def test_a_tip_with_no_room_within_its_slack_is_dropped():
    cues = [
        Cue("halfway", "Halfway.", START + 15_000),
        Cue("time-left", "Ten seconds left.", START + 17_000),
        Cue("tip", "Relax.", START + 15_000, 2_000),  # room only 2.4 s earlier, beyond its slack
    ]
    placed, dropped = place(cues, lengths({"Relax.": 2_000}, default=1_000), 30_000)
    assert [p.text for p in placed] == ["Halfway.", "Ten seconds left."]
    assert reasons(dropped) == [("Relax.", "no room between the other cues")]


def test_breathing_slides_too_and_never_moves_a_fixed_cue():
    cues = cues_for(30_000, guidance="full", breathe_every_ms=15_000, time_left_ms=())
    speech = lengths({"Halfway.": 1_000, "Breathe in... and out.": 2_000}, default=400)
    placed, dropped = place([c for c in cues if c.kind in ("halfway", "breathe")], speech, 30_000)
    assert dropped == []
    assert placed_as(placed) == [("Halfway.", 15_000, 16_000), ("Breathe in... and out.", 16_400, 18_400)]


def test_lower_priority_cues_lose_to_higher_ones_whatever_the_order():
    cues = cues_for(40_000, guidance="full", breathe_every_ms=5_000)
    speech = lengths({"Three.": 400, "Two.": 400, "One.": 400}, default=3_000)  # too many to fit
    first = place(cues, speech, 40_000)
    assert place(cues[::-1], speech, 40_000) == first
    placed, dropped = first
    kinds = {p.kind for p in placed}
    assert {"countdown", "time-left", "halfway"} <= kinds  # never displaced by tips or breathing
    assert {c.kind for c, _ in dropped} <= {"tip", "breathe"} and dropped


def test_dropped_cue_reports_where_and_why():
    dropped = DroppedCue("halfway", "Halfway.", 110_000, "would overlap 'Ten seconds left.'", "hamstring", "left")
    assert dropped.to_dict() == {
        "kind": "halfway",
        "text": "Halfway.",
        "at_ms": 110_000,
        "reason": "would overlap 'Ten seconds left.'",
        "stretch": "hamstring",
        "side": "left",
    }


# ---------------------------------------------------------------- place_cues on drawn cues

KINDS = ("countdown", "time-left", "halfway", "tip", "breathe")


@st.composite
def cue_sets(draw):
    length = draw(st.integers(1_000, 5_000) | st.integers(1_000, 120_000))
    settings = replace(
        Settings(),
        guidance=draw(st.sampled_from(("full", "standard", "minimal"))),
        time_left_ms=tuple(sorted(draw(st.lists(st.integers(1_000, 120_000), max_size=3, unique=True)), reverse=True)),
        breathe_every_ms=draw(st.integers(5_000, 60_000)),
    )
    stretch = replace(STRETCH, hold_ms=length, tips=tuple(draw(st.lists(st.sampled_from(TIPS), max_size=3))))
    opening = draw(st.integers(0, 3_000))
    cues = hold_cues(stretch, settings, *hold(length), ENGLISH)
    table = {text: draw(st.integers(1, 3_000)) for text in sorted({c.text for c in cues})}
    return cues, table, length, opening


@hsettings(max_examples=150, deadline=None)
@given(cue_sets())
def test_drawn_cues_are_placed_by_the_rules(drawn):
    cues, table, length, opening = drawn
    placed, dropped = place(cues, table.__getitem__, length, opening)
    first, last = window(length, opening)
    # Every cue asked for is either placed or dropped, once.
    assert Counter((p.kind, p.text) for p in placed) + Counter((c.kind, c.text) for c, _ in dropped) == Counter(
        (c.kind, c.text) for c in cues
    )
    assert all(reason for _, reason in dropped)
    # Placed in time order, inside the window, at their length, apart by the gap (100 ms between countdown words).
    assert placed == sorted(placed, key=lambda p: p.start_ms)
    for p in placed:
        assert first <= p.start_ms and p.end_ms <= last, p
        assert p.end_ms - p.start_ms == table[p.text]
    for a, b in zip(placed, placed[1:]):
        assert b.start_ms - a.end_ms >= (100 if a.kind == b.kind == "countdown" else CUE_GAP_MS), (a, b)
    # Fixed cues on their mark; tips and breathing within their slack, halfway only earlier.
    for p in placed:
        assert any(
            c.kind == p.kind
            and c.text == p.text
            and abs(p.start_ms - c.at_ms) <= c.slack_ms
            and (p.start_ms <= c.at_ms or not c.early_only)
            for c in cues
        ), p
    # The countdown is whole or absent; its reasons say so.
    assert len([p for p in placed if p.kind == "countdown"]) in (0, 3)
    assert all(r.startswith("the countdown does not fit") for c, r in dropped if c.kind == "countdown")
    # The order cues are listed in never matters: priority and time decide.
    assert place(cues[::-1], table.__getitem__, length, opening) == (placed, dropped)
