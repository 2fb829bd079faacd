"""Overrides: the command line's changes to what is in a routine (holds, sides, which stretches).

Option values arrive as text, from the CLI or any other front end, and are
checked with the same rules as routine files; errors name the option.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace

from .checks import duration_in, whole_number_in
from .errors import RoutineError
from .routine import HOLD_RANGE_MS, REPS_RANGE, REST_RANGE_MS, SIDES, Routine


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
