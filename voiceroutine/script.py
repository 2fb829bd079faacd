"""The script builder: Routine + Settings -> Script, a list of timed events and no audio.

Pure: given the same routine, settings and measured lengths of speech and chimes,
it returns the same Script. Holds are laid out first and speech flows around
them, so a hold lasts exactly its duration however long the speech is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import ClassVar

from .durations import number_words
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

    @property
    def phrases(self) -> tuple[str, ...]:
        """Each distinct text spoken, in order of first use."""
        return tuple(dict.fromkeys(e.text for e in self.events if isinstance(e, Speech)))

    @property
    def holds(self) -> tuple[Hold, ...]:
        return tuple(e for e in self.events if isinstance(e, Hold))


def estimate_speech_ms(text: str, rate_wpm: int) -> int:
    """A quick guess at how long ``text`` takes to say, for plans made without synthesis.

    English averages about six characters a word, counting the space.
    """
    return round(len(text) / 6 / rate_wpm * 60_000) + 200


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text[-1:] in ".!?" else text + "."


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


class _Timeline:
    """A cursor that lays events end to end; every time is absolute."""

    def __init__(self, pacing: Pacing, speech_ms: SpeechLength, chime_ms: Mapping[str, int]):
        self.pacing = pacing
        self.speech_ms = speech_ms
        self.chime_ms = chime_ms
        self.events: list[Event] = []
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

    def hold(self, ms: int, stretch: str, side: str | None) -> None:
        start = self.settle()
        self.events.append(Chime(start, start + self.chime_ms["start"], "start", stretch, side))
        self.events.append(Hold(start, start + ms, stretch, side))
        end_chime = start + ms
        self.events.append(Chime(end_chime, end_chime + self.chime_ms["end"], "end", stretch, side))
        self.now = max(end_chime + self.chime_ms["end"], start + self.chime_ms["start"])
        self.gap_due = self.pacing.after_chime_ms


def _side_cue(stretch: Stretch, rep: int, side_index: int) -> str | None:
    """What is said before a hold: which side, and which round when there are several."""
    side = _capitalised(stretch.side_names[side_index]) + "." if stretch.sides == "both" else ""
    if stretch.reps > 1 and side_index == 0:
        return f"Round {number_words(rep + 1)}. {side}".strip()
    if side_index > 0:
        return f"Switch sides. {side}"
    return side or None


def _stretch(timeline: _Timeline, stretch: Stretch, number: int, count: int) -> None:
    timeline.say(f"Stretch {number_words(number)} of {number_words(count)}. {_sentence(stretch.name)}", stretch.id)
    if stretch.why:
        timeline.say(_sentence(stretch.why), stretch.id)
    for step in stretch.steps:
        timeline.say(_sentence(step), stretch.id)
        timeline.pause(timeline.pacing.step_pause_ms)
    first = True
    for rep in range(stretch.reps):
        for side_index, label in enumerate(stretch.side_labels):
            side = label or None
            cue = _side_cue(stretch, rep, side_index)
            if cue:
                timeline.say(cue, stretch.id, side)
            timeline.pause(stretch.get_ready_ms if first else stretch.switch_ms)
            timeline.hold(stretch.hold_ms, stretch.id, side)
            timeline.say("Release.", stretch.id, side)
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
        chime_ms: length of the "start" and "end" chimes.
    """
    pacing = settings.pacing
    timeline = _Timeline(pacing, speech_ms, chime_ms)
    timeline.now = pacing.lead_in_ms
    timeline.say(_sentence(routine.title))
    if routine.intro:
        timeline.say(routine.intro)
    starts: list[tuple[str, int]] = [("Introduction", 0)]
    count = len(routine.stretches)
    for number, stretch in enumerate(routine.stretches, 1):
        starts.append((stretch.name, timeline.settle()))
        _stretch(timeline, stretch, number, count)
        if number < count:
            timeline.pause(stretch.rest_ms)
    if routine.outro:
        starts.append(("Finish", timeline.settle()))
        timeline.say(routine.outro)
    duration = timeline.now + pacing.tail_ms
    chapters = tuple(
        Chapter(title, start, starts[i + 1][1] if i + 1 < len(starts) else duration)
        for i, (title, start) in enumerate(starts)
    )
    # Chime and hold share an onset; the stable sort keeps the chime first.
    events = tuple(sorted(timeline.events, key=lambda e: e.start_ms))
    return Script(routine.id, routine.title, events, chapters, duration)
