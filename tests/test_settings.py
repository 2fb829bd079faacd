"""Command-line overrides and encoder settings."""

from __future__ import annotations

import dataclasses

import pytest

from voiceroutine.errors import RoutineError
from voiceroutine.routine import Routine, load_routine
from voiceroutine.overrides import Overrides, apply_overrides, parse_hold_for, parse_overrides
from voiceroutine.settings import PACES, Settings, check_setting, resolve_settings

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


# --- check_setting and resolve_settings ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("rate", 100, ("rate", 100)),
        ("rate", 400, ("rate", 400)),
        ("format", "wav", ("format", "wav")),
        ("bitrate", "32", ("bitrate_kbps", 32)),
        ("bitrate", 192, ("bitrate_kbps", 192)),
        ("pace", "brisk", ("pace", "brisk")),
        ("guidance", "full", ("guidance", "full")),
        ("time_left", "10s, 30s", ("time_left_ms", (30_000, 10_000))),
        ("time_left", ["1m", "10s", "10s"], ("time_left_ms", (60_000, 10_000))),
        ("length", "10m", ("length_ms", 600_000)),
        ("fade", "0", ("fade_ms", 0)),
        ("chimes", "none", ("chimes", "none")),
        ("voice", "  en-gb ", ("voice", "en-gb")),
    ],
)
def test_check_setting_accepts(name, value, expected):
    assert check_setting(name, value) == expected


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("rate", 10, "10 is out of range (100 to 400)"),
        ("rate", "fast", "expected a whole number from 100 to 400"),
        ("format", "ogg", 'expected one of "mp3", "m4b", "opus", "wav", got the text \'ogg\''),
        ("bitrate", 65, 'expected one of "32", "48", "64"'),
        ("pace", "slow", 'expected one of "calm", "normal", "brisk"'),
        ("guidance", "max", 'expected one of "minimal", "standard", "full"'),
        ("time_left", "0.5s", "0.5s is out of range (1s to 10m)"),
        ("time_left", 10, 'expected durations like ["30s", "10s"]'),
        ("length", "30s", "30s is out of range (1m to 6h)"),
        ("fade", "1m", "1m is out of range (0s to 30s)"),
        ("engine", "espeak", 'expected one of "pyttsx3"'),
        ("start_chime", "no-such.wav", "no-such.wav: file not found"),
        ("loudness", -(10**400), "out of range (-30 to -14)"),  # too long for a float: was an OverflowError
        ("music_level", 10**400, "out of range (-30 to -12)"),
    ],
)
def test_check_setting_rejects(name, value, fragment):
    with pytest.raises(ValueError) as info:
        check_setting(name, value)
    assert fragment in str(info.value)


def test_a_chime_must_be_short_audio_that_ffmpeg_reads(tmp_path):
    import wave

    text_file = tmp_path / "chime.wav"
    text_file.write_text("not audio")
    with pytest.raises(ValueError, match="chime.wav: ffmpeg cannot read audio from it"):
        check_setting("end_chime", str(text_file))
    long_file = tmp_path / "long.wav"
    with wave.open(str(long_file), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(b"\0\0" * 8000 * 4)
    with pytest.raises(ValueError, match="lasts 4000 ms; a chime must last 50 ms to 3 s"):
        check_setting("start_chime", str(long_file))


def test_no_layers_give_the_defaults():
    assert resolve_settings() == Settings()
    assert Settings().rate == PACES["calm"].rate and Settings().pacing == PACES["calm"].pacing


def test_pace_sets_rate_and_pauses_together():
    brisk = resolve_settings({"pace": "brisk"})
    assert (brisk.rate, brisk.pacing) == (PACES["brisk"].rate, PACES["brisk"].pacing)
    assert brisk.pacing.step_pause_ms < Settings().pacing.step_pause_ms


def test_a_rate_in_any_layer_wins_over_the_pace():
    assert resolve_settings({"rate": 111}, {"pace": "brisk"}).rate == 111
    assert resolve_settings({"pace": "brisk"}, {"rate": 111}).pacing == PACES["brisk"].pacing


def test_later_layers_win_and_none_means_not_given():
    merged = resolve_settings({"guidance": "full", "fade_ms": 2000}, {"guidance": "minimal", "fade_ms": None})
    assert (merged.guidance, merged.fade_ms) == ("minimal", 2000)


def test_settings_to_dict_includes_pacing():
    data = Settings().to_dict()
    assert data["rate"] == PACES["calm"].rate
    assert data["format"] == "mp3"
    assert data["pacing"]["tail_ms"] == 2_000
