"""Transcripts beside the audio: .lrc (lyrics players) and .vtt (WebVTT, browsers and video players)."""

from __future__ import annotations

from .script import Script, Speech


def _lrc_time(ms: int) -> str:
    minutes, rest = divmod(ms, 60_000)
    return f"{minutes:02d}:{rest // 1000:02d}.{rest % 1000 // 10:02d}"


def _vtt_time(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def _spoken(script: Script) -> list[Speech]:
    return [e for e in script.events if isinstance(e, Speech)]


def lrc(script: Script) -> str:
    # [la:] names the language for the lyrics players that read it; the others skip unknown tags.
    lines = [f"[ti:{script.title}]", "[ar:voiceroutine]", f"[la:{script.language}]", f"[length:{_lrc_time(script.duration_ms)[:5]}]"]
    lines += [f"[{_lrc_time(e.start_ms)}]{e.text}" for e in _spoken(script)]
    return "\n".join(lines) + "\n"


def vtt(script: Script) -> str:
    cues = [f"{i}\n{_vtt_time(e.start_ms)} --> {_vtt_time(e.end_ms)}\n{e.text}" for i, e in enumerate(_spoken(script), 1)]
    # A header after WEBVTT names what the cues are and their language (as HTML's track srclang would).
    return f"WEBVTT\nKind: captions\nLanguage: {script.language}\n\n" + "\n\n".join(cues) + "\n"
