"""The script builder: Routine + Settings -> Script, a list of timed events and no audio.

Pure: given the same routine, settings and measured lengths of speech and chimes,
it returns the same Script. Speech outside holds is laid end to end and each
hold is a fixed span between two chime onsets; cues inside a hold are fitted
around it (cues.py), so a hold lasts exactly its duration whatever is said.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import ClassVar

from .cues import CHIME_MARGIN_MS, DroppedCue, hold_cues, place_cues
from .language import Language, load_language
from .routine import Routine, Stretch
from .settings import Pacing, Settings

SpeechLength = Callable[[str], int]
"""Milliseconds a phrase lasts when spoken: measured clips in a build, estimates in a plan."""


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str]
    start_ms: int
    end_ms: int

    def to_dict(self) -> dict:
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True)
class Speech(Event):
    kind: ClassVar[str] = "speech"
    text: str
    stretch: str | None = None
    side: str | None = None
    cue: str | None = None  # inside a hold: "halfway", "time-left", "countdown", "tip", "breathe"; or "begin"


@dataclass(frozen=True)
class Chime(Event):
    kind: ClassVar[str] = "chime"
    sound: str  # "start" or "end"
    stretch: str | None = None
    side: str | None = None


@dataclass(frozen=True)
class Hold(Event):
    """From the onset of the start chime to the onset of the end chime."""

    kind: ClassVar[str] = "hold"
    stretch: str
    side: str | None = None


@dataclass(frozen=True)
class Pause(Event):
    kind: ClassVar[str] = "pause"


@dataclass(frozen=True)
class Chapter:
    title: str
    start_ms: int
    end_ms: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Script:
    routine_id: str
    title: str
    events: tuple[Event, ...]
    chapters: tuple[Chapter, ...]
    duration_ms: int
    dropped: tuple[DroppedCue, ...] = ()
    language: str = "en"  # what is spoken, a BCP 47 tag

    @property
    def phrases(self) -> tuple[str, ...]:
        """Each distinct text spoken, in order of first use."""
        return tuple(dict.fromkeys(e.text for e in self.events if isinstance(e, Speech)))

    @property
    def possible_phrases(self) -> tuple[str, ...]:
        """Every text this routine may say, dropped cues included.

        The set does not depend on hold lengths, so synthesising it once covers
        any refit of the holds (``--length``).
        """
        return tuple(dict.fromkeys([*self.phrases, *(d.text for d in self.dropped)]))

    @property
    def holds(self) -> tuple[Hold, ...]:
        return tuple(e for e in self.events if isinstance(e, Hold))


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text[-1:] in ".!?" else text + "."


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


class _Timeline:
    """A cursor that lays events end to end; every time is absolute."""

    def __init__(self, settings: Settings, language: Language, speech_ms: SpeechLength, chime_ms: Mapping[str, int]):
        self.settings = settings
        self.language = language
        self.pacing: Pacing = settings.pacing
        self.speech_ms = speech_ms
        self.chime_ms = chime_ms
        self.events: list[Event] = []
        self.dropped: list[DroppedCue] = []
        self.now = 0
        self.gap_due = 0  # silence owed after the last phrase, unless a pause covers it

    def settle(self) -> int:
        """Pay any silence still owed and return the time the next sound starts."""
        self.now += self.gap_due
        self.gap_due = 0
        return self.now

    def say(self, text: str, stretch: str | None = None, side: str | None = None) -> None:
        start = self.settle()
        self.now = start + self.speech_ms(text)
        self.events.append(Speech(start, self.now, text, stretch, side))
        self.gap_due = self.pacing.gap_ms

    def pause(self, ms: int) -> None:
        length = max(ms, self.gap_due)
        self.gap_due = 0
        if length:
            self.events.append(Pause(self.now, self.now + length))
            self.now += length

    def hold(self, stretch: Stretch, side: str | None) -> None:
        """The hold: exactly ``stretch.hold_ms`` from the start marker's onset to the end marker's."""
        start = self.settle()
        end = start + stretch.hold_ms
        hold = Hold(start, end, stretch.id, side)
        if self.chime_ms:
            self.events.append(Chime(start, start + self.chime_ms["start"], "start", stretch.id, side))
            self.events.append(hold)
            self.events.append(Chime(end, end + self.chime_ms["end"], "end", stretch.id, side))
            marker_end = start + self.chime_ms["start"]
            self.now = max(end + self.chime_ms["end"], marker_end)
            self.gap_due = self.pacing.after_chime_ms
        else:
            # Without chimes a spoken word opens the hold and "Release." closes it, on the dot.
            begin = self.language.phrase("begin")
            marker_end = start + self.speech_ms(begin)
            self.events.append(Speech(start, marker_end, begin, stretch.id, side, "begin"))
            self.events.append(hold)
            self.now = max(end, marker_end)
        window = (marker_end + CHIME_MARGIN_MS, end - CHIME_MARGIN_MS)
        cues = hold_cues(stretch, self.settings, start, end, self.language)
        placed, dropped = place_cues(cues, self.speech_ms, window, (start, end))
        self.events += [Speech(p.start_ms, p.end_ms, p.text, stretch.id, side, p.kind) for p in placed]
        self.dropped += [DroppedCue(c.kind, c.text, c.at_ms, reason, stretch.id, side) for c, reason in dropped]


def _side_cue(language: Language, stretch: Stretch, rep: int, side_index: int) -> str | None:
    """What is said before a hold: which side, and which round when there are several."""
    side = _capitalised(stretch.side_names[side_index]) + "." if stretch.sides == "both" else ""
    if stretch.reps > 1 and side_index == 0:
        return f"{language.phrase('round', number=language.number(rep + 1))} {side}".strip()
    if side_index > 0:
        return f"{language.phrase('switch_sides')} {side}"
    return side or None


def _stretch(timeline: _Timeline, stretch: Stretch, number: int, count: int) -> None:
    language = timeline.language
    announce = language.phrase("stretch", number=language.number(number), count=language.number(count), name=_sentence(stretch.name))
    timeline.say(announce, stretch.id)
    if stretch.why:
        timeline.say(_sentence(stretch.why), stretch.id)
    for step in stretch.steps:
        timeline.say(_sentence(step), stretch.id)
        timeline.pause(timeline.pacing.step_pause_ms)
    first = True
    for rep in range(stretch.reps):
        for side_index, label in enumerate(stretch.side_labels):
            side = label or None
            cue = _side_cue(language, stretch, rep, side_index)
            if cue:
                timeline.say(cue, stretch.id, side)
            timeline.pause(stretch.get_ready_ms if first else stretch.switch_ms)
            timeline.hold(stretch, side)
            timeline.say(language.phrase("release"), stretch.id, side)
            first = False


def build_script(
    routine: Routine,
    settings: Settings,
    speech_ms: SpeechLength,
    chime_ms: Mapping[str, int],
) -> Script:
    """Lay out the whole routine on one timeline.

    Args:
        speech_ms: length of each phrase; the build passes measured clips, a plan estimates.
        chime_ms: length of the "start" and "end" chimes; empty when there are none.
    """
    pacing = settings.pacing
    language = load_language(routine.language)
    timeline = _Timeline(settings, language, speech_ms, chime_ms)
    # A fade must not swallow the first or last words.
    timeline.now = max(pacing.lead_in_ms, settings.fade_ms)
    timeline.say(_sentence(routine.title))
    if routine.intro:
        timeline.say(routine.intro)
    starts: list[tuple[str, int]] = [(language.chapters["introduction"], 0)]
    count = len(routine.stretches)
    for number, stretch in enumerate(routine.stretches, 1):
        starts.append((stretch.name, timeline.settle()))
        _stretch(timeline, stretch, number, count)
        if number < count:
            _rest(timeline, stretch.rest_ms, routine.stretches[number])
    if routine.outro:
        starts.append((language.chapters["finish"], timeline.settle()))
        timeline.say(routine.outro)
    duration = timeline.now + max(pacing.tail_ms, settings.fade_ms)
    chapters = tuple(
        Chapter(title, start, starts[i + 1][1] if i + 1 < len(starts) else duration)
        for i, (title, start) in enumerate(starts)
    )
    # A hold and its start chime share an onset; the stable sort keeps the order they were made in.
    events = tuple(sorted(timeline.events, key=lambda e: e.start_ms))
    dropped = tuple(sorted(timeline.dropped, key=lambda d: d.at_ms))
    return Script(routine.id, routine.title, events, chapters, duration, dropped, routine.language)


def _rest(timeline: _Timeline, rest_ms: int, following: Stretch) -> None:
    """The rest between stretches, opening with what comes next so the listener can get ready."""
    rest_start = timeline.settle()
    timeline.say(timeline.language.phrase("next", name=_sentence(following.name)))
    timeline.pause(rest_ms - (timeline.now - rest_start))
