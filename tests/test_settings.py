"""Command-line overrides and encoder settings."""

from __future__ import annotations

import dataclasses

import pytest

from voiceroutine.errors import RoutineError
from voiceroutine.routine import Routine, load_routine
from voiceroutine.settings import (
    Overrides,
    Settings,
    apply_overrides,
    check_settings,
    parse_hold_for,
    parse_overrides,
)

BED_BACK_IDS = ["hamstring", "piriformis", "hip-flexor", "butterfly", "prone-quad"]


@pytest.fixture(scope="module")
def routine() -> Routine:
    return load_routine("bed-back")


def apply(routine: Routine, **options) -> Routine:
    return apply_overrides(routine, parse_overrides(**options))


def holds(routine: Routine) -> dict[str, int]:
    return {s.id: s.hold_ms for s in routine.stretches}


def option_error(option: str, call, *args, **kwargs) -> RoutineError:
    """Run ``call``, expecting a RoutineError whose message starts with ``option``."""
    with pytest.raises(RoutineError) as info:
        call(*args, **kwargs)
    error = info.value
    assert type(error) is RoutineError
    assert isinstance(error, ValueError)
    assert str(error).startswith(f"{option}: "), str(error)
    assert "\n" not in str(error)
    return error


# --- parse_overrides -----------------------------------------------------------


def test_no_options_change_nothing(routine):
    overrides = parse_overrides()
    assert overrides == Overrides()
    assert apply_overrides(routine, overrides) == routine


def test_parse_overrides_reads_every_option():
    overrides = parse_overrides(
        hold="45s",
        hold_for=("piriformis=1m", " butterfly = 20 "),
        sides="none",
        rest="0",
        reps=2,
        only="hamstring, piriformis ,butterfly",
        skip="butterfly",
    )
    assert overrides == Overrides(
        hold_ms=45_000,
        hold_for=(("piriformis", 60_000), ("butterfly", 20_000)),
        sides="none",
        rest_ms=0,
        reps=2,
        only=("hamstring", "piriformis", "butterfly"),
        skip=("butterfly",),
    )


def test_parse_hold_for():
    assert parse_hold_for("piriformis=45s") == ("piriformis", 45_000)
    assert parse_hold_for("  piriformis =  1m30s ") == ("piriformis", 90_000)


def test_rest_accepts_zero():
    assert parse_overrides(rest="0").rest_ms == 0
    assert parse_overrides(rest="0s").rest_ms == 0


@pytest.mark.parametrize(
    ("options", "option", "fragment"),
    [
        pytest.param({"hold_for": ("piriformis",)}, "--hold-for", "expected ID=DURATION", id="hold-for-no-equals"),
        pytest.param({"hold_for": ("=30s",)}, "--hold-for", "expected ID=DURATION", id="hold-for-no-id"),
        pytest.param({"hold_for": (" =30s",)}, "--hold-for", "expected ID=DURATION", id="hold-for-blank-id"),
        pytest.param({"hold_for": ("piriformis=forever",)}, "--hold-for", "expected a duration like", id="hold-for-bad-duration"),
        pytest.param({"hold_for": ("piriformis=11m",)}, "--hold-for", "out of range", id="hold-for-too-long"),
        pytest.param({"hold": "0.2s"}, "--hold", "0.2s is out of range (1s to 10m)", id="hold-too-short"),
        pytest.param({"hold": "11m"}, "--hold", "out of range", id="hold-too-long"),
        pytest.param({"hold": "long"}, "--hold", "expected a duration like", id="hold-not-a-duration"),
        pytest.param({"rest": "-1s"}, "--rest", "expected a duration like", id="rest-negative"),
        pytest.param({"rest": "11m"}, "--rest", "out of range", id="rest-too-long"),
        pytest.param({"sides": "left"}, "--sides", 'expected "both" or "none"', id="sides-left"),
        pytest.param({"reps": 0}, "--reps", "0 is out of range (1 to 10)", id="reps-zero"),
        pytest.param({"reps": 11}, "--reps", "out of range", id="reps-eleven"),
        pytest.param({"only": ""}, "--only", "expected stretch ids", id="only-empty"),
        pytest.param({"skip": " , "}, "--skip", "expected stretch ids", id="skip-only-commas"),
    ],
)
def test_parse_overrides_rejects_bad_option_values(options, option, fragment):
    error = option_error(option, parse_overrides, **options)
    assert fragment in str(error)
    assert error.source == option


# --- apply_overrides -----------------------------------------------------------


def test_hold_sets_every_stretch(routine):
    changed = apply(routine, hold="45s")
    assert holds(changed) == dict.fromkeys(BED_BACK_IDS, 45_000)
    # Nothing else changes.
    for before, after in zip(routine.stretches, changed.stretches):
        assert dataclasses.replace(after, hold_ms=before.hold_ms) == before


def test_hold_for_wins_over_hold(routine):
    changed = apply(routine, hold="20s", hold_for=("piriformis=45s",))
    assert holds(changed) == {**dict.fromkeys(BED_BACK_IDS, 20_000), "piriformis": 45_000}


def test_hold_for_alone_changes_only_that_stretch(routine):
    changed = apply(routine, hold_for=("butterfly=1m",))
    assert holds(changed) == {**holds(routine), "butterfly": 60_000}


def test_sides_rest_and_reps_apply_to_every_stretch(routine):
    changed = apply(routine, sides="none", rest="0", reps=3)
    assert all(s.sides == "none" for s in changed.stretches)
    assert all(s.rest_ms == 0 for s in changed.stretches)
    assert all(s.reps == 3 for s in changed.stretches)
    assert [s.id for s in changed.stretches] == BED_BACK_IDS


def test_only_keeps_the_order_given(routine):
    changed = apply(routine, only="butterfly,hamstring,piriformis")
    assert [s.id for s in changed.stretches] == ["butterfly", "hamstring", "piriformis"]
    assert changed.stretches[0] == routine.stretches[3]


def test_only_lists_each_stretch_once(routine):
    changed = apply(routine, only="butterfly,hamstring,butterfly")
    assert [s.id for s in changed.stretches] == ["butterfly", "hamstring"]


def test_skip_removes_stretches(routine):
    changed = apply(routine, skip="piriformis, butterfly")
    assert [s.id for s in changed.stretches] == ["hamstring", "hip-flexor", "prone-quad"]


def test_only_and_skip_combine(routine):
    changed = apply(routine, only="prone-quad,hamstring,butterfly", skip="hamstring")
    assert [s.id for s in changed.stretches] == ["prone-quad", "butterfly"]


def test_overrides_keep_routine_identity(routine):
    changed = apply(routine, hold="45s", skip="butterfly")
    assert (changed.id, changed.title, changed.intro, changed.outro, changed.source) == (
        routine.id,
        routine.title,
        routine.intro,
        routine.outro,
        routine.source,
    )


def test_skipping_every_stretch_is_an_error(routine):
    error = option_error("--skip", apply, routine, skip=",".join(BED_BACK_IDS))
    assert "no stretches left" in str(error)


def test_skipping_every_stretch_kept_by_only_is_an_error(routine):
    error = option_error("--skip", apply, routine, only="butterfly", skip="butterfly")
    assert "no stretches left" in str(error)


@pytest.mark.parametrize(
    ("option", "options"),
    [
        ("--only", {"only": "hamstrng"}),
        ("--skip", {"skip": "hamstrng"}),
        ("--hold-for", {"hold_for": ("hamstrng=40s",)}),
    ],
)
def test_unknown_stretch_id_suggests_the_close_one(routine, option, options):
    error = option_error(option, apply, routine, **options)
    message = str(error)
    assert "no stretch 'hamstrng' in bed-back" in message
    assert "did you mean 'hamstring'?" in message
    assert ", ".join(BED_BACK_IDS) in message


def test_unknown_stretch_id_without_a_close_match_lists_the_stretches(routine):
    error = option_error("--only", apply, routine, only="hamstring,shoulders")
    message = str(error)
    assert "no stretch 'shoulders'" in message
    assert "did you mean" not in message
    assert ", ".join(BED_BACK_IDS) in message


def test_apply_overrides_leaves_the_routine_unchanged(routine):
    before = load_routine("bed-back")
    assert routine == before
    apply(routine, hold="45s", hold_for=("piriformis=1m",), sides="none", rest="0", reps=2, skip="butterfly")
    assert routine == before
    assert holds(routine) == dict.fromkeys(BED_BACK_IDS, 30_000)
    assert routine.stretches[3].sides == "none" and routine.stretches[0].sides == "both"
    with pytest.raises(dataclasses.FrozenInstanceError):
        routine.stretches = ()  # type: ignore[misc]


# --- check_settings ------------------------------------------------------------


def test_default_settings_are_valid():
    settings = Settings()
    assert check_settings(settings) is settings


@pytest.mark.parametrize(
    "changes",
    [
        {"rate": 60},
        {"rate": 400},
        {"format": "wav"},
        {"bitrate_kbps": 32},
        {"bitrate_kbps": 192},
    ],
)
def test_check_settings_accepts_limits(changes):
    settings = dataclasses.replace(Settings(), **changes)
    assert check_settings(settings) == settings


@pytest.mark.parametrize(
    ("changes", "option", "fragment"),
    [
        ({"rate": 10}, "--rate", "10 is out of range (60 to 400"),
        ({"rate": 1000}, "--rate", "1000 is out of range"),
        ({"rate": 59}, "--rate", "out of range"),
        ({"format": "ogg"}, "--format", "expected one of mp3, wav, got 'ogg'"),
        ({"bitrate_kbps": 65}, "--bitrate", "got 65"),
    ],
)
def test_check_settings_rejects(changes, option, fragment):
    error = option_error(option, check_settings, dataclasses.replace(Settings(), **changes))
    assert fragment in str(error)


def test_settings_to_dict_includes_pacing():
    data = Settings().to_dict()
    assert data["rate"] == 140
    assert data["format"] == "mp3"
    assert data["pacing"]["tail_ms"] == 2_000
