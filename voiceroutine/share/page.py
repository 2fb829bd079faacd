"""The page a phone opens: every shared routine with its cover, player, chapters and downloads.

The page itself is Jinja2 templates (``templates/``, autoescaped) with its
styles and scripts as files (``static/``); this module turns the catalog into
the plain values they show. Every link is relative to the page, so it keeps
the token, and each path segment in it is percent-encoded, so a file named
with ``#``, ``?``, ``%`` or spaces still loads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import quote

from ..durations import format_clock
from .catalog import PLAYER_ORDER, Catalog, SharedFile, SharedRoutine
from .studio_form import FORM_SETTINGS, MAX_TITLE

PAGE_LANGUAGE = "en"  # the page's own words; each routine's card says its own language
DOWNLOAD_LABELS = {"mp3": "MP3", "m4b": "M4B audiobook", "opus": "Opus", "wav": "WAV", "m3u8": "Tracks playlist", "lrc": "Lyrics (.lrc)", "vtt": "Captions (.vtt)"}


@dataclass(frozen=True)
class Link:
    href: str
    label: str
    size: str


@dataclass(frozen=True)
class ChapterLink:
    start_s: str  # where the player seeks to, in seconds
    at: str  # as a listener reads it: "4:05"
    title: str


@dataclass(frozen=True)
class Card:
    id: str
    language: str  # its title, chapters and stretch names are in it; the page's own words stay English
    title: str
    cover: str
    meta: str
    player: str
    chapters: tuple[ChapterLink, ...]
    downloads: tuple[Link, ...]
    tracks: tuple[Link, ...]


def page_context(catalog: Catalog, feed_url: str, folder_label: str, *, studio: bool = False) -> dict:
    """What the page template shows; with ``studio``, the "New routine" form above the routines."""
    return {
        "cards": [_card(routine) for routine in catalog.routines],
        "feed_url": feed_url,
        "folder_label": folder_label,
        "studio": studio,
        "settings": FORM_SETTINGS,
        "max_title": MAX_TITLE,
        "page_language": PAGE_LANGUAGE,
    }


def href(path: str) -> str:
    """A link to ``path`` under the token, relative to the page, every segment percent-encoded."""
    return "/".join(quote(segment, safe="") for segment in path.split("/"))


def _card(routine: SharedRoutine) -> Card:
    built = time.strftime("%d %b %Y %H:%M", time.localtime(routine.files[0].mtime_ns / 1e9))
    count = len(routine.stretches)
    chapters = tuple(ChapterLink(f"{c.start_ms / 1000:.3f}", _clock(c.start_ms), c.title) for c in routine.chapters)
    # Whole-routine audio first, in the order phones play best, then transcripts and the playlist.
    listed = sorted((f for f in routine.files if "/" not in f.path or f.kind == "m3u8"), key=lambda f: (not f.is_audio, _rank(f)))
    tracks = [f for f in routine.files if "/" in f.path and f.is_audio]
    return Card(
        id=routine.id,
        language=routine.language,
        title=routine.title,
        cover=href(f"cover/{routine.id}.png"),
        meta=f"{_clock(routine.duration_ms + 500)} \u00b7 {count} stretch{'' if count == 1 else 'es'} \u00b7 built {built}",
        player=_file_href(routine.player),
        chapters=chapters,
        downloads=tuple(_link(f, DOWNLOAD_LABELS[f.kind]) for f in listed),
        tracks=tuple(_link(f, f.path.rsplit("/", 1)[-1]) for f in tracks),
    )


def _link(shared: SharedFile, label: str) -> Link:
    return Link(_file_href(shared), label, _size(shared.size))


def _file_href(shared: SharedFile) -> str:
    return href(f"files/{shared.path}")


def _rank(shared: SharedFile) -> int:
    return PLAYER_ORDER.index(shared.kind) if shared.is_audio else 0


def _clock(ms: int) -> str:
    """Whole seconds for a listener: "4:05", "1:02:03"."""
    return format_clock(ms - ms % 1000)[:-2]


def _size(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{max(1, round(size / 1000))} kB"
