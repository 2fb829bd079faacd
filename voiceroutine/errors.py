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
        where = ": ".join(printable(part) for part in (source, field) if part)
        message = printable(message, MAX_MESSAGE)
        super().__init__(f"{where}: {message}" if where else message)


MAX_PART = 120  # a file name or field as shown in a message
MAX_MESSAGE = 300


def printable(text: str, limit: int = MAX_PART) -> str:
    """``text`` safe to show on one terminal line: control and format characters escaped, and
    anything longer than ``limit`` cut in the middle (a pasted 100,000-character value stays readable)."""
    shown = "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)
    if len(shown) > limit:
        half = (limit - 5) // 2
        shown = f"{shown[:half]} ... {shown[-half:]}"
    return shown


class SynthesisError(VoiceRoutineError):
    """The speech engine is missing or failed."""


class EncoderError(VoiceRoutineError):
    """ffmpeg is missing or failed, or the output could not be written."""
