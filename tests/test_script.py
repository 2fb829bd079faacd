"""The script builder: timeline rules, checked on bed-back and on generated routines.

Every rule lives in ``check_script``; the unit tests run it on the shipped routine
(and variants of it) and pin a few details, the property tests run it on routines,
settings (guidance, cues, chimes, pacing, fades), speech lengths and chime lengths
drawn by hypothesis.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import example, given, settings as hsettings, strategies as st

from voiceroutine import Routine, RoutineError, Settings, Stretch, load_routine, plan
from voiceroutine.cues import CHIME_MARGIN_MS
from voiceroutine.language import load_language
from voiceroutine.fit import fit_to_length, scale_holds
from voiceroutine.routine import HOLD_RANGE_MS
from voiceroutine.script import Chime, Hold, Pause, Script, Speech, build_script
from voiceroutine.settings import GUIDANCE_LEVELS, PACES, Pacing
from voiceroutine.sounds import chime_lengths_ms, chime_sources

CHIMES = {"start": 900, "end": 900}
NO_CHIMES: dict[str, int] = {}
PACING = Pacing(lead_in_ms=500, gap_ms=700, step_pause_ms=2500, after_chime_ms=300, tail_ms=2000)
SETTINGS = replace(Settings(), pacing=PACING)  # standard guidance, ten seconds left, soft chimes
WORDS = "zero one two three four five six seven eight nine ten".split()

# Written out here rather than imported, so a change of wording in the library shows.
CUE_KINDS = ("countdown", "time-left", "halfway", "tip", "breathe")
COUNTDOWN = {"Three.": 3, "Two.": 2, "One.": 1}
ENGLISH = load_language("en")
HALFWAY = "Halfway."
BREATHE = "Breathe in... and out."
BEGIN = "Begin."
CUE_GAP_MS = 400
COUNTDOWN_GAP_MS = 100


def fake_speech(text: str) -> int:
    """50 ms a character: deterministic, and different for every length of text."""
    return 50 * len(text)


def sentence(text: str) -> str:
    text = text.strip()
    return text if text[-1:] in ".!?" else text + "."


def announcement(number: int, count: int, name: str) -> str:
    return f"Stretch {WORDS[number]} of {WORDS[count]}. {sentence(name)}"


def next_up(stretch: Stretch) -> str:
    return f"Next: {sentence(stretch.name)}"


def expected_holds(stretch: Stretch) -> list[tuple[str, str | None]]:
    sides = ("left", "right") if stretch.sides == "both" else (None,)
    return [(stretch.id, side) for _ in range(stretch.reps) for side in sides]


def expected_cues(stretch: Stretch, settings: Settings) -> Counter:
    """(kind, text) of every cue one hold of ``stretch`` asks for, placed or dropped."""
    cues: Counter = Counter()
    if settings.guidance == "minimal":
        return cues
    cues.update(("time-left", ENGLISH.time_left(mark)) for mark in settings.time_left_ms)
    cues[("halfway", HALFWAY)] += 1
    if settings.guidance == "full":
        cues.update(("countdown", word) for word in COUNTDOWN)
        cues.update(("tip", tip) for tip in stretch.tips)
        # Every breathe_every inside the hold, and one even in a shorter hold: the phrases a
        # routine may say must not depend on its hold lengths.
        every = settings.breathe_every_ms
        cues[("breathe", BREATHE)] += max(1, len(range(every, stretch.hold_ms, every)))
    return cues


def build(routine: Routine, settings: Settings = SETTINGS, speech_ms=fake_speech, chime_ms=CHIMES) -> Script:
    return build_script(routine, settings, speech_ms, chime_ms)


def speeches_of(script: Script) -> list[Speech]:
    return [e for e in script.events if isinstance(e, Speech)]


def _check_cue_times(cue: Speech, hold: Hold, stretch: Stretch, settings: Settings) -> None:
    """Fixed cues start on their mark (halfway up to 2 s early); tips and breaths within their slack of it."""
    length = hold.end_ms - hold.start_ms
    if cue.cue == "countdown":
        assert cue.start_ms == hold.end_ms - COUNTDOWN[cue.text] * 1000, cue
    elif cue.cue == "time-left":
        marks = [hold.end_ms - m for m in settings.time_left_ms if ENGLISH.time_left(m) == cue.text]
        assert cue.start_ms in marks, (cue, marks)
    elif cue.cue == "halfway":
        assert cue.text == HALFWAY and 0 <= hold.start_ms + length // 2 - cue.start_ms <= min(2_000, length // 10), cue
    elif cue.cue == "tip":
        spacing = length // (len(stretch.tips) + 1)
        ideal = [hold.start_ms + spacing * (i + 1) for i, tip in enumerate(stretch.tips) if tip == cue.text]
        assert any(abs(cue.start_ms - at) <= spacing // 2 for at in ideal), (cue, ideal, spacing)
    else:
        every = settings.breathe_every_ms
        assert cue.text == BREATHE, cue
        ideal = range(hold.start_ms + every, hold.end_ms, every) or [hold.start_ms + every]
        assert any(abs(cue.start_ms - at) <= every // 2 for at in ideal), (cue, every)


def check_script(script: Script, routine: Routine, settings: Settings, speech_ms, chime_ms) -> None:
    """Assert every timeline rule the builder promises."""
    pacing = settings.pacing
    events = script.events
    duration = script.duration_ms
    chimed = bool(chime_ms)
    speeches = [e for e in events if isinstance(e, Speech)]
    chimes = [e for e in events if isinstance(e, Chime)]
    holds = [e for e in events if isinstance(e, Hold)]
    pauses = [e for e in events if isinstance(e, Pause)]
    sounds = sorted(speeches + chimes, key=lambda e: (e.start_ms, e.end_ms))
    main = [s for s in speeches if s.cue is None]  # everything said outside holds
    begins = [s for s in speeches if s.cue == "begin"]
    cues = [s for s in speeches if s.cue in CUE_KINDS]
    assert len(speeches) + len(chimes) + len(holds) + len(pauses) == len(events)
    assert len(main) + len(begins) + len(cues) == len(speeches), {s.cue for s in speeches}
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
    # Pauses overlap no sound (the "Next:" of a rest is said before the rest's pause).
    latest_sound_end = latest_pause_end = 0
    for e in sorted(sounds + pauses, key=lambda e: (e.start_ms, e.end_ms)):
        if isinstance(e, Pause):
            assert e.start_ms >= latest_sound_end, f"pause overlaps a sound: {e}"
            latest_pause_end = max(latest_pause_end, e.end_ms)
        else:
            assert e.start_ms >= latest_pause_end, f"sound overlaps a pause: {e}"
            latest_sound_end = max(latest_sound_end, e.end_ms)
    # After each phrase said outside a hold, at least the gap before the next sound.
    for before, after in zip(sounds, sounds[1:]):
        if isinstance(before, Speech) and before.cue is None:
            assert after.start_ms - before.end_ms >= pacing.gap_ms, (before, after)

    # The first words wait for the lead-in and any fade-in.
    assert speeches[0].text == sentence(routine.title)
    assert speeches[0].start_ms == max(pacing.lead_in_ms, settings.fade_ms)

    # Holds: right count, order and sides; exact length.
    assert [(h.stretch, h.side) for h in holds] == [p for s in routine.stretches for p in expected_holds(s)]
    by_id = {s.id: s for s in routine.stretches}
    for h in holds:
        assert h.end_ms - h.start_ms == by_id[h.stretch].hold_ms, h
    opening_end: dict[Hold, int] = {}  # where the start marker (chime or "Begin.") has finished
    if chimed:
        # Bracketed by chime onsets; nobody says "Begin.".
        assert not begins, begins
        chime_keys = {(c.sound, c.start_ms, c.stretch, c.side) for c in chimes}
        assert len(chimes) == 2 * len(holds)
        for c in chimes:
            assert c.end_ms - c.start_ms == chime_ms[c.sound], c
        for h in holds:
            assert ("start", h.start_ms, h.stretch, h.side) in chime_keys, f"no start chime at the onset of {h}"
            assert ("end", h.end_ms, h.stretch, h.side) in chime_keys, f"no end chime at the end of {h}"
            opening_end[h] = h.start_ms + chime_ms["start"]
    else:
        # No chimes at all: "Begin." starts exactly as each hold does.
        assert not chimes, chimes
        assert len(begins) == len(holds)
        for h, b in zip(holds, begins):
            assert b.text == BEGIN and b.start_ms == h.start_ms and (b.stretch, b.side) == (h.stretch, h.side), (h, b)
            opening_end[h] = b.end_ms

    # Cues: strictly inside their own hold, clear of both markers by the margin, apart from each other.
    in_hold: dict[Hold, list[Speech]] = {h: [] for h in holds}
    for s in main:
        assert not any(h.start_ms <= s.start_ms < h.end_ms for h in holds), f"{s} said during a hold"
    for c in cues:
        owners = [h for h in holds if h.start_ms <= c.start_ms < h.end_ms]
        assert len(owners) == 1, f"cue outside any hold: {c}"
        (h,) = owners
        assert (c.stretch, c.side) == (h.stretch, h.side), (c, h)
        assert c.start_ms >= opening_end[h] + CHIME_MARGIN_MS, f"{c} too soon after the start of {h}"
        assert c.end_ms <= h.end_ms - CHIME_MARGIN_MS, f"{c} runs into the end of {h}"
        _check_cue_times(c, h, by_id[h.stretch], settings)
        in_hold[h].append(c)
    for h, said in in_hold.items():
        for a, b in zip(said, said[1:]):
            gap = COUNTDOWN_GAP_MS if a.cue == b.cue == "countdown" else CUE_GAP_MS
            assert b.start_ms >= a.end_ms + gap, f"cues too close: {a}, {b}"
        countdown = [c.text for c in said if c.cue == "countdown"]
        assert countdown in ([], list(COUNTDOWN)), f"a partial countdown in {h}: {countdown}"
    # Every cue the guidance asks for is either said or dropped with a reason.
    dropped = script.dropped
    assert [d.at_ms for d in dropped] == sorted(d.at_ms for d in dropped)
    for d in dropped:
        assert d.kind in CUE_KINDS and d.reason and isinstance(d.reason, str), d
        assert (d.stretch, d.side) in {(h.stretch, h.side) for h in holds}, d
        if d.kind == "countdown":
            assert d.reason.startswith("the countdown does not fit"), d
    for stretch in routine.stretches:
        for side in {side for _, side in expected_holds(stretch)}:
            said = Counter((c.cue, c.text) for c in cues if (c.stretch, c.side) == (stretch.id, side))
            missed = Counter((d.kind, d.text) for d in dropped if (d.stretch, d.side) == (stretch.id, side))
            wanted = Counter({key: n * stretch.reps for key, n in expected_cues(stretch, settings).items()})
            assert said + missed == wanted, (stretch.id, side, said, missed)

    # Chapters: Introduction, one per stretch, Finish with an outro; contiguous up to the end.
    chapters = script.chapters
    count = len(routine.stretches)
    titles = ["Introduction", *(s.name for s in routine.stretches)] + (["Finish"] if routine.outro else [])
    assert [c.title for c in chapters] == titles
    assert chapters[0].start_ms == 0
    for before, after in zip(chapters, chapters[1:]):
        assert before.end_ms == after.start_ms, (before, after)
    assert chapters[-1].end_ms == duration
    texts = [s.text for s in main]
    assert texts[0] == sentence(routine.title)
    if routine.intro:
        assert texts[1] == routine.intro
    if routine.outro:
        assert texts[-1] == routine.outro
        assert chapters[-1].start_ms == main[-1].start_ms

    # Each stretch, within its chapter.
    for number, (stretch, chapter) in enumerate(zip(routine.stretches, chapters[1:]), 1):
        region = [s for s in main if chapter.start_ms <= s.start_ms < chapter.end_ms]
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
                assert before[-1] == anchor + 1, f"not one side/round cue before hold {k + 1} of {stretch.id}: {h}"
                assert cue.text != "Release." and cue.side == h.side, cue
                if stretch.sides == "both":
                    assert stretch.side_names[side_index].lower() in cue.text.lower(), cue
                if stretch.reps > 1 and side_index == 0:
                    assert cue.text.startswith(f"Round {WORDS[rep + 1]}."), cue
                elif side_index > 0:
                    assert cue.text.startswith("Switch sides."), cue
            # The silence before the hold: get_ready before the first, switch before later ones.
            previous_end = max(e.end_ms for e in sounds if e.start_ms < h.start_ms)
            needed = stretch.get_ready_ms if k == 0 else stretch.switch_ms
            assert h.start_ms - previous_end >= needed, f"{h.start_ms - previous_end} ms before {h}, need {needed}"
            # "Release." after the end marker, before anything else.
            after = [i for i, s in enumerate(region) if s.start_ms >= h.end_ms]
            release = region[after[0]]
            assert release.text == "Release." and release.side == h.side, release
            if chimed:  # once both chimes have faded, and the pause after them
                faded = max(h.end_ms + chime_ms["end"], h.start_ms + chime_ms["start"])
                assert release.start_ms == faded + pacing.after_chime_ms, (release, h)
            else:  # on the dot of the hold's end, unless "Begin." is still being said
                assert release.start_ms == max(h.end_ms, opening_end[h]), (release, h)
            if k + 1 < len(region_holds):
                assert release.end_ms <= region_holds[k + 1].start_ms
            anchor = after[0]
        rest = region[anchor + 1 :]
        if number < count:
            # The rest opens with what comes next, and still lasts rest_ms from the last sound of this stretch.
            assert [s.text for s in rest] == [next_up(routine.stretches[number])], rest
            (told_next,) = rest
            last_end = max(e.end_ms for e in sounds if chapter.start_ms <= e.start_ms < told_next.start_ms)
            assert last_end == region[anchor].end_ms, "the stretch ends with its last Release."
            assert told_next.start_ms >= last_end + pacing.gap_ms
            gap = chapters[number + 1].start_ms - last_end
            assert gap >= stretch.rest_ms, f"rest after {stretch.id} is {gap} ms, need {stretch.rest_ms}"
            assert chapters[number + 1].start_ms - told_next.end_ms >= pacing.gap_ms
        else:
            assert rest == [], rest

    # Phrases: distinct texts in order of first use; possible phrases add the dropped cues.
    first_use: list[str] = []
    for text in (s.text for s in speeches):
        if text not in first_use:
            first_use.append(text)
    assert script.phrases == tuple(first_use)
    assert script.possible_phrases == tuple(dict.fromkeys([*first_use, *(d.text for d in dropped)]))

    # Duration: the last sound's end plus the tail (or the fade-out, if longer).
    assert duration == max(e.end_ms for e in sounds) + max(pacing.tail_ms, settings.fade_ms)


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


@pytest.mark.parametrize("guidance", GUIDANCE_LEVELS)
@pytest.mark.parametrize("chimes", ["soft", "bright", "none"])
def test_plan_keeps_every_rule(bed_back, guidance, chimes):
    settings = Settings(guidance=guidance, chimes=chimes)
    script = plan(bed_back, settings)
    chime_ms = chime_lengths_ms(chime_sources(chimes))
    assert bool(chime_ms) == (chimes != "none")
    check_script(script, bed_back, settings, lambda t: ENGLISH.estimate_ms(t, settings.rate), chime_ms)


def test_default_settings_are_calm_standard_and_soft(bed_back):
    settings = Settings()
    assert settings.pacing == PACES["calm"].pacing and settings.rate == PACES["calm"].rate
    assert (settings.guidance, settings.time_left_ms, settings.chimes) == ("standard", (10_000,), "soft")
    speeches = speeches_of(plan(bed_back, settings))
    title, intro = speeches[:2]
    assert intro.start_ms - title.end_ms == PACES["calm"].pacing.gap_ms
    assert {s.cue for s in speeches} == {None, "halfway", "time-left"}


def test_hold_lengths_do_not_depend_on_speech_length(bed_back):
    short = build(bed_back, speech_ms=lambda text: 1)
    long = build(bed_back, speech_ms=lambda text: 20_000)
    lengths = [(h.stretch, h.side, h.end_ms - h.start_ms) for h in short.holds]
    assert lengths == [(h.stretch, h.side, h.end_ms - h.start_ms) for h in long.holds]
    assert {length for _, _, length in lengths} == {30_000}
    assert long.duration_ms > short.duration_ms  # the speech did move everything else
    check_script(short, bed_back, SETTINGS, lambda text: 1, CHIMES)
    check_script(long, bed_back, SETTINGS, lambda text: 20_000, CHIMES)
    # Cues that cannot fit are dropped, never allowed to stretch the hold.
    assert not [s for s in speeches_of(long) if s.cue] and len(long.dropped) == 2 * 9
    assert len([s for s in speeches_of(short) if s.cue]) == 2 * 9 and not short.dropped


def test_each_hold_runs_from_start_chime_onset_to_end_chime_onset(bed_back):
    routine = replace(bed_back, stretches=(replace(bed_back.stretches[0], hold_ms=12_345),))
    events = build(routine).events
    holds = [e for e in events if isinstance(e, Hold)]
    assert len(holds) == 2
    for event in holds:
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
        assert release.text == "Release."
        assert release.start_ms >= hold.start_ms + 2_500
    assert not [s for s in speeches_of(script) if s.cue]  # no room for any cue


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
    assert cues == ["Round one. Left leg.", "Switch sides. Right leg.", "Round two. Left leg.", "Switch sides. Right leg."]
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
    assert _cue_before(script.events, first).text == "Round one."
    assert _cue_before(script.events, second).text == "Round two."


def test_release_follows_every_hold(bed_back):
    script = build(bed_back)
    events = list(script.events)
    for hold in script.holds:
        after = [e for e in events if isinstance(e, Speech) and e.start_ms >= hold.end_ms][0]
        assert after.text == "Release." and after.side == hold.side and after.cue is None
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
    check_script(script, routine, SETTINGS, fake_speech, CHIMES)
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


def test_rest_between_stretches_opens_with_what_comes_next(bed_back):
    routine = with_stretches(bed_back, rest_ms=45_000)
    script = build(routine)
    check_script(script, routine, SETTINGS, fake_speech, CHIMES)
    speeches = speeches_of(script)
    for number, chapter in enumerate(script.chapters[2:-1], 1):
        told_next, release = [s for s in speeches if s.end_ms <= chapter.start_ms][:-3:-1]
        assert told_next.text == f"Next: {routine.stretches[number].name}."
        assert release.text == "Release."
        assert told_next.start_ms == release.end_ms + PACING.gap_ms
        # At least the rest from "Release." to the next announcement, and not much more.
        assert 45_000 <= chapter.start_ms - release.end_ms <= 45_000 + PACING.gap_ms
        pause = [e for e in script.events if isinstance(e, Pause) and e.start_ms == told_next.end_ms]
        assert len(pause) == 1 and pause[0].end_ms == chapter.start_ms
    # A rest shorter than the gap after a phrase still leaves that gap.
    none = with_stretches(bed_back, rest_ms=0)
    check_script(build(none), none, SETTINGS, fake_speech, CHIMES)
    # A rest shorter than "Next: ..." itself: the rest grows to fit it, gap included.
    slow = build(routine, speech_ms=lambda text: 50_000 if text.startswith("Next:") else fake_speech(text))
    check_script(slow, routine, SETTINGS, lambda text: 50_000 if text.startswith("Next:") else fake_speech(text), CHIMES)


def test_no_next_announcement_after_the_last_stretch(bed_back):
    script = build(bed_back)
    nexts = [s.text for s in speeches_of(script) if s.text.startswith("Next:")]
    assert nexts == [f"Next: {s.name}." for s in bed_back.stretches[1:]]
    single = replace(bed_back, stretches=bed_back.stretches[:1])
    assert not [s for s in speeches_of(build(single)) if s.text.startswith("Next:")]


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
    speeches = {e.text: e for e in speeches_of(script)}
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
    texts = [e.text for e in speeches_of(script)]
    assert texts[:2] == ["Bed stretches for lower back pain.", "Stretch one of five. Hamstring stretch."]
    assert texts[-1] == "Release."


def test_same_inputs_give_an_equal_script(bed_back):
    first = build(bed_back)
    second = build(load_routine("bed-back"), replace(Settings(), pacing=replace(PACING)), fake_speech, dict(CHIMES))
    assert first == second
    assert plan(bed_back, Settings()) == plan(bed_back, Settings())
    full = replace(SETTINGS, guidance="full")
    assert build(bed_back, full, chime_ms=NO_CHIMES) == build(bed_back, replace(full), chime_ms={})


def test_speech_lasts_what_speech_ms_says(bed_back):
    lengths: dict[str, int] = {}

    def speech_ms(text: str) -> int:
        return lengths.setdefault(text, 100 + 37 * len(lengths))

    script = build(bed_back, replace(SETTINGS, guidance="full"), speech_ms=speech_ms)
    speeches = speeches_of(script)
    assert speeches and all(s.end_ms - s.start_ms == lengths[s.text] for s in speeches)
    assert {s.cue for s in speeches} >= {"countdown", "tip", "halfway", "time-left"}
    assert len(set(lengths.values())) == len(lengths)  # lengths told apart, so a mix-up would show


def test_phrases_are_distinct_in_first_use_order(bed_back):
    script = build(bed_back)
    phrases = script.phrases
    assert phrases[:3] == ("Bed stretches for lower back pain.", bed_back.intro, "Stretch one of five. Hamstring stretch.")
    assert len(phrases) == len(set(phrases))
    assert phrases.count("Release.") == 1 and phrases.count("Left leg.") == 1  # said in two stretches
    assert phrases.count("Halfway.") == 1 and phrases.count("Ten seconds left.") == 1  # said in every hold
    spoken = [e.text for e in speeches_of(script)]
    assert set(phrases) == set(spoken) and len(phrases) < len(spoken)
    assert list(phrases) == sorted(phrases, key=spoken.index)
    assert script.possible_phrases == phrases  # nothing dropped


def test_duration_is_last_sound_plus_tail(bed_back):
    script = build(bed_back)
    last = max(e.end_ms for e in script.events if isinstance(e, (Speech, Chime)))
    assert script.duration_ms == last + PACING.tail_ms
    longer = build(bed_back, replace(SETTINGS, pacing=replace(PACING, tail_ms=PACING.tail_ms + 5_000)))
    assert longer.duration_ms == script.duration_ms + 5_000
    assert longer.events == script.events


def test_a_fade_lengthens_the_lead_in_and_the_tail_only_when_longer(bed_back):
    script = build(bed_back)
    faded = build(bed_back, replace(SETTINGS, fade_ms=4_000))
    check_script(faded, bed_back, replace(SETTINGS, fade_ms=4_000), fake_speech, CHIMES)
    shift = 4_000 - PACING.lead_in_ms
    assert speeches_of(faded)[0].start_ms == 4_000
    assert [replace(e, start_ms=e.start_ms + shift, end_ms=e.end_ms + shift) for e in script.events] == list(faded.events)
    assert faded.duration_ms == script.duration_ms + shift + (4_000 - PACING.tail_ms)
    # A fade shorter than the lead-in and the tail changes nothing.
    assert build(bed_back, replace(SETTINGS, fade_ms=PACING.lead_in_ms)) == script


# ---------------------------------------------------------------- cues inside holds


def _hold_cues(script: Script, hold: Hold) -> list[Speech]:
    return [s for s in speeches_of(script) if s.cue and s.cue != "begin" and hold.start_ms <= s.start_ms < hold.end_ms]


def test_standard_guidance_says_halfway_and_time_left_in_each_hold(bed_back):
    script = build(bed_back)
    for hold in script.holds:
        cues = _hold_cues(script, hold)
        assert [(c.cue, c.text, c.start_ms) for c in cues] == [
            ("halfway", "Halfway.", hold.start_ms + 15_000),
            ("time-left", "Ten seconds left.", hold.end_ms - 10_000),
        ]
        assert all((c.stretch, c.side) == (hold.stretch, hold.side) for c in cues)
    assert script.dropped == ()


def test_minimal_guidance_says_nothing_inside_holds(bed_back):
    settings = replace(SETTINGS, guidance="minimal", time_left_ms=(20_000, 10_000))
    script = build(bed_back, settings)
    check_script(script, bed_back, settings, fake_speech, CHIMES)
    assert [s for s in speeches_of(script) if s.cue] == [] and script.dropped == ()
    # Everything else is as with standard guidance.
    standard = build(bed_back)
    assert [e for e in standard.events if not (isinstance(e, Speech) and e.cue)] == list(script.events)


def test_full_guidance_adds_countdown_tips_and_breathing(bed_back):
    settings = replace(SETTINGS, guidance="full", breathe_every_ms=10_000)
    script = build(bed_back, settings, speech_ms=lambda text: 20 * len(text))
    check_script(script, bed_back, settings, lambda text: 20 * len(text), CHIMES)
    by_id = {s.id: s for s in bed_back.stretches}
    for hold in script.holds:
        cues = _hold_cues(script, hold)
        assert [c.text for c in cues if c.cue == "countdown"] == ["Three.", "Two.", "One."]
        assert [c.start_ms for c in cues if c.cue == "countdown"] == [hold.end_ms - 3_000, hold.end_ms - 2_000, hold.end_ms - 1_000]
        assert [c.text for c in cues if c.cue == "tip"] == list(by_id[hold.stretch].tips)
        assert [c.text for c in cues if c.cue == "time-left"] == ["Ten seconds left."]
        assert any(c.cue == "breathe" and c.text == "Breathe in... and out." for c in cues)
    assert {d.kind for d in script.dropped} <= {"breathe", "halfway", "tip"}


def test_several_time_left_marks(bed_back):
    settings = replace(SETTINGS, time_left_ms=(20_000, 5_000))
    routine = with_stretches(bed_back, hold_ms=60_000)
    script = build(routine, settings, speech_ms=lambda text: 20 * len(text))
    check_script(script, routine, settings, lambda text: 20 * len(text), CHIMES)
    for hold in script.holds:
        assert [(c.text, c.start_ms) for c in _hold_cues(script, hold)] == [
            ("Halfway.", hold.start_ms + 30_000),
            ("Twenty seconds left.", hold.end_ms - 20_000),
            ("Five seconds left.", hold.end_ms - 5_000),
        ]


def test_cues_that_do_not_fit_are_dropped_with_their_reason(bed_back):
    # Halfway falls on "Ten seconds left.", and "Twelve seconds left." leaves it no room just before.
    routine = with_stretches(bed_back, hold_ms=20_000)
    settings = replace(SETTINGS, time_left_ms=(12_000, 10_000))
    script = build(routine, settings)
    check_script(script, routine, settings, fake_speech, CHIMES)
    assert {(c.cue, c.text) for c in speeches_of(script) if c.cue} == {("time-left", "Ten seconds left."), ("time-left", "Twelve seconds left.")}
    assert len(script.dropped) == 9
    for hold, dropped in zip(script.holds, script.dropped):
        assert (dropped.kind, dropped.text, dropped.at_ms) == ("halfway", "Halfway.", hold.start_ms + 10_000)
        assert (dropped.stretch, dropped.side) == (hold.stretch, hold.side)
        assert dropped.reason == "would overlap 'Ten seconds left.'"
    assert "Halfway." not in script.phrases and "Halfway." in script.possible_phrases


def test_possible_phrases_do_not_depend_on_hold_lengths(bed_back):
    """Synthesis covers every phrase any refit of the holds (--length) may say."""
    settings = replace(SETTINGS, guidance="full")  # breathing every 15 s
    short = with_stretches(bed_back, hold_ms=10_000)
    long = with_stretches(bed_back, hold_ms=60_000)
    assert BREATHE in build(long, settings).phrases
    assert set(build(short, settings).possible_phrases) == set(build(long, settings).possible_phrases)


# ---------------------------------------------------------------- no chimes


def test_without_chimes_begin_opens_each_hold_and_release_closes_it(bed_back):
    script = build(bed_back, chime_ms=NO_CHIMES)
    check_script(script, bed_back, SETTINGS, fake_speech, NO_CHIMES)
    assert not [e for e in script.events if isinstance(e, Chime)]
    speeches = speeches_of(script)
    for hold in script.holds:
        (begin,) = [s for s in speeches if s.start_ms == hold.start_ms]
        assert (begin.text, begin.cue, begin.stretch, begin.side) == ("Begin.", "begin", hold.stretch, hold.side)
        (release,) = [s for s in speeches if s.start_ms == hold.end_ms]
        assert release.text == "Release." and release.cue is None
        assert [c.text for c in _hold_cues(script, hold)] == ["Halfway.", "Ten seconds left."]
    # Holds are as long as with chimes; only the markers differ.
    chimed = build(bed_back)
    assert [h.end_ms - h.start_ms for h in script.holds] == [h.end_ms - h.start_ms for h in chimed.holds]


def test_without_chimes_a_begin_longer_than_the_hold_is_not_talked_over(bed_back):
    def speech_ms(text: str) -> int:
        return 3_000 if text == "Begin." else fake_speech(text)

    routine = with_stretches(bed_back, hold_ms=1_000)
    script = build(routine, speech_ms=speech_ms, chime_ms=NO_CHIMES)
    check_script(script, routine, SETTINGS, speech_ms, NO_CHIMES)
    for hold in script.holds:
        release = [s for s in speeches_of(script) if s.text == "Release." and s.start_ms >= hold.end_ms][0]
        assert release.start_ms == hold.start_ms + 3_000
    assert {d.kind for d in script.dropped} == {"halfway", "time-left"}


def test_plan_without_chimes(bed_back):
    settings = Settings(chimes="none")
    script = plan(bed_back, settings)
    check_script(script, bed_back, settings, lambda t: ENGLISH.estimate_ms(t, settings.rate), NO_CHIMES)
    assert "Begin." in script.phrases and not [e for e in script.events if isinstance(e, Chime)]


# ---------------------------------------------------------------- generated routines and settings

# Lower-case words only, so no step, name or side name ever reads like a cue ("Left side.", "Round two.").
_word = st.sampled_from("a gently knee back hip left right side slowly breathe round switch".split())
_text = st.lists(_word, min_size=1, max_size=5).map(" ".join)
_maybe_text = st.none() | _text

_stretch = st.builds(
    Stretch,
    id=st.just("s"),
    name=_text.map(str.capitalize),
    steps=st.lists(_text, min_size=1, max_size=4).map(tuple),
    # short ones too: shorter than a chime, or than the countdown
    hold_ms=st.integers(1_000, 5_000) | st.integers(1_000, 60_000) | st.integers(1_000, 600_000),
    sides=st.sampled_from(["both", "none"]),
    reps=st.integers(1, 3),
    rest_ms=st.integers(0, 60_000),
    switch_ms=st.integers(1_000, 20_000),
    get_ready_ms=st.integers(0, 20_000),
    side_names=st.tuples(_text, _text),
    why=_maybe_text,
    tips=st.lists(_text, max_size=3).map(tuple),
)


def _routines(max_stretches: int):
    return st.builds(
        Routine,
        id=st.just("generated"),
        title=_text.map(str.capitalize),
        stretches=st.lists(_stretch, min_size=1, max_size=max_stretches).map(
            lambda found: tuple(replace(s, id=f"s{i}") for i, s in enumerate(found))
        ),
        intro=_maybe_text,
        outro=_maybe_text,
    )


routines = _routines(6)
small_routines = _routines(3)

pacings = st.sampled_from([pace.pacing for pace in PACES.values()]) | st.builds(
    Pacing,
    lead_in_ms=st.integers(0, 2_000),
    gap_ms=st.integers(0, 2_000),
    step_pause_ms=st.integers(0, 5_000),
    after_chime_ms=st.integers(0, 1_000),
    tail_ms=st.integers(0, 5_000),
)
chime_lengths = st.fixed_dictionaries({"start": st.integers(1, 3_000), "end": st.integers(1, 3_000)})


@st.composite
def guided(draw):
    """Settings with every knob the script builder reads, and chime lengths to match."""
    chimes = draw(st.sampled_from(["soft", "none"]))
    marks = draw(st.lists(st.integers(1_000, 30_000) | st.integers(1_000, 600_000), max_size=3, unique=True))
    settings = Settings(
        pacing=draw(pacings),
        guidance=draw(st.sampled_from(("full", "standard", "minimal"))),  # full first: hypothesis favours it
        time_left_ms=tuple(sorted(marks, reverse=True)),
        breathe_every_ms=draw(st.integers(5_000, 30_000) | st.integers(5_000, 300_000)),
        chimes=chimes,
        fade_ms=draw(st.just(0) | st.integers(0, 30_000)),
    )
    return settings, (draw(chime_lengths) if chimes != "none" else {})


_speech_length = st.integers(1, 2_000) | st.integers(1, 30_000)


@st.composite
def speech_lengths(draw):
    """Either a drawn rate per character, or a length drawn for each text as it is first asked for."""
    if draw(st.booleans()):
        per_char = draw(st.integers(20, 120) | st.integers(1, 300))  # realistic rates first
        return lambda text: per_char * len(text)
    data = draw(st.data())
    drawn: dict[str, int] = {}

    def speech_ms(text: str) -> int:
        if text not in drawn:
            drawn[text] = data.draw(_speech_length, label=f"speech_ms({text!r})")
        return drawn[text]

    return speech_ms


PROPERTY = hsettings(max_examples=150, deadline=None)
LIGHTER = hsettings(max_examples=60, deadline=None)
FIT = hsettings(max_examples=25, deadline=None)


# Shrunk by this test from generated routines: once the first of several holds of a sides="none"
# stretch got no cue at all. Kept so the case always runs.
KNOWN_CUE_BUG = Routine(
    id="generated",
    title="A",
    stretches=(Stretch("s0", "A", ("a",), 1_000, "none", 2, 0, 1_000, 0, ("a", "a")),),
)
FULL_NO_CHIMES = (replace(SETTINGS, guidance="full", breathe_every_ms=5_000, chimes="none"), {})


@PROPERTY
@example(KNOWN_CUE_BUG, (SETTINGS, CHIMES), fake_speech)
@example(KNOWN_CUE_BUG, FULL_NO_CHIMES, fake_speech)
@given(routines, guided(), speech_lengths())
def test_generated_routines_keep_every_rule(routine, guided_settings, speech_ms):
    settings, chime_ms = guided_settings
    script = build_script(routine, settings, speech_ms, chime_ms)
    check_script(script, routine, settings, speech_ms, chime_ms)


@LIGHTER
@given(routines, guided(), speech_lengths())
def test_generated_hold_lengths_do_not_depend_on_speech(routine, guided_settings, speech_ms):
    settings, chime_ms = guided_settings

    def holds(speech):
        return [(h.stretch, h.side, h.end_ms - h.start_ms) for h in build_script(routine, settings, speech, chime_ms).holds]

    expected = [(s.id, side, s.hold_ms) for s in routine.stretches for side in [side for _, side in expected_holds(s)]]
    assert holds(lambda text: 1) == holds(lambda text: 20_000) == holds(speech_ms) == expected


@LIGHTER
@given(routines, guided(), speech_lengths())
def test_generated_builds_are_pure(routine, guided_settings, speech_ms):
    settings, chime_ms = guided_settings
    first = build_script(routine, settings, speech_ms, chime_ms)
    again = build_script(replace(routine), replace(settings, pacing=replace(settings.pacing)), speech_ms, dict(chime_ms))
    assert first == again
    assert first.phrases == again.phrases and first.chapters == again.chapters and first.dropped == again.dropped


@LIGHTER
@example(
    replace(KNOWN_CUE_BUG, stretches=(replace(KNOWN_CUE_BUG.stretches[0], hold_ms=10_000),)),
    (replace(SETTINGS, guidance="full"), CHIMES),
    fake_speech,
    3.0,
)
@given(routines, guided(), speech_lengths(), st.floats(0, 600))
def test_generated_possible_phrases_do_not_depend_on_hold_lengths(routine, guided_settings, speech_ms, factor):
    settings, chime_ms = guided_settings
    scaled = scale_holds(routine, factor)
    first = build_script(routine, settings, speech_ms, chime_ms)
    second = build_script(scaled, settings, speech_ms, chime_ms)
    assert set(first.possible_phrases) == set(second.possible_phrases), (
        set(first.possible_phrases) ^ set(second.possible_phrases)
    )


def _length(routine, settings, speech_ms, chime_ms) -> int:
    return build_script(routine, settings, speech_ms, chime_ms).duration_ms


@FIT
@given(small_routines, guided(), speech_lengths(), st.data())
def test_generated_fit_to_length_hits_its_target_or_says_why_not(routine, guided_settings, speech_ms, data):
    settings, chime_ms = guided_settings
    low, high = HOLD_RANGE_MS
    shortest = _length(with_stretches(routine, hold_ms=low), settings, speech_ms, chime_ms)
    longest = _length(with_stretches(routine, hold_ms=high), settings, speech_ms, chime_ms)
    if data.draw(st.booleans(), label="within reach"):
        target = data.draw(st.integers(shortest, longest), label="target")
    else:
        target = data.draw(st.integers(60_000, 6 * 3_600_000), label="target")
    fitted_settings = replace(settings, length_ms=target)
    try:
        fitted = fit_to_length(routine, fitted_settings, speech_ms, chime_ms)
    except RoutineError as e:
        assert str(e).startswith("--length: ") and "out of reach" in str(e)
        assert not shortest - 1_000 <= target <= longest + 1_000, (shortest, target, longest)
        return
    assert abs(_length(fitted, fitted_settings, speech_ms, chime_ms) - target) <= 1_000
    assert all(low <= s.hold_ms <= high for s in fitted.stretches)
    assert with_stretches(fitted, hold_ms=0) == with_stretches(routine, hold_ms=0)  # only holds change
