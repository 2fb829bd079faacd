"""Effective settings: built-in defaults < routine file < command-line options.

Option values arrive as text (from the CLI or any other front end) and are
checked here with the same rules as routine files; errors name the option.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field, replace

from .errors import RoutineError
from .routine import (
    HOLD_RANGE_MS,
    REPS_RANGE,
    REST_RANGE_MS,
    SIDES,
    Routine,
    duration_in,
    whole_number_in,
)

FORMATS = ("mp3", "wav")
RATE_RANGE = (60, 400)
BITRATES_KBPS = (32, 48, 64, 96, 128, 160, 192)


@dataclass(frozen=True)
class Pacing:
    """Fixed silences of the timeline, in milliseconds."""

    lead_in_ms: int = 500  # before the first word, so players don't clip it
    gap_ms: int = 700  # after each phrase, unless a longer pause follows
    step_pause_ms: int = 2500  # after each instruction, time to do it
    after_chime_ms: int = 300  # after the end chime fades, before "Release."
    tail_ms: int = 2000  # after the last word


@dataclass(frozen=True)
class Settings:
    """How to voice and encode a routine (not what is in it)."""

    engine: str = "pyttsx3"
    voice: str | None = None  # None: the engine's default voice
    rate: int = 140  # words per minute; calm guidance sits around 120-150
    format: str = "mp3"
    bitrate_kbps: int = 64
    sample_rate: int = 44_100
    pacing: Pacing = field(default_factory=Pacing)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Overrides:
    """Changes to a routine asked for on the command line; None/empty means "as in the file"."""

    hold_ms: int | None = None
    hold_for: tuple[tuple[str, int], ...] = ()
    sides: str | None = None
    rest_ms: int | None = None
    reps: int | None = None
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()


def _option_error(option: str, message: str) -> RoutineError:
    return RoutineError(message, source=option)


def parse_option_duration(value: str, option: str, bounds: tuple[int, int]) -> int:
    try:
        return duration_in(value, bounds)
    except ValueError as e:
        raise _option_error(option, str(e)) from None


def parse_id_list(value: str, option: str) -> tuple[str, ...]:
    """ "hamstring, piriformis" -> ("hamstring", "piriformis")."""
    ids = tuple(part.strip() for part in value.split(",") if part.strip())
    if not ids:
        raise _option_error(option, "expected stretch ids separated by commas, like hamstring,piriformis")
    return ids


def parse_hold_for(value: str) -> tuple[str, int]:
    """ "piriformis=45s" -> ("piriformis", 45000)."""
    stretch_id, sep, duration = value.partition("=")
    if not sep or not stretch_id.strip():
        raise _option_error("--hold-for", f"expected ID=DURATION like piriformis=45s, got {value!r}")
    return stretch_id.strip(), parse_option_duration(duration, "--hold-for", HOLD_RANGE_MS)


def parse_overrides(
    *,
    hold: str | None = None,
    hold_for: tuple[str, ...] = (),
    sides: str | None = None,
    rest: str | None = None,
    reps: int | None = None,
    only: str | None = None,
    skip: str | None = None,
) -> Overrides:
    """Check option text and turn it into ``Overrides``; errors name the option."""
    if sides is not None and sides not in SIDES:
        raise _option_error("--sides", f'expected "both" or "none", got {sides!r}')
    if reps is not None:
        try:
            whole_number_in(reps, REPS_RANGE)
        except ValueError as e:
            raise _option_error("--reps", str(e)) from None
    return Overrides(
        hold_ms=parse_option_duration(hold, "--hold", HOLD_RANGE_MS) if hold is not None else None,
        hold_for=tuple(parse_hold_for(item) for item in hold_for),
        sides=sides,
        rest_ms=parse_option_duration(rest, "--rest", REST_RANGE_MS) if rest is not None else None,
        reps=reps,
        only=parse_id_list(only, "--only") if only is not None else (),
        skip=parse_id_list(skip, "--skip") if skip is not None else (),
    )


def check_settings(settings: Settings) -> Settings:
    """Reject settings no engine or encoder can honour; errors name the option."""
    if not RATE_RANGE[0] <= settings.rate <= RATE_RANGE[1]:
        raise _option_error("--rate", f"{settings.rate} is out of range ({RATE_RANGE[0]} to {RATE_RANGE[1]} words a minute)")
    if settings.format not in FORMATS:
        raise _option_error("--format", f"expected one of {', '.join(FORMATS)}, got {settings.format!r}")
    if settings.bitrate_kbps not in BITRATES_KBPS:
        choices = ", ".join(map(str, BITRATES_KBPS))
        raise _option_error("--bitrate", f"expected one of {choices} (kbps), got {settings.bitrate_kbps}")
    return settings


def apply_overrides(routine: Routine, overrides: Overrides) -> Routine:
    """Return ``routine`` with the command-line changes applied.

    ``--only`` keeps the stretches named, in the order named; ``--hold-for``
    wins over ``--hold``, which wins over the file.
    """
    known = [s.id for s in routine.stretches]
    for option, ids in (("--only", overrides.only), ("--skip", overrides.skip), ("--hold-for", [i for i, _ in overrides.hold_for])):
        for stretch_id in ids:
            if stretch_id not in known:
                raise _option_error(option, _unknown_stretch(stretch_id, routine, known))
    by_id = {s.id: s for s in routine.stretches}
    chosen = [by_id[i] for i in dict.fromkeys(overrides.only)] if overrides.only else list(routine.stretches)
    chosen = [s for s in chosen if s.id not in overrides.skip]
    if not chosen:
        raise _option_error("--skip", "no stretches left to build; skip fewer")
    hold_for = dict(overrides.hold_for)
    changed = []
    for stretch in chosen:
        updates = {
            "hold_ms": hold_for.get(stretch.id, overrides.hold_ms),
            "sides": overrides.sides,
            "rest_ms": overrides.rest_ms,
            "reps": overrides.reps,
        }
        changed.append(replace(stretch, **{k: v for k, v in updates.items() if v is not None}))
    return replace(routine, stretches=tuple(changed))


def _unknown_stretch(stretch_id: str, routine: Routine, known: list[str]) -> str:
    close = difflib.get_close_matches(stretch_id, known, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"no stretch {stretch_id!r} in {routine.id}; {hint}(stretches: {', '.join(known)})"
