"""Fit to a length (voiceroutine.fit): scale the holds so a routine lasts the time asked for."""

from __future__ import annotations

from dataclasses import replace

import pytest

from voiceroutine import Overrides, RoutineError, Settings, apply_overrides, load_routine, plan
from voiceroutine.durations import format_clock
from voiceroutine.fit import fit_to_length
from voiceroutine.routine import Routine
from voiceroutine.language import load_language
from voiceroutine.script import Speech, build_script
from voiceroutine.sounds import chime_lengths_ms, chime_sources

MINUTE = 60_000
SETTINGS = Settings()  # calm, standard guidance, soft chimes
CHIMES = chime_lengths_ms(chime_sources("soft"))


def speech_ms(text: str) -> int:
    return load_language("en").estimate_ms(text, SETTINGS.rate)


@pytest.fixture(scope="module")
def bed_back() -> Routine:
    return load_routine("bed-back")


def with_holds(routine: Routine, hold_ms: int) -> Routine:
    return replace(routine, stretches=tuple(replace(s, hold_ms=hold_ms) for s in routine.stretches))


def duration(routine: Routine, settings: Settings = SETTINGS, chime_ms=CHIMES) -> int:
    return build_script(routine, settings, speech_ms, chime_ms).duration_ms


def fit(routine: Routine, length_ms: int, settings: Settings = SETTINGS, chime_ms=CHIMES) -> Routine:
    return fit_to_length(routine, replace(settings, length_ms=length_ms), speech_ms, chime_ms)


def said_outside_holds(routine: Routine, settings: Settings = SETTINGS, chime_ms=CHIMES) -> list[str]:
    script = build_script(routine, settings, speech_ms, chime_ms)
    return [e.text for e in script.events if isinstance(e, Speech) and e.cue in (None, "begin")]


@pytest.mark.parametrize("minutes", [7, 8, 10, 20, 45, 90])
def test_bed_back_fits_each_length_within_a_second(bed_back, minutes):
    target = minutes * MINUTE
    fitted = fit(bed_back, target)
    assert abs(duration(fitted) - target) <= 1_000, duration(fitted) - target
    holds = [s.hold_ms for s in fitted.stretches]
    assert all(type(h) is int and 1_000 <= h <= 600_000 for h in holds), holds
    assert len(set(holds)) == 1  # bed-back holds every stretch alike; so does the fit
    assert (holds[0] < 30_000) == (target < duration(bed_back))


def test_the_current_length_keeps_the_holds(bed_back):
    fitted = fit(bed_back, duration(bed_back))
    assert all(abs(s.hold_ms - 30_000) <= 1 for s in fitted.stretches)


def test_only_the_holds_change(bed_back):
    fitted = fit(bed_back, 20 * MINUTE)
    assert with_holds(fitted, 0) == with_holds(bed_back, 0)
    assert [s.hold_ms for s in fitted.stretches] != [s.hold_ms for s in bed_back.stretches]
    assert said_outside_holds(fitted) == said_outside_holds(bed_back)


def test_holds_keep_their_proportions(bed_back):
    routine = apply_overrides(bed_back, Overrides(hold_for=(("piriformis", 60_000), ("butterfly", 15_000))))
    for minutes in (8, 12, 25):
        fitted_routine = fit(routine, minutes * MINUTE)
        assert abs(duration(fitted_routine) - minutes * MINUTE) <= 1_000
        fitted = {s.id: s.hold_ms for s in fitted_routine.stretches}
        base = fitted["hamstring"]
        assert fitted["piriformis"] > base > fitted["butterfly"], fitted
        assert abs(fitted["piriformis"] - 2 * base) <= 2 and abs(2 * fitted["butterfly"] - base) <= 2, fitted
        assert fitted["hip-flexor"] == fitted["prone-quad"] == base


def test_holds_stay_within_a_second_and_ten_minutes(bed_back):
    routine = apply_overrides(bed_back, Overrides(hold_for=(("piriformis", 300_000),)))
    longest = fit(routine, duration(with_holds(routine, 600_000)))
    assert {s.hold_ms for s in longest.stretches} == {600_000}
    shortest = fit(routine, duration(with_holds(routine, 1_000)))
    assert {s.hold_ms for s in shortest.stretches} == {1_000}
    for minutes in (7, 30, 60, 90):
        assert all(1_000 <= s.hold_ms <= 600_000 for s in fit(routine, minutes * MINUTE).stretches)


@pytest.mark.parametrize("target", [MINUTE, 6 * 60 * MINUTE])
def test_a_length_out_of_reach_says_what_is(bed_back, target):
    shortest = duration(with_holds(bed_back, 1_000))
    longest = duration(with_holds(bed_back, 600_000))
    with pytest.raises(RoutineError) as caught:
        fit(bed_back, target)
    message = str(caught.value)
    assert message.startswith("--length: ") and caught.value.source == "--length"
    assert "out of reach" in message
    assert f"{format_clock(shortest)} to {format_clock(longest)}" in message, message
    assert message == (
        f"--length: {'1m' if target == MINUTE else '6h'} is out of reach: "
        f"with holds of 1s to 10m this routine lasts {format_clock(shortest)} to {format_clock(longest)}"
    )


def test_a_second_either_side_of_the_range_is_still_in_reach(bed_back):
    shortest = duration(with_holds(bed_back, 1_000))
    longest = duration(with_holds(bed_back, 600_000))
    assert {s.hold_ms for s in fit(bed_back, shortest - 1_000).stretches} == {1_000}
    assert {s.hold_ms for s in fit(bed_back, longest + 1_000).stretches} == {600_000}
    for target in (shortest - 1_001, longest + 1_001):
        with pytest.raises(RoutineError, match="^--length: .* is out of reach"):
            fit(bed_back, target)


@pytest.mark.parametrize(
    ("settings", "chimes"),
    [
        (replace(SETTINGS, guidance="full"), "soft"),
        (replace(SETTINGS, guidance="minimal", fade_ms=10_000), "bright"),
        (replace(SETTINGS, chimes="none"), "none"),
    ],
)
def test_fit_with_other_settings(bed_back, settings, chimes):
    chime_ms = chime_lengths_ms(chime_sources(chimes))
    fitted = fit(bed_back, 15 * MINUTE, settings, chime_ms)
    assert abs(duration(fitted, settings, chime_ms) - 15 * MINUTE) <= 1_000
    assert said_outside_holds(fitted, settings, chime_ms) == said_outside_holds(bed_back, settings, chime_ms)


# ---------------------------------------------------------------- through plan


@pytest.mark.parametrize("minutes", [8, 10, 20])
def test_plan_fits_the_holds_to_the_length(bed_back, minutes):
    settings = replace(Settings(), length_ms=minutes * MINUTE)
    script = plan(bed_back, settings)
    assert abs(script.duration_ms - minutes * MINUTE) <= 1_000
    unfitted = plan(bed_back, Settings())
    holds = {h.end_ms - h.start_ms for h in script.holds}
    assert len(holds) == 1 and holds != {30_000}
    assert len(script.holds) == len(unfitted.holds) == 9
    outside = [e.text for e in script.events if isinstance(e, Speech) and e.cue is None]
    assert outside == [e.text for e in unfitted.events if isinstance(e, Speech) and e.cue is None]


def test_plan_without_a_length_keeps_the_holds(bed_back):
    script = plan(bed_back, Settings(length_ms=None))
    assert {h.end_ms - h.start_ms for h in script.holds} == {30_000}


@pytest.mark.parametrize("target", [MINUTE, 6 * 60 * MINUTE])
def test_plan_rejects_a_length_out_of_reach(bed_back, target):
    with pytest.raises(RoutineError, match=r"^--length: .*out of reach: .* lasts \d+:\d\d\.\d to \d:\d\d:\d\d\.\d$"):
        plan(bed_back, Settings(length_ms=target))
