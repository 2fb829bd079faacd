"""Command-line options, as plain values, turned into a routine, its settings and where it goes.

Shared by `build`, `plan` and the batch builder's worker processes, so every
path reads options the same way: settings from the routine file, then options.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .errors import RoutineError
from .language import language_tag
from .overrides import apply_overrides, parse_overrides
from .routine import Routine, load_routine
from .settings import Settings, check_setting, resolve_settings

OVERRIDE_OPTIONS = ("hold", "hold_for", "sides", "rest", "reps", "only", "skip")
SETTING_OPTIONS = (
    "engine", "voice", "rate", "pace", "guidance", "time_left", "length",
    "chimes", "start_chime", "end_chime", "fade", "format", "bitrate",
    "loudness", "ambient", "music", "music_level", "cover", "split", "sidecars",
)  # fmt: skip


def load_options(options: dict) -> tuple[Routine, Settings]:
    """The routine named by ``options["routine"]`` with the options' changes applied, and its settings."""
    overrides = parse_overrides(**{name: options[name] for name in OVERRIDE_OPTIONS if name in options})
    routine = apply_overrides(load_routine(options["routine"], chosen_language(options.get("language"))), overrides)
    given = {}
    for name in SETTING_OPTIONS:
        if options.get(name) is not None:
            try:
                field_name, given[field_name] = check_setting(name, options[name])
            except ValueError as e:
                raise RoutineError(str(e), source="--" + name.replace("_", "-")) from None
    return routine, resolve_settings(routine.settings, given)


def chosen_language(value: str | None) -> str | None:
    """The tag ``--language`` names (None when not given)."""
    if value is None:
        return None
    try:
        return language_tag(value)
    except ValueError as e:
        raise RoutineError(str(e), source="--language") from None


def load_for_build(options: dict, output: str | None) -> tuple[Routine, Settings, Path]:
    """As ``load_options``, with the output file from ``-o`` and the format it implies."""
    from .export import resolve_output

    routine, settings = load_options(options)
    path, fmt = resolve_output(output, options.get("format"), routine.id)
    return routine, replace(settings, format=fmt), path
