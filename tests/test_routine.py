"""Loading and validating routine files."""

from __future__ import annotations

import dataclasses

import pytest

from voiceroutine.errors import RoutineError, printable
from voiceroutine.routine import Routine, builtin_ids, load_routine

# --- helpers -------------------------------------------------------------------

# Values are TOML source text; a test overrides or adds keys, and None removes one.
BASE_ROUTINE = {"title": '"Test routine"'}
BASE_STRETCH = {"id": '"neck"', "name": '"Neck stretch"', "steps": '["Tilt your head to one side."]'}


def _table(header: str, base: dict, changes: dict | None) -> str:
    values = {**base, **(changes or {})}
    lines = [header] + [f"{key} = {value}" for key, value in values.items() if value is not None]
    return "\n".join(lines) + "\n"


def routine_toml(*, routine: dict | None = None, defaults: dict | None = None,
                 stretches: tuple[dict, ...] | None = ({},), top: str = "",
                 extra: str = "", no_routine: bool = False) -> str:
    """A minimal valid routine with one stretch, changed as asked.

    ``stretches`` holds one dict of changes per [[stretch]] (None: no stretches);
    ``top`` is TOML put before every table, ``extra`` TOML put after them.
    """
    parts = [top]
    if not no_routine:
        parts.append(_table("[routine]", BASE_ROUTINE, routine))
    if defaults is not None:
        parts.append(_table("[defaults]", {}, defaults))
    for changes in stretches or ():
        parts.append(_table("[[stretch]]", BASE_STRETCH, changes))
    parts.append(extra)
    return "\n".join(parts)


@pytest.fixture
def write_routine(tmp_path):
    """write_routine(name="routine.toml", **changes) -> path of the written file."""

    def write(name: str = "routine.toml", **changes):
        path = tmp_path / name
        path.write_text(routine_toml(**changes), encoding="utf-8")
        return path

    return write


def load_error(ref) -> RoutineError:
    """Load ``ref``, expecting a RoutineError, and check what every such error promises."""
    with pytest.raises(RoutineError) as info:
        load_routine(ref)
    error = info.value
    assert type(error) is RoutineError
    assert isinstance(error, ValueError)
    message = str(error)
    assert "\n" not in message and "\r" not in message, message
    assert message.startswith(f"{printable(str(ref))}: "), message  # the name as given, shortened if huge
    return error


def assert_field_error(path, field: str, *fragments: str) -> RoutineError:
    error = load_error(path)
    message = str(error)
    assert error.field == field
    assert message.startswith(f"{path}: {field}: "), message
    for fragment in fragments:
        assert fragment in message, message
    return error


def test_a_number_too_long_for_a_float_is_a_field_error(tmp_path):
    """A 400-digit loudness in a routine file: one line naming the field, not a traceback."""
    path = tmp_path / "big.toml"
    path.write_text(f'[routine]\ntitle = "Big"\n\n[settings]\nloudness = {"9" * 400}\n\n[[stretch]]\nid = "a"\nname = "A"\nsteps = ["Hug your knees."]\n')
    assert_field_error(path, "settings.loudness", "out of range (-30 to -14)")


# --- the built-in routine ------------------------------------------------------


@pytest.fixture(scope="module")
def bed_back() -> Routine:
    return load_routine("bed-back")


def test_builtin_ids_lists_bed_back():
    ids = builtin_ids()
    assert "bed-back" in ids
    assert ids == sorted(ids)


def test_bed_back_has_five_stretches_in_order(bed_back):
    assert bed_back.id == "bed-back"
    assert bed_back.source == "bed-back (built-in)"
    assert [s.id for s in bed_back.stretches] == [
        "hamstring",
        "piriformis",
        "hip-flexor",
        "butterfly",
        "prone-quad",
    ]


def test_bed_back_holds_each_stretch_for_30_seconds(bed_back):
    assert all(s.hold_ms == 30_000 for s in bed_back.stretches)
    assert all(s.reps == 1 and s.rest_ms == 10_000 for s in bed_back.stretches)


def test_bed_back_butterfly_works_both_sides_at_once(bed_back):
    sides = {s.id: s.sides for s in bed_back.stretches}
    assert sides == {
        "hamstring": "both",
        "piriformis": "both",
        "hip-flexor": "both",
        "butterfly": "none",
        "prone-quad": "both",
    }
    butterfly = bed_back.stretches[3]
    assert butterfly.side_labels == ("",)
    assert bed_back.stretches[0].side_labels == ("left", "right")
    assert bed_back.stretches[0].side_names == ("left leg", "right leg")


def test_bed_back_intro_warns_about_pain_and_mentions_a_doctor(bed_back):
    intro = bed_back.intro.lower()
    assert "pain" in intro
    assert "doctor" in intro
    # Text is joined into one line: line breaks in the file are not read out.
    assert "\n" not in bed_back.intro
    assert bed_back.outro


def test_bed_back_steps_are_non_empty_texts(bed_back):
    for stretch in bed_back.stretches:
        assert stretch.name
        assert 1 <= len(stretch.steps) <= 20
        assert all(isinstance(step, str) and step.strip() for step in stretch.steps)


def test_routines_are_frozen(bed_back):
    with pytest.raises(dataclasses.FrozenInstanceError):
        bed_back.title = "Other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        bed_back.stretches[0].hold_ms = 1  # type: ignore[misc]


# --- loading files -------------------------------------------------------------


def test_minimal_routine_loads_with_built_in_defaults(write_routine):
    path = write_routine()
    routine = load_routine(path)
    assert routine.title == "Test routine"
    assert routine.source == str(path)
    assert routine.intro is None and routine.outro is None
    (stretch,) = routine.stretches
    assert stretch.id == "neck"
    assert stretch.name == "Neck stretch"
    assert stretch.steps == ("Tilt your head to one side.",)
    assert stretch.why is None
    assert (stretch.hold_ms, stretch.sides, stretch.reps) == (30_000, "both", 1)
    assert (stretch.rest_ms, stretch.switch_ms, stretch.get_ready_ms) == (10_000, 5_000, 4_000)
    assert stretch.side_names == ("left side", "right side")


def test_routine_loads_from_a_path_string(write_routine):
    path = write_routine()
    assert load_routine(str(path)) == load_routine(path)


def test_defaults_apply_to_every_stretch_and_stretches_override_them(write_routine):
    path = write_routine(
        defaults={"hold": '"45s"', "reps": "2", "rest": '"0s"', "sides": '"none"'},
        stretches=(
            {},
            {"id": '"back"', "hold": '"20s"', "sides": '"both"'},
            {"id": '"hips"', "reps": "3"},
        ),
    )
    neck, back, hips = load_routine(path).stretches
    assert (neck.hold_ms, neck.reps, neck.rest_ms, neck.sides) == (45_000, 2, 0, "none")
    assert (back.hold_ms, back.reps, back.rest_ms, back.sides) == (20_000, 2, 0, "both")
    assert (hips.hold_ms, hips.reps, hips.rest_ms, hips.sides) == (45_000, 3, 0, "none")
    # Settings not in [defaults] keep the built-in values.
    assert all(s.switch_ms == 5_000 for s in (neck, back, hips))


def test_durations_accept_numbers_as_seconds(write_routine):
    path = write_routine(stretches=({"hold": "90", "rest": "2.5"},))
    (stretch,) = load_routine(path).stretches
    assert (stretch.hold_ms, stretch.rest_ms) == (90_000, 2_500)


def test_hold_range_bounds_are_inclusive(write_routine):
    path = write_routine(stretches=({}, {"id": '"a"', "hold": '"1s"'}, {"id": '"b"', "hold": '"10m"'}))
    assert [s.hold_ms for s in load_routine(path).stretches] == [30_000, 1_000, 600_000]


def test_text_whitespace_is_collapsed(write_routine):
    path = write_routine(
        routine={"intro": '"""\nHello,\n   and welcome.\n"""'},
        stretches=({"steps": '["  Sit   up.  ", "Breathe\\tslowly."]'},),
    )
    routine = load_routine(path)
    assert routine.intro == "Hello, and welcome."
    assert routine.stretches[0].steps == ("Sit up.", "Breathe slowly.")


def test_routine_id_defaults_to_the_slugified_file_name(write_routine):
    assert load_routine(write_routine("My Routine.toml")).id == "my-routine"
    assert load_routine(write_routine("__Morning  Stretch!.toml")).id == "morning-stretch"


def test_routine_id_in_the_file_wins_over_the_file_name(write_routine):
    path = write_routine("My Routine.toml", routine={"id": '"evening"'})
    assert load_routine(path).id == "evening"


def test_bom_prefixed_utf8_file_loads(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + routine_toml(routine={"title": '"Étirements"'}).encode("utf-8"))
    routine = load_routine(path)
    assert routine.title == "Étirements"
    assert [s.id for s in routine.stretches] == ["neck"]


def test_builtin_file_loaded_by_path_matches_builtin_id(bed_back):
    from importlib import resources

    with resources.as_file(resources.files("voiceroutine.routines") / "bed-back.toml") as path:
        by_path = load_routine(path)
    assert by_path.stretches == bed_back.stretches
    assert by_path.id == bed_back.id


# --- validation: field errors --------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "fragments"),
    [
        pytest.param(
            {"stretches": ({"hodl": '"30s"'},)},
            "stretch[1].hodl", ("unknown key", "did you mean 'hold'"), id="unknown-stretch-key",
        ),
        pytest.param(
            {"defaults": {"get-ready": '"3s"'}},
            "defaults.get-ready", ("unknown key", "did you mean 'get_ready'"), id="unknown-defaults-key",
        ),
        pytest.param(
            {"routine": {"titel": '"x"'}},
            "routine.titel", ("unknown key", "did you mean 'title'"), id="unknown-routine-key",
        ),
        pytest.param(
            {"extra": "[default]\nhold = 5\n"},
            "default", ("unknown key", "did you mean 'defaults'"), id="unknown-top-key-close",
        ),
        pytest.param(
            {"extra": "[music]\nvolume = 5\n"},
            "music", ("unknown key", "known keys: routine, settings, defaults, stretch"), id="unknown-top-key",
        ),
        pytest.param(
            {"stretches": ({"hold": "true"},)},
            "stretch[1].hold", ("expected a duration like", "True"), id="hold-bool",
        ),
        pytest.param(
            {"stretches": ({"reps": '"two"'},)},
            "stretch[1].reps", ("expected a whole number from 1 to 10", "'two'"), id="reps-text",
        ),
        pytest.param(
            {"stretches": ({"reps": "1.5"},)},
            "stretch[1].reps", ("expected a whole number", "1.5"), id="reps-float",
        ),
        pytest.param(
            {"stretches": ({"reps": "11"},)},
            "stretch[1].reps", ("11 is out of range (1 to 10)",), id="reps-out-of-range",
        ),
        pytest.param(
            {"stretches": ({"steps": '"text"'},)},
            "stretch[1].steps", ("expected a list of texts", "'text'"), id="steps-text",
        ),
        pytest.param(
            {"stretches": ({"name": "3"},)},
            "stretch[1].name", ("expected text in quotes", "the number 3"), id="name-number",
        ),
        pytest.param(
            {"routine": {"title": "[1]"}},
            "routine.title", ("expected text in quotes", "a list"), id="title-list",
        ),
        pytest.param(
            {"stretches": ({"hold": '"0.5s"'},)},
            "stretch[1].hold", ("0.5s is out of range (1s to 10m)",), id="hold-too-short",
        ),
        pytest.param(
            {"stretches": ({"hold": '"11m"'},)},
            "stretch[1].hold", ("11m is out of range (1s to 10m)",), id="hold-too-long",
        ),
        pytest.param(
            {"defaults": {"hold": '"11m"'}},
            "defaults.hold", ("11m is out of range",), id="defaults-hold-too-long",
        ),
        pytest.param(
            {"stretches": ({"switch": '"0s"'},)},
            "stretch[1].switch", ("out of range",), id="switch-too-short",
        ),
        pytest.param(
            {"stretches": ({"steps": "[]"},)},
            "stretch[1].steps", ("expected 1 to 20 entries, got 0",), id="steps-empty",
        ),
        pytest.param(
            {"stretches": ({"steps": '["Sit up.", "   "]'},)},
            "stretch[1].steps[2]", ("must not be empty",), id="step-blank",
        ),
        pytest.param(
            {"stretches": ({"steps": '[""]'},)},
            "stretch[1].steps[1]", ("must not be empty",), id="step-empty",
        ),
        pytest.param(
            {"stretches": ({"steps": "[1]"},)},
            "stretch[1].steps[1]", ("expected text in quotes",), id="step-number",
        ),
        pytest.param(
            {"stretches": ({}, {})},
            "stretch[2].id", ("'neck' is used by an earlier stretch",), id="duplicate-id",
        ),
        pytest.param(
            {"stretches": ({}, {"id": '"back"'}, {"id": '"back"'})},
            "stretch[3].id", ("'back' is used by an earlier stretch",), id="duplicate-id-third",
        ),
        pytest.param(
            {"no_routine": True},
            "routine", ("missing", "[routine]"), id="missing-routine",
        ),
        pytest.param(
            {"top": "routine = 'x'\n", "no_routine": True},
            "routine", ("expected a table",), id="routine-not-a-table",
        ),
        pytest.param(
            {"routine": {"title": None}},
            "routine.title", ("missing",), id="missing-title",
        ),
        pytest.param(
            {"routine": {"title": '"  "'}},
            "routine.title", ("must not be empty",), id="blank-title",
        ),
        pytest.param(
            {"stretches": None},
            "stretch", ("missing", "[[stretch]]"), id="missing-stretch",
        ),
        pytest.param(
            {"stretches": ({"steps": None},)},
            "stretch[1].steps", ("missing",), id="missing-steps",
        ),
        pytest.param(
            {"stretches": ({"id": None},)},
            "stretch[1].id", ("missing",), id="missing-stretch-id",
        ),
        pytest.param(
            {"stretches": ({"name": None},)},
            "stretch[1].name", ("missing",), id="missing-name",
        ),
        pytest.param(
            {"routine": {"id": '"Bed Back!"'}},
            "routine.id", ("expected an id of lower-case letters", "'Bed Back!'"), id="bad-routine-id",
        ),
        pytest.param(
            {"routine": {"id": '"-leading-dash"'}},
            "routine.id", ("expected an id",), id="routine-id-leading-dash",
        ),
        pytest.param(
            {"stretches": ({"id": '"Neck"'},)},
            "stretch[1].id", ("expected an id",), id="bad-stretch-id",
        ),
        pytest.param(
            {"stretches": ({"side_names": '["left", "right", "middle"]'},)},
            "stretch[1].side_names", ("expected exactly 2 entries, got 3",), id="side-names-three",
        ),
        pytest.param(
            {"stretches": ({"sides": '"left"'},)},
            "stretch[1].sides", ('expected "both" or "none"', "'left'"), id="sides-left",
        ),
        pytest.param(
            {"defaults": {"sides": '"left"'}},
            "defaults.sides", ('expected "both" or "none"',), id="defaults-sides-left",
        ),
    ],
)
def test_invalid_field_is_reported_with_file_and_field(write_routine, changes, field, fragments):
    path = write_routine(**changes)
    assert_field_error(path, field, *fragments)


def test_error_in_a_later_stretch_counts_from_one(write_routine):
    path = write_routine(stretches=({}, {"id": '"back"', "hodl": '"5s"'}))
    assert_field_error(path, "stretch[2].hodl", "did you mean 'hold'")


def test_stretch_that_is_not_a_table_is_reported(write_routine):
    path = write_routine(stretches=None, top="stretch = [1]\n")
    assert_field_error(path, "stretch[1]", "expected a table")


def test_error_keeps_source_field_and_reason_apart(write_routine):
    path = write_routine(stretches=({"sides": '"left"'},))
    error = assert_field_error(path, "stretch[1].sides")
    assert error.source == str(path)
    assert error.reason.startswith('expected "both" or "none"')
    assert str(error) == f"{path}: stretch[1].sides: {error.reason}"


# --- validation: file errors ---------------------------------------------------


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param(b"[routine\ntitle = 'x'\n", "invalid TOML", id="bad-syntax"),
        pytest.param(b"title = \n", "invalid TOML", id="missing-value"),
        pytest.param(b"", "file is empty", id="empty"),
        pytest.param(b"  \n\t\r\n  ", "file is empty", id="whitespace-only"),
        pytest.param(b"\x00\x01\x02PK\x03\x04binary", "binary file", id="binary"),
        pytest.param(b"\xff\xfe[\x00r\x00", "binary file", id="utf16-with-nul"),
        pytest.param(b"\xff\xfe[routine]\ntitle = 'x'\n", "not UTF-8 text", id="not-utf8"),
        pytest.param(b"[routine]\ntitle = '\xe9t\xe9'\n", "not UTF-8 text", id="latin-1"),
    ],
)
def test_unreadable_file_is_reported_with_its_path(tmp_path, content, fragment):
    path = tmp_path / "routine.toml"
    path.write_bytes(content)
    error = load_error(path)
    assert error.field is None
    assert fragment in str(error)


def test_missing_file_is_reported(tmp_path):
    path = tmp_path / "missing.toml"
    error = load_error(path)
    assert "file not found" in str(error)


def test_missing_relative_toml_file_is_reported(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    error = load_error("missing.toml")
    assert str(error) == "missing.toml: file not found"


def test_folder_is_reported(tmp_path):
    folder = tmp_path / "routines"
    folder.mkdir()
    error = load_error(folder)
    assert "is a folder" in str(error)


def test_unknown_bare_name_lists_built_in_routines(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    error = load_error("nosuchroutine")
    message = str(error)
    assert message.startswith("nosuchroutine: no built-in routine or file of that name")
    assert "bed-back" in message
    for routine_id in builtin_ids():
        assert routine_id in message


def test_file_too_large_is_reported(tmp_path):
    path = tmp_path / "huge.toml"
    path.write_bytes(b"#" * ((1 << 20) + 1))
    assert "too large" in str(load_error(path))


def test_overlong_bare_name_is_reported_as_a_routine_error(tmp_path, monkeypatch):
    # A name longer than any file name may be (ENAMETOOLONG) is an unknown routine too.
    monkeypatch.chdir(tmp_path)
    name = "a" * 300
    error = load_error(name)
    assert "no built-in routine or file of that name" in str(error)
