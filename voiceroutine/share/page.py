"""The page a phone opens: every shared routine with its cover, player, chapters and downloads.

One self-contained HTML document: styles and the small script are inline, and
every link is relative to the page, so nothing is fetched from anywhere else
and every URL keeps the token.
"""

from __future__ import annotations

import time
from html import escape
from urllib.parse import quote

from ..durations import format_clock
from .studio_page import STUDIO_FORM, STUDIO_SCRIPT, STUDIO_STYLE
from .catalog import PLAYER_ORDER, Catalog, SharedFile, SharedRoutine

DOWNLOAD_LABELS = {"mp3": "MP3", "m4b": "M4B audiobook", "opus": "Opus", "wav": "WAV", "m3u8": "Tracks playlist", "lrc": "Lyrics (.lrc)", "vtt": "Captions (.vtt)"}

STYLE = """
:root { color-scheme: dark; --bg: #101522; --card: #1b2236; --text: #ece6d8; --muted: #a9a3bd; --accent: #e9d9a6; }
* { box-sizing: border-box; }
body { margin: 0; padding: 16px; background: var(--bg); color: var(--text);
       font: 17px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 640px; margin: 0 auto; }
h1 { font-size: 1.4em; margin: 0 0 4px; }
header p, .meta, footer { color: var(--muted); }
.routine { background: var(--card); border-radius: 14px; padding: 14px; margin: 16px 0; }
.top { display: flex; gap: 14px; align-items: center; }
.top img { width: 88px; height: 88px; border-radius: 10px; flex: none; }
h2 { font-size: 1.15em; margin: 0; }
audio { width: 100%; margin: 12px 0 4px; }
ol { list-style: none; padding: 0; margin: 6px 0; }
.chapters button { width: 100%; display: flex; gap: 12px; padding: 10px 8px; border: 0; border-radius: 8px;
            background: none; color: inherit; font: inherit; text-align: left; cursor: pointer; }
.chapters button:hover, .chapters button:focus { background: #262f49; }
.chapters button[aria-current="true"] { background: #2d3858; color: var(--accent); }
.at { color: var(--muted); font-variant-numeric: tabular-nums; min-width: 3.6em; }
.downloads { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 8px; }
.downloads a { padding: 8px 12px; border-radius: 18px; background: #2d3858; color: var(--accent); text-decoration: none; font-size: .9em; }
details { width: 100%; color: var(--muted); }
summary { padding: 6px 0; cursor: pointer; }
.tracks { list-style: none; padding: 0; display: grid; gap: 6px; }
footer { font-size: .9em; margin-top: 24px; }
code { word-break: break-all; color: var(--text); }
"""

# Chapter buttons seek their card's player; the chapter playing is highlighted.
SCRIPT = """
for (const card of document.querySelectorAll(".routine:not(.studio)")) {
  const audio = card.querySelector("audio");
  const buttons = [...card.querySelectorAll("button[data-start]")];
  for (const button of buttons) {
    button.addEventListener("click", () => { audio.currentTime = Number(button.dataset.start); audio.play(); });
  }
  audio.addEventListener("timeupdate", () => {
    let current = null;
    for (const b of buttons) if (Number(b.dataset.start) <= audio.currentTime + 0.05) current = b;
    for (const b of buttons) b.setAttribute("aria-current", String(b === current));
  });
}
"""


def render_page(catalog: Catalog, feed_url: str, folder_label: str, *, studio: bool = False) -> str:
    """The page; with ``studio``, the "New routine" form above the routines."""
    cards = "".join(_card(routine) for routine in catalog.routines)
    if not cards:
        cards = (
            f"<p>Nothing is built in {escape(folder_label)} yet. Build a routine with "
            "<code>voiceroutine build</code>, then reload this page.</p>"
        )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>voiceroutine</title>
<style>{STYLE}{STUDIO_STYLE if studio else ""}</style>
</head>
<body>
<main>
<header>
<h1>Your routines</h1>
<p>Tap a chapter to jump to it. To keep a file, open its download link
(on iPhone, then Share &rarr; Save to Files).</p>
</header>
{STUDIO_FORM if studio else ""}
{cards}
<footer>
<p>Podcast feed for AntennaPod (Add podcast &rarr; by URL), on this network only:<br>
<code id="feed">{escape(feed_url)}</code></p>
<p>Served by voiceroutine from {escape(folder_label)}; this page stops working when sharing stops.</p>
</footer>
</main>
<script>{SCRIPT}{STUDIO_SCRIPT if studio else ""}</script>
</body>
</html>
"""


def _card(routine: SharedRoutine) -> str:
    player = routine.player
    built = time.strftime("%d %b %Y %H:%M", time.localtime(routine.files[0].mtime_ns / 1e9))
    chapters = "".join(
        f'<li><button type="button" data-start="{c.start_ms / 1000:.3f}">'
        f'<span class="at">{escape(_clock(c.start_ms))}</span><span>{escape(c.title)}</span></button></li>'
        for c in routine.chapters
    )
    # Whole-routine audio first, in the order phones play best, then transcripts and the playlist.
    listed = sorted((f for f in routine.files if "/" not in f.path or f.kind == "m3u8"), key=lambda f: (not f.is_audio, _rank(f)))
    downloads = "".join(_download(f, DOWNLOAD_LABELS[f.kind]) for f in listed)
    tracks = [f for f in routine.files if "/" in f.path and f.is_audio]
    if tracks:
        links = "".join(f"<li>{_download(f, f.path.rsplit('/', 1)[-1])}</li>" for f in tracks)
        downloads += f'<details><summary>Split tracks ({len(tracks)})</summary><ul class="tracks">{links}</ul></details>'
    count = len(routine.stretches)
    return f"""<section class="routine" id="{escape(routine.id)}">
<div class="top">
<img src="cover/{escape(routine.id)}.png" alt="">
<div><h2>{escape(routine.title)}</h2>
<div class="meta">{_clock(routine.duration_ms + 500)} &middot; {count} stretch{"" if count == 1 else "es"} &middot; built {built}</div></div>
</div>
<audio controls preload="metadata" src="{_href(player)}"></audio>
<ol class="chapters">{chapters}</ol>
<div class="downloads">{downloads}</div>
</section>
"""


def _download(shared: SharedFile, label: str) -> str:
    return f'<a href="{_href(shared)}" download>{escape(label)} <small>{_size(shared.size)}</small></a>'


def _rank(shared: SharedFile) -> int:
    return PLAYER_ORDER.index(shared.kind) if shared.is_audio else 0


def _href(shared: SharedFile) -> str:
    return escape("files/" + quote(shared.path))


def _clock(ms: int) -> str:
    """Whole seconds for a listener: "4:05", "1:02:03"."""
    return format_clock(ms - ms % 1000)[:-2]


def _size(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{max(1, round(size / 1000))} kB"
