"""Cues inside a hold: what the coach says while you stretch, and where it fits.

The hold's start and end never move. Cues are laid into the free time between
the chimes in order of importance (countdown, time left, halfway, tips,
breathing); a cue that does not fit is dropped with the reason, for `plan` to
show. Lengths come from the real clips, so the rules hold for any voice and rate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .durations import format_duration
from .language import Language
from .routine import Stretch
from .settings import Settings

CHIME_MARGIN_MS = 300  # silence kept after the start chime and before the end chime
CUE_GAP_MS = 400  # silence kept between two cues
HALFWAY_SLACK_MS = 2_000  # "Halfway." may come this much early (at most a tenth of the hold) to make room
COUNTDOWN_GAP_MS = 100  # the countdown's words a second apart may sit closer together
COUNTDOWN = (3, 2, 1)

# Lower numbers are placed first and win any clash.
PRIORITY = {"countdown": 0, "time-left": 1, "halfway": 2, "tip": 3, "breathe": 4}
# The cues each guidance level adds inside holds.
LEVELS = {
    "minimal": (),
    "standard": ("time-left", "halfway"),
    "full": ("time-left", "halfway", "countdown", "tip", "breathe"),
}


@dataclass(frozen=True)
class Cue:
    kind: str
    text: str
    at_ms: int  # where it should start
    slack_ms: int = 0  # how far it may move to find room (0: fixed)
    early_only: bool = False  # it may only move earlier: "Halfway." never comes after what follows it


@dataclass(frozen=True)
class PlacedCue:
    kind: str
    text: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class DroppedCue:
    """A cue left out, and why; reported by `plan` and in the manifest."""

    kind: str
    text: str
    at_ms: int
    reason: str
    stretch: str | None = None
    side: str | None = None

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "text": self.text,
            "at_ms": self.at_ms,
            "reason": self.reason,
            "stretch": self.stretch,
            "side": self.side,
        }


def hold_cues(stretch: Stretch, settings: Settings, start: int, end: int, language: Language) -> list[Cue]:
    """Every cue the guidance level asks for in the hold [start, end), at its ideal time, in ``language``."""
    kinds = LEVELS[settings.guidance]
    length = end - start
    cues: list[Cue] = []
    if "countdown" in kinds:
        cues += [Cue("countdown", language.countdown(n), end - n * 1000) for n in COUNTDOWN]
    if "time-left" in kinds:
        cues += [Cue("time-left", language.time_left(mark), end - mark) for mark in settings.time_left_ms]
    if "halfway" in kinds:
        # On a 20 s hold, halfway is also "Ten seconds left.": it moves just before that, so both are said.
        cues.append(Cue("halfway", language.phrase("halfway"), start + length // 2, min(HALFWAY_SLACK_MS, length // 10), early_only=True))
    if "tip" in kinds and stretch.tips:
        spacing = length // (len(stretch.tips) + 1)
        cues += [Cue("tip", tip, start + spacing * (i + 1), spacing // 2) for i, tip in enumerate(stretch.tips)]
    if "breathe" in kinds:
        every = settings.breathe_every_ms
        # At least one prompt even when the hold is too short for it, so the phrases a
        # routine may need stay the same whatever the hold lengths (see Script.possible_phrases).
        moments = range(start + every, end, every) or [start + every]
        breathe = language.phrase("breathe")
        cues += [Cue("breathe", breathe, at, every // 2) for at in moments]
    return cues


def _clash(start: int, end: int, placed: list[PlacedCue], gap: int = CUE_GAP_MS) -> PlacedCue | None:
    for other in placed:
        if start < other.end_ms + gap and other.start_ms < end + gap:
            return other
    return None


def _why_not(cue: Cue, length: int, window: tuple[int, int], placed: list[PlacedCue], hold: tuple[int, int]) -> str:
    first, last = window
    if not hold[0] < cue.at_ms < hold[1] or (cue.kind == "time-left" and cue.at_ms <= first):
        return f"the hold is only {format_duration(hold[1] - hold[0])}"
    if cue.slack_ms and not cue.early_only:
        return "no room between the other cues"
    if cue.at_ms < first:
        return "too close to the start of the hold"
    if cue.at_ms + length > last:
        return f"runs {format_duration(cue.at_ms + length - last)} into the end of the hold"
    other = _clash(cue.at_ms, cue.at_ms + length, placed)
    return f"would overlap {other.text!r}" if other else "does not fit"


def _find_room(cue: Cue, length: int, window: tuple[int, int], placed: list[PlacedCue]) -> int | None:
    """The start nearest the cue's ideal time where it fits, within its slack."""
    first, last = window
    options = [cue.at_ms]
    if cue.slack_ms:
        options += [first, last - length]
        options += [p.end_ms + CUE_GAP_MS for p in placed] + [p.start_ms - CUE_GAP_MS - length for p in placed]
        options.sort(key=lambda t: (abs(t - cue.at_ms), t))
    if cue.early_only:
        options = [t for t in options if t <= cue.at_ms]
    for start in options:
        if abs(start - cue.at_ms) > cue.slack_ms:
            break
        if first <= start and start + length <= last and not _clash(start, start + length, placed):
            return start
    return None


def place_cues(
    cues: list[Cue],
    speech_ms: Callable[[str], int],
    window: tuple[int, int],
    hold: tuple[int, int],
) -> tuple[list[PlacedCue], list[tuple[Cue, str]]]:
    """Lay cues into ``window`` (the free time inside ``hold``) by priority.

    The countdown goes in whole or not at all. Returns the placed cues in time
    order, and each dropped cue with its reason.
    """
    placed: list[PlacedCue] = []
    dropped: list[tuple[Cue, str]] = []
    ordered = sorted(cues, key=lambda c: (PRIORITY[c.kind], c.at_ms))
    countdown = [c for c in ordered if c.kind == "countdown"]
    if countdown:
        trial: list[PlacedCue] = []
        for cue in countdown:
            length = speech_ms(cue.text)
            blocked = _clash(cue.at_ms, cue.at_ms + length, trial, COUNTDOWN_GAP_MS)
            if blocked or _find_room(cue, length, window, placed) is None:
                reason = f"would overlap {blocked.text!r}" if blocked else _why_not(cue, length, window, placed, hold)
                dropped += [(c, f"the countdown does not fit: {cue.text!r} {reason}") for c in countdown]
                trial = []
                break
            trial.append(PlacedCue(cue.kind, cue.text, cue.at_ms, cue.at_ms + length))
        placed += trial
    for cue in ordered:
        if cue.kind == "countdown":
            continue
        length = speech_ms(cue.text)
        start = _find_room(cue, length, window, placed)
        if start is None:
            dropped.append((cue, _why_not(cue, length, window, placed, hold)))
        else:
            placed.append(PlacedCue(cue.kind, cue.text, start, start + length))
    return sorted(placed, key=lambda p: p.start_ms), dropped
