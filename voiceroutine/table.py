"""The timeline as text for people: what `voiceroutine plan` prints."""

from __future__ import annotations

from .durations import format_clock, format_duration
from .script import Chime, Pause, Script, Speech


def _describe(event) -> str:
    if isinstance(event, Pause):
        return "pause"
    where = ", ".join(part for part in (event.stretch, event.side) if part)
    if isinstance(event, Speech):
        text = event.text if len(event.text) <= 70 else event.text[:67] + "..."
        return f"  cue  {text}  ({event.cue})" if event.cue else f"say    {text}"
    if isinstance(event, Chime):
        return f"chime  {event.sound} ({where})"
    return f"hold   {format_duration(event.end_ms - event.start_ms)} ({where})"


def _lengths_note(measured: int, phrases: int) -> str:
    if measured >= phrases:
        return "speech lengths from the phrase cache"
    if measured == 0:
        return "speech lengths estimated"
    return f"{measured} of {phrases} phrases' lengths from the phrase cache, the rest estimated"


def plan_table(script: Script, measured: int) -> str:
    """The timeline as a readable table: one line an event, chapters as headings, dropped cues last.

    ``measured``: how many of the phrases have their real length (from the phrase cache).
    """
    phrases = len(script.phrases)
    about = "" if measured >= phrases else "about "
    lines = [f"{script.title}: {about}{format_clock(script.duration_ms)} ({_lengths_note(measured, phrases)})", ""]
    chapters = list(script.chapters)
    for event in script.events:
        while chapters and chapters[0].start_ms <= event.start_ms:
            lines.append(f"== {chapters.pop(0).title}")
        length = (event.end_ms - event.start_ms) / 1000
        lines.append(f"  {format_clock(event.start_ms):>9}  {length:6.1f}s  {_describe(event)}")
    lines.append(f"  {format_clock(script.duration_ms):>9}  end")
    if script.dropped:
        lines += ["", f"Cues left out ({len(script.dropped)}):"]
        for cue in script.dropped:
            where = ", ".join(part for part in (cue.stretch, cue.side) if part)
            lines.append(f"  {format_clock(cue.at_ms):>9}  {cue.text!r} ({where}): {cue.reason}")
    return "\n".join(lines)
