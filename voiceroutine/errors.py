"""Exceptions raised by the library; only the CLI turns them into messages and exit codes."""

from __future__ import annotations


class VoiceRoutineError(Exception):
    """Base class: something went wrong while building a routine."""


class RoutineError(VoiceRoutineError, ValueError):
    """The user's input (a routine file or an option) is wrong.

    The message always starts with where the problem is: the file and the
    field path, or the option name.
    """

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None):
        self.source = source
        self.field = field
        self.reason = message
        where = ": ".join(part for part in (source, field) if part)
        super().__init__(f"{where}: {message}" if where else message)


class SynthesisError(VoiceRoutineError):
    """The speech engine is missing or failed."""


class EncoderError(VoiceRoutineError):
    """ffmpeg is missing or failed, or the output could not be written."""
