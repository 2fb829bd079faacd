"""The script builder: timeline rules, checked on bed-back and on generated routines.

Every rule lives in ``check_script``; the unit tests run it on the shipped routine
(and variants of it) and pin a few details, the property tests run it on routines,
speech lengths, chime lengths and pacings drawn by hypothesis.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import example, given, settings as hsettings, strategies as st

from voiceroutine import Routine, Settings, Stretch, load_routine, plan
from voiceroutine.script import Chime, Hold, Pause, Script, Speech, build_script, estimate_speech_ms
from voiceroutine.settings import Pacing
from voiceroutine.sounds import chime_lengths_ms

CHIMES = {"start": 900, "end": 900}
PACING = Pacing(lead_in_ms=500, gap_ms=700, step_pause_ms=2500, after_chime_ms=300, tail_ms=2000)
SETTINGS = Settings(pacing=PACING)
WORDS = "zero one two three four five six seven eight nine ten".split()


def fake_speech(text: str) -> int:
    """50 ms a character: deterministic, and different for every length of text."""
    return 50 * len(text)


def sentence(text: str) -> str:
    text = text.strip()
    return text if text[-1:] in ".!?" else text + "."


def announcement(number: int, count: int, name: str) -> str:
    return f"Stretch {WORDS[number]} of {WORDS[count]}. {sentence(name)}"


def expected_holds(stretch: Stretch) -> list[tuple[str, str | None]]:
    sides = ("left", "right") if stretch.sides == "both" else (None,)
    return [(stretch.id, side) for _ in range(stretch.reps) for side in sides]


def build(routine: Routine, settings: Settings = SETTINGS, speech_ms=fake_speech, chime_ms=CHIMES) -> Script:
    return build_script(routine, settings, speech_ms, chime_ms)


def check_script(script: Script, routine: Routine, settings: Settings, speech_ms, chime_ms) -> None:
    """Assert every timeline rule the builder promises."""
    pacing = settings.pacing
    events = script.events
    duration = script.duration_ms
    speeches = [e for e in events if isinstance(e, Speech)]
    chimes = [e for e in events if isinstance(e, Chime)]
    holds = [e for e in events if isinstance(e, Hold)]
    pauses = [e for e in events if isinstance(e, Pause)]
    sounds = sorted(speeches + chimes, key=lambda e: (e.start_ms, e.end_ms))
    assert len(speeches) + len(chimes) + len(holds) + len(pauses) == len(events)
    assert script.routine_id == routine.id and script.title == routine.title

    # Times: ints >= 0, inside [0, duration]; events sorted by start.
    assert type(duration) is int
    for item in (*events, *script.chapters):
        assert type(item.start_ms) is int and type(item.end_ms) is int, item
        assert 0 <= item.start_ms <= item.end_ms <= duration, item
    assert [e.start_ms for e in events] == sorted(e.start_ms for e in events)

    # Each phrase lasts exactly what speech_ms says.
    for s in speeches:
        assert s.end_ms - s.start_ms == speech_ms(s.text), s

    # Speech overlaps no other sound; chimes overlap no speech (chime vs chime is not a rule).
    latest_sound_end = latest_speech_end = 0
    for e in sounds:
        if isinstance(e, Speech):
            assert e.start_ms >= latest_sound_end, f"speech overlaps an earlier sound: {e}"
            latest_speech_end = max(latest_speech_end, e.end_ms)
        else:
            assert e.start_ms >= latest_speech_end, f"chime overlaps speech: {e}"
        latest_sound_end = max(latest_sound_end, e.end_ms)
    # Pauses overlap no sound.
    latest_sound_end = latest_pause_end = 0
    for e in sorted(sounds + pauses, key=lambda e: (e.start_ms, e.end_ms)):
        if isinstance(e, Pause):
            assert e.start_ms >= latest_sound_end, f"pause overlaps a sound: {e}"
            latest_pause_end = max(latest_pause_end, e.end_ms)
        else:
            assert e.start_ms >= latest_pause_end, f"sound overlaps a pause: {e}"
            latest_sound_end = max(latest_sound_end, e.end_ms)

    # Holds: right count, order and sides; exact length; bracketed by chime onsets.
    assert [(h.stretch, h.side) for h in holds] == [p for s in routine.stretches for p in expected_holds(s)]
    chime_keys = {(c.sound, c.start_ms, c.stretch, c.side) for c in chimes}
    assert len(chimes) == 2 * len(holds)
    for c in chimes:
        assert c.end_ms - c.start_ms == chime_ms[c.sound], c
    by_id = {s.id: s for s in routine.stretches}
    for h in holds:
        assert h.end_ms - h.start_ms == by_id[h.stretch].hold_ms, h
        assert ("start", h.start_ms, h.stretch, h.side) in chime_keys, f"no start chime at the onset of {h}"
        assert ("end", h.end_ms, h.stretch, h.side) in chime_keys, f"no end chime at the end of {h}"

    # Chapters: Introduction, one per stretch, Finish with an outro; contiguous up to the end.
    chapters = script.chapters
    count = len(routine.stretches)
    titles = ["Introduction", *(s.name for s in routine.stretches)] + (["Finish"] if routine.outro else [])
    assert [c.title for c in chapters] == titles
    assert chapters[0].start_ms == 0
    for before, after in zip(chapters, chapters[1:]):
        assert before.end_ms == after.start_ms, (before, after)
    assert chapters[-1].end_ms == duration
    texts = [s.text for s in speeches]
    assert texts[0] == sentence(routine.title)
    if routine.intro:
        assert texts[1] == routine.intro
    if routine.outro:
        assert texts[-1] == routine.outro
        assert chapters[-1].start_ms == speeches[-1].start_ms

    # Each stretch, within its chapter.
    for number, (stretch, chapter) in enumerate(zip(routine.stretches, chapters[1:]), 1):
        region = [s for s in speeches if chapter.start_ms <= s.start_ms < chapter.end_ms]
        region_holds = [h for h in holds if chapter.start_ms <= h.start_ms < chapter.end_ms]
        assert region[0].text == announcement(number, count, stretch.name)
        assert region[0].start_ms == chapter.start_ms, "a stretch chapter starts at its announcement"
        told = [announcement(number, count, stretch.name)]
        told += [sentence(stretch.why)] if stretch.why else []
        told += [sentence(step) for step in stretch.steps]
        assert [s.text for s in region[: len(told)]] == told
        assert [(h.stretch, h.side) for h in region_holds] == expected_holds(stretch)
        anchor = len(told) - 1  # index in region of the last step, then of the last "Release."
        sides = len(stretch.side_labels)
        for k, h in enumerate(region_holds):
            rep, side_index = divmod(k, sides)
            before = [i for i, s in enumerate(region) if s.end_ms <= h.start_ms]
            cue = region[before[-1]]
            if k == 0 and stretch.sides == "none" and stretch.reps == 1:
                assert before[-1] == anchor, f"nothing to cue before the only hold of {stretch.id}"
            else:
                assert before[-1] > anchor, f"no side/round cue before hold {k + 1} of {stretch.id}: {h}"
                assert cue.text != "Release." and cue.side == h.side, cue
                if stretch.sides == "both":
                    assert stretch.side_names[side_index].lower() in cue.text.lower(), cue
                if rep > 0 and side_index == 0:
                    assert cue.text.startswith(f"Round {WORDS[rep + 1]}."), cue
            # The silence before the hold: get_ready before the first, switch before later ones.
            previous_end = max(e.end_ms for e in sounds if e.start_ms < h.start_ms)
            needed = stretch.get_ready_ms if k == 0 else stretch.switch_ms
            assert h.start_ms - previous_end >= needed, f"{h.start_ms - previous_end} ms before {h}, need {needed}"
            # "Release." after the end chime has faded, before anything else.
            after = [i for i, s in enumerate(region) if s.start_ms >= h.end_ms]
            release = region[after[0]]
            assert release.text == "Release." and release.side == h.side, release
            assert release.start_ms >= h.end_ms + chime_ms["end"]
            if k + 1 < len(region_holds):
                assert release.end_ms <= region_holds[k + 1].start_ms
            anchor = after[0]
        if number < count:
            last_end = max(e.end_ms for e in sounds if chapter.start_ms <= e.start_ms < chapter.end_ms)
            gap = chapters[number + 1].start_ms - last_end
            assert gap >= stretch.rest_ms, f"rest after {stretch.id} is {gap} ms, need {stretch.rest_ms}"

    # Phrases: distinct texts in order of first use.
    first_use: list[str] = []
    for text in texts:
        if text not in first_use:
            first_use.append(text)
    assert script.phrases == tuple(first_use)

    # Duration: the last sound's end plus the tail.
    assert duration == max(e.end_ms for e in sounds) + pacing.tail_ms


# ---------------------------------------------------------------- bed-back


@pytest.fixture(scope="module")
def bed_back() -> Routine:
    return load_routine("bed-back")


def with_stretches(routine: Routine, **changes) -> Routine:
    return replace(routine, stretches=tuple(replace(s, **changes) for s in routine.stretches))


def test_bed_back_keeps_every_rule(bed_back):
    script = build(bed_back)
    check_script(script, bed_back, SETTINGS, fake_speech, CHIMES)
    assert len(script.holds) == 9  # four stretches on both sides, one on none


@pytest.mark.parametrize("reps", [1, 2, 3])
@pytest.mark.parametrize("sides", ["both", "none"])
def test_bed_back_variants_keep_every_rule(bed_back, sides, reps):
    routine = with_stretches(bed_back, sides=sides, reps=reps)
    script = build(routine)
    check_script(script, routine, SETTINGS, fake_speech, CHIMES)


def test_plan_keeps_every_rule(bed_back):
    settings = Settings()
    script = plan(bed_back, settings)
    check_script(script, bed_back, settings, lambda t: estimate_speech_ms(t, settings.rate), chime_lengths_ms())


def test_hold_lengths_do_not_depend_on_speech_length(bed_back):
    short = build(bed_back, speech_ms=lambda text: 1)
    long = build(bed_back, speech_ms=lambda text: 20_000)
    lengths = [(h.stretch, h.side, h.end_ms - h.start_ms) for h in short.holds]
    assert lengths == [(h.stretch, h.side, h.end_ms - h.start_ms) for h in long.holds]
    assert {length for _, _, length in lengths} == {30_000}
    assert long.duration_ms > short.duration_ms  # the speech did move everything else
    check_script(short, bed_back, SETTINGS, lambda text: 1, CHIMES)
    check_script(long, bed_back, SETTINGS, lambda text: 20_000, CHIMES)


def test_each_hold_runs_from_start_chime_onset_to_end_chime_onset(bed_back):
    routine = replace(bed_back, stretches=(replace(bed_back.stretches[0], hold_ms=12_345),))
    events = build(routine).events
    for i, event in enumerate(events):
        if isinstance(event, Hold):
            assert event.end_ms - event.start_ms == 12_345
            start = [e for e in events if isinstance(e, Chime) and e.sound == "start" and e.start_ms == event.start_ms]
            end = [e for e in events if isinstance(e, Chime) and e.sound == "end" and e.start_ms == event.end_ms]
            assert len(start) == 1 and len(end) == 1
            assert start[0].side == end[0].side == event.side


def test_a_start_chime_longer_than_the_hold_is_not_talked_over(bed_back):
    chimes = {"start": 2_500, "end": 100}
    routine = with_stretches(bed_back, hold_ms=1_000)
    script = build(routine, chime_ms=chimes)
    check_script(script, routine, SETTINGS, fake_speech, chimes)
    assert [h.end_ms - h.start_ms for h in script.holds] == [1_000] * 9
    for hold in script.holds:
        release = [e for e in script.events if isinstance(e, Speech) and e.start_ms >= hold.end_ms][0]
        assert release.start_ms >= hold.start_ms + 2_500


def test_holds_per_stretch_follow_sides_and_reps(bed_back):
    sides = [(h.stretch, h.side) for h in build(bed_back).holds]
    assert sides[:2] == [("hamstring", "left"), ("hamstring", "right")]
    assert [s for s in sides if s[0] == "butterfly"] == [("butterfly", None)]
    twice = [(h.stretch, h.side) for h in build(with_stretches(bed_back, reps=2)).holds]
    assert [side for stretch, side in twice if stretch == "hamstring"] == ["left", "right", "left", "right"]
    assert [side for stretch, side in twice if stretch == "butterfly"] == [None, None]
    thrice = build(with_stretches(bed_back, sides="none", reps=3)).holds
    assert len(thrice) == 15 and {h.side for h in thrice} == {None}


def _cue_before(events, hold: Hold) -> Speech:
    return [e for e in events if isinstance(e, Speech) and e.end_ms <= hold.start_ms][-1]


def test_side_cues_before_holds_on_both_sides(bed_back):
    routine = replace(bed_back, stretches=(replace(bed_back.stretches[0], reps=2),))
    script = build(routine)
    cues = [_cue_before(script.events, h).text for h in script.holds]
    assert [cue.endswith(side) for cue, side in zip(cues, ["Left leg.", "Right leg."] * 2)] == [True] * 4, cues
    assert cues[2].startswith("Round two."), cues
    once = build(bed_back)
    assert [_cue_before(once.events, h).text for h in once.holds[:2]] == ["Left leg.", "Switch sides. Right leg."]


def test_no_cue_before_a_single_hold_with_no_sides(bed_back):
    butterfly = bed_back.stretches[3]
    script = build(replace(bed_back, stretches=(butterfly,)))
    (hold,) = script.holds
    assert _cue_before(script.events, hold).text == sentence(butterfly.steps[-1])


def test_every_hold_gets_a_round_cue_with_no_sides_and_several_reps(bed_back):
    """Rule: only the lone hold of a sides="none", reps=1 stretch goes without a cue."""
    butterfly = replace(bed_back.stretches[3], reps=2)
    script = build(replace(bed_back, stretches=(butterfly,)))
    first, second = script.holds
    assert _cue_before(script.events, second).text == "Round two."
    assert _cue_before(script.events, first).text != sentence(butterfly.steps[-1]), (
        "the first of several holds on no sides has no cue before it"
    )


def test_release_follows_every_hold(bed_back):
    script = build(bed_back)
    events = list(script.events)
    for hold in script.holds:
        after = [e for e in events if isinstance(e, Speech) and e.start_ms >= hold.end_ms][0]
        assert after.text == "Release." and after.side == hold.side
        assert after.start_ms == hold.end_ms + CHIMES["end"] + PACING.after_chime_ms


def test_get_ready_and_switch_pauses_before_holds(bed_back):
    routine = replace(
        bed_back,
        stretches=tuple(
            replace(s, get_ready_ms=7_000, switch_ms=12_000, reps=2 if s.sides == "both" else 3)
            for s in bed_back.stretches
        ),
    )
    script = build(routine)
    sounds = [e for e in script.events if isinstance(e, (Speech, Chime))]
    for stretch in routine.stretches:
        holds = [h for h in script.holds if h.stretch == stretch.id]
        assert len(holds) == (4 if stretch.sides == "both" else 3)
        silences = [h.start_ms - max(e.end_ms for e in sounds if e.start_ms < h.start_ms) for h in holds]
        assert silences[0] >= 7_000, (stretch.id, silences)
        assert all(s >= 12_000 for s in silences[1:]), (stretch.id, silences)
        if stretch.sides == "both":  # every hold is cued, and waits exactly get_ready/switch after it
            assert silences == [7_000, 12_000, 12_000, 12_000], (stretch.id, silences)
    # A get-ready shorter than the gap after a phrase still leaves that gap.
    quick = with_stretches(bed_back, get_ready_ms=0)
    check_script(build(quick), quick, SETTINGS, fake_speech, CHIMES)


def test_rest_between_stretches(bed_back):
    routine = with_stretches(bed_back, rest_ms=45_000)
    script = build(routine)
    check_script(script, routine, SETTINGS, fake_speech, CHIMES)
    speeches = [e for e in script.events if isinstance(e, Speech)]
    for chapter in script.chapters[2:-1]:
        before = [s for s in speeches if s.end_ms <= chapter.start_ms][-1]
        assert before.text == "Release."
        assert chapter.start_ms - before.end_ms == 45_000
    # A rest shorter than the gap after a phrase still leaves that gap.
    none = with_stretches(bed_back, rest_ms=0)
    check_script(build(none), none, SETTINGS, fake_speech, CHIMES)


def test_chapters(bed_back):
    script = build(bed_back)
    assert [c.title for c in script.chapters] == [
        "Introduction",
        "Hamstring stretch",
        "Piriformis stretch",
        "Hip flexor stretch",
        "Supine butterfly stretch",
        "Prone rectus femoris stretch",
        "Finish",
    ]
    speeches = {e.text: e for e in script.events if isinstance(e, Speech)}
    assert script.chapters[1].start_ms == speeches["Stretch one of five. Hamstring stretch."].start_ms
    assert script.chapters[5].start_ms == speeches["Stretch five of five. Prone rectus femoris stretch."].start_ms
    assert script.chapters[-1].start_ms == speeches[bed_back.outro].start_ms
    assert script.chapters[-1].end_ms == script.duration_ms


def test_no_finish_chapter_without_outro_and_no_intro_needed(bed_back):
    routine = replace(bed_back, intro=None, outro=None)
    script = build(routine)
    check_script(script, routine, SETTINGS, fake_speech, CHIMES)
    assert script.chapters[-1].title == "Prone rectus femoris stretch"
    assert script.chapters[-1].end_ms == script.duration_ms
    texts = [e.text for e in script.events if isinstance(e, Speech)]
    assert texts[:2] == ["Bed stretches for lower back pain.", "Stretch one of five. Hamstring stretch."]
    assert texts[-1] == "Release."


def test_same_inputs_give_an_equal_script(bed_back):
    first = build(bed_back)
    second = build(load_routine("bed-back"), Settings(pacing=replace(PACING)), fake_speech, dict(CHIMES))
    assert first == second
    assert plan(bed_back, Settings()) == plan(bed_back, Settings())


def test_speech_lasts_what_speech_ms_says(bed_back):
    lengths: dict[str, int] = {}

    def speech_ms(text: str) -> int:
        return lengths.setdefault(text, 100 + 37 * len(lengths))

    script = build(bed_back, speech_ms=speech_ms)
    speeches = [e for e in script.events if isinstance(e, Speech)]
    assert speeches and all(s.end_ms - s.start_ms == lengths[s.text] for s in speeches)
    assert len(set(lengths.values())) == len(lengths)  # lengths told apart, so a mix-up would show


def test_phrases_are_distinct_in_first_use_order(bed_back):
    script = build(bed_back)
    phrases = script.phrases
    assert phrases[:3] == ("Bed stretches for lower back pain.", bed_back.intro, "Stretch one of five. Hamstring stretch.")
    assert len(phrases) == len(set(phrases))
    assert phrases.count("Release.") == 1 and phrases.count("Left leg.") == 1  # said in two stretches
    spoken = [e.text for e in script.events if isinstance(e, Speech)]
    assert set(phrases) == set(spoken) and len(phrases) < len(spoken)
    assert list(phrases) == sorted(phrases, key=spoken.index)


def test_duration_is_last_sound_plus_tail(bed_back):
    script = build(bed_back)
    last = max(e.end_ms for e in script.events if isinstance(e, (Speech, Chime)))
    assert script.duration_ms == last + PACING.tail_ms
    longer = build(bed_back, Settings(pacing=replace(PACING, tail_ms=PACING.tail_ms + 5_000)))
    assert longer.duration_ms == script.duration_ms + 5_000
    assert longer.events == script.events


# ---------------------------------------------------------------- generated routines

# Lower-case words only, so no step, name or side name ever reads like a cue ("Left side.", "Round two.").
_word = st.sampled_from("a gently knee back hip left right side slowly breathe round switch".split())
_text = st.lists(_word, min_size=1, max_size=5).map(" ".join)
_maybe_text = st.none() | _text

_stretch = st.builds(
    Stretch,
    id=st.just("s"),
    name=_text.map(str.capitalize),
    steps=st.lists(_text, min_size=1, max_size=4).map(tuple),
    hold_ms=st.integers(1_000, 5_000) | st.integers(1_000, 600_000),  # short ones too: shorter than a chime
    sides=st.sampled_from(["both", "none"]),
    reps=st.integers(1, 3),
    rest_ms=st.integers(0, 60_000),
    switch_ms=st.integers(1_000, 20_000),
    get_ready_ms=st.integers(0, 20_000),
    side_names=st.tuples(_text, _text),
    why=_maybe_text,
)
routines = st.builds(
    Routine,
    id=st.just("generated"),
    title=_text.map(str.capitalize),
    stretches=st.lists(_stretch, min_size=1, max_size=6).map(
        lambda found: tuple(replace(s, id=f"s{i}") for i, s in enumerate(found))
    ),
    intro=_maybe_text,
    outro=_maybe_text,
)

pacings = st.builds(
    Pacing,
    lead_in_ms=st.integers(0, 2_000),
    gap_ms=st.integers(0, 2_000),
    step_pause_ms=st.integers(0, 5_000),
    after_chime_ms=st.integers(0, 1_000),
    tail_ms=st.integers(0, 5_000),
)
chime_lengths = st.fixed_dictionaries({"start": st.integers(1, 3_000), "end": st.integers(1, 3_000)})


_speech_length = st.integers(1, 30_000)


@st.composite
def speech_lengths(draw):
    """Either a drawn rate per character, or a length drawn for each text as it is first asked for."""
    if draw(st.booleans()):
        per_char = draw(st.integers(1, 300))
        return lambda text: per_char * len(text)
    data = draw(st.data())
    drawn: dict[str, int] = {}

    def speech_ms(text: str) -> int:
        if text not in drawn:
            drawn[text] = data.draw(_speech_length, label=f"speech_ms({text!r})")
        return drawn[text]

    return speech_ms


PROPERTY = hsettings(max_examples=200, deadline=None)
LIGHTER = hsettings(max_examples=100, deadline=None)


# Shrunk by this test from generated routines: once the first of several holds of a sides="none"
# stretch got no cue at all. Kept so the case always runs.
KNOWN_CUE_BUG = Routine(
    id="generated",
    title="A",
    stretches=(Stretch("s0", "A", ("a",), 1_000, "none", 2, 0, 1_000, 0, ("a", "a")),),
)


@PROPERTY
@example(KNOWN_CUE_BUG, Pacing(), fake_speech, CHIMES)
@given(routines, pacings, speech_lengths(), chime_lengths)
def test_generated_routines_keep_every_rule(routine, pacing, speech_ms, chime_ms):
    settings = Settings(pacing=pacing)
    script = build_script(routine, settings, speech_ms, chime_ms)
    check_script(script, routine, settings, speech_ms, chime_ms)


@LIGHTER
@given(routines, pacings, speech_lengths(), chime_lengths)
def test_generated_hold_lengths_do_not_depend_on_speech(routine, pacing, speech_ms, chime_ms):
    settings = Settings(pacing=pacing)

    def holds(speech):
        return [(h.stretch, h.side, h.end_ms - h.start_ms) for h in build_script(routine, settings, speech, chime_ms).holds]

    expected = [(s.id, side, s.hold_ms) for s in routine.stretches for _, side in expected_holds(s)]
    assert holds(lambda text: 1) == holds(lambda text: 20_000) == holds(speech_ms) == expected


@LIGHTER
@given(routines, pacings, speech_lengths(), chime_lengths)
def test_generated_builds_are_pure(routine, pacing, speech_ms, chime_ms):
    settings = Settings(pacing=pacing)
    first = build_script(routine, settings, speech_ms, chime_ms)
    again = build_script(replace(routine), Settings(pacing=replace(pacing)), speech_ms, dict(chime_ms))
    assert first == again
    assert first.phrases == again.phrases and first.chapters == again.chapters
