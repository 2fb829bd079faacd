"""A podcast feed of the shared routines (RSS 2.0 with iTunes and Podcasting 2.0 tags).

AntennaPod fetches the feed from the phone itself, so a feed on the home
network works there. An episode's guid comes from what its audio holds, so a
rebuild that sounds the same stays one episode and a changed build is a new
one; chapters come as a Podcasting 2.0 JSON file. RSS gives a feed one
language: the channel says the one most of its routines speak.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from email.utils import formatdate
from xml.etree import ElementTree as ET

from ..language import DEFAULT_LANGUAGE
from .catalog import Catalog, SharedRoutine

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"
ET.register_namespace("itunes", ITUNES)
ET.register_namespace("podcast", PODCAST)
# What XML 1.0 has no place for, even escaped: most control characters, lone surrogates, U+FFFE and U+FFFF.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render_feed(catalog: Catalog, page_url: str, url_of: Callable[[str], str]) -> bytes:
    """RSS for every routine; ``url_of`` turns a path under the token (e.g. "files/a.mp3") into an absolute URL."""
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    _text(channel, "title", "voiceroutine")
    _text(channel, "link", page_url)
    _text(channel, "description", "Voice-guided stretching routines, shared from your computer.")
    _text(channel, "language", feed_language(catalog.routines))
    _text(channel, f"{{{ITUNES}}}author", "voiceroutine")
    _text(channel, f"{{{ITUNES}}}explicit", "false")
    _text(channel, f"{{{ITUNES}}}block", "Yes")  # a private feed: never list it in directories
    _element(channel, f"{{{ITUNES}}}category", text="Health & Fitness")
    if catalog.routines:
        _element(channel, f"{{{ITUNES}}}image", href=url_of(f"cover/{catalog.routines[0].id}.png"))
    for routine in catalog.routines:
        _item(channel, routine, url_of)
    ET.indent(rss)
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True)


def _item(channel: ET.Element, routine: SharedRoutine, url_of: Callable[[str], str]) -> None:
    audio = routine.player
    item = ET.SubElement(channel, "item")
    _text(item, "title", routine.title)
    _text(item, "description", "Stretches: " + ", ".join(routine.stretches) + ".")
    _element(item, "enclosure", url=url_of(f"files/{audio.path}"), length=str(audio.size), type=audio.media_type)
    # The size as well as the manifest: a cover or chime changed in place changes the file, not the manifest.
    _text(item, "guid", f"voiceroutine:{routine.id}:{routine.content_id}:{audio.size}", isPermaLink="false")
    _text(item, "pubDate", formatdate(audio.mtime_ns / 1e9, usegmt=True))
    _text(item, f"{{{ITUNES}}}duration", str(round(routine.duration_ms / 1000)))
    _element(item, f"{{{ITUNES}}}image", href=url_of(f"cover/{routine.id}.png"))
    _element(item, f"{{{PODCAST}}}chapters", url=url_of(f"chapters/{routine.id}.json"), type="application/json+chapters")


def feed_language(routines: Sequence[SharedRoutine]) -> str:
    """The channel's language (RSS has one per feed): the one most routines speak, the newest's on a tie."""
    counts = Counter(routine.language for routine in routines)
    most = max(counts.values(), default=0)
    # The routines come newest first, so the first in the most common language decides a tie.
    return next((routine.language for routine in routines if counts[routine.language] == most), DEFAULT_LANGUAGE)


def chapters_json(routine: SharedRoutine) -> bytes:
    """The routine's chapters in the Podcasting 2.0 JSON chapters format."""
    chapters = [{"startTime": c.start_ms / 1000, "endTime": c.end_ms / 1000, "title": c.title} for c in routine.chapters]
    return json.dumps({"version": "1.2.0", "chapters": chapters}, ensure_ascii=False).encode("utf-8")


def _text(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = _element(parent, tag, **attributes)
    element.text = xml_safe(text)
    return element


def _element(parent: ET.Element, tag: str, **attributes: str) -> ET.Element:
    return ET.SubElement(parent, tag, {name: xml_safe(value) for name, value in attributes.items()})


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids, so the feed always parses."""
    return NOT_XML.sub("", text)
