"""`voiceroutine share` with awkward folders and clients: bad manifests, odd file names, revalidating players,
malformed Range headers, and the page as templates with no inline code, over real HTTP on loopback."""

from __future__ import annotations

import json
import logging
import os
import shutil
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from voiceroutine.script import Chapter
from voiceroutine.share.catalog import Catalog, SharedFile, SharedRoutine, read_catalog
from voiceroutine.share.feed import render_feed

from conftest import RunningShare
from test_share import folder, links, manifest, send, share  # noqa: F401  (folder, share: fixtures)

integration = pytest.mark.integration

GOOD = {"short", "short-book"}


def feed_titles(body: bytes) -> list[str]:
    return [item.findtext("title") for item in ET.fromstring(body).iter("item")]


# One bad manifest: skipped, said once, and every good routine still shared.


def changed(path: list, value):
    """The short routine's manifest with ``value`` at ``path`` (keys and list indexes)."""

    def change(m: dict) -> dict:
        target = m
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return m

    return change


BAD_MANIFESTS = {
    "audio is a track": (changed(["audio", "file"], "short-tracks/02-knee-hug.mp3"), "audio.file"),
    "audio is lyrics": (changed(["audio", "file"], "short.lrc"), "audio.file"),
    "audio outside": (changed(["audio", "file"], "../short.mp3"), "audio.file"),
    "title a list": (changed(["routine", "title"], ["Short"]), "routine.title"),
    "title with a bell": (changed(["routine", "title"], "Short\a routine"), "routine.title"),
    "title with NUL": (changed(["routine", "title"], "Short\x00"), "routine.title"),
    "title a lone surrogate": (changed(["routine", "title"], "Short \ud800"), "routine.title"),
    "title U+FFFF": (changed(["routine", "title"], "Short \uffff"), "routine.title"),
    "chapter title escape code": (changed(["chapters", 0, "title"], "\x1b[2JIntro"), "chapters[1].title"),
    "chapter start a float": (changed(["chapters", 1, "start_ms"], 1.5), "chapters[2].start_ms"),
    "chapter start true": (changed(["chapters", 1, "start_ms"], True), "chapters[2].start_ms"),
    "chapter start negative": (changed(["chapters", 1, "start_ms"], -1), "chapters[2].start_ms"),
    "chapters a dict": (changed(["chapters"], {"title": "x"}), "chapters"),
    "duration a string": (changed(["audio", "duration_ms"], "9000"), "audio.duration_ms"),
    "stretch name a number": (changed(["routine", "stretches", 0, "name"], 7), "routine.stretches[1].name"),
    "stretches null": (changed(["routine", "stretches"], None), "routine.stretches"),
    "routine a string": (changed(["routine"], "short"), "routine"),
    "language unknown": (changed(["routine", "language"], "xx"), "routine.language"),
    "language a list": (changed(["routine", "language"], ["es"]), "routine.language"),
    "files a list": (changed(["files"], ["short.lrc"]), "files"),
    "tracks a number": (changed(["files", "tracks"], 5), "files are not listed"),
}


@integration
@pytest.mark.parametrize("change, field", list(BAD_MANIFESTS.values()), ids=list(BAD_MANIFESTS))
def test_a_bad_manifest_is_skipped_and_said_once_and_the_good_ones_still_shared(folder, caplog, change, field):
    """The page and the feed list every good routine; the bad one is left out, with one warning naming it and
    the field, however often the catalog is read again."""
    (folder / "bad.json").write_text(json.dumps(change(manifest(folder, "short")), ensure_ascii=True))
    caplog.set_level(logging.WARNING, logger="voiceroutine.share.catalog")
    with RunningShare(folder) as running:
        for touch in range(3):
            os.utime(folder / "short-book.json", (1_700_000_000 + touch, 1_700_000_000 + touch))  # the catalog is read again
            page = send(running.url)
            assert page.status == 200
            assert 'id="short"' in page.body.decode() and 'id="short-book"' in page.body.decode()
            assert 'id="bad"' not in page.body.decode()
            feed = send(running.url + "feed.xml")
            assert feed.status == 200
            assert len(feed_titles(feed.body)) == 2
        assert send(running.url + "cover/bad.png").status == 404
    warnings = [r.getMessage() for r in caplog.records if "bad.json" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert field in warnings[0], warnings[0]
    assert {r.id for r in read_catalog(folder).routines} == GOOD


@integration
def test_a_manifest_named_with_a_control_character_is_skipped(folder, caplog):
    """A file name is text the page and feed show too: one with a control character is not shared."""
    (folder / "bad\x07name.json").write_text(json.dumps(manifest(folder, "short")))
    with caplog.at_level(logging.WARNING, logger="voiceroutine.share.catalog"):
        assert {r.id for r in read_catalog(folder).routines} == GOOD
    assert any("bad\\x07name.json" in r.getMessage() for r in caplog.records)


# The feed is always XML.


def test_the_feed_drops_characters_xml_forbids():
    """Whatever text reaches the feed, it parses: characters XML 1.0 forbids are dropped, the rest kept."""
    hostile = "A\x00B\x01C\x0bD\x1fE\ud800F\ufffeG\uffffH <&> \u00e9\U0001f9d8"
    audio = SharedFile(f"{hostile}.mp3", "mp3", 1000, 1_700_000_000_000_000_000)
    routine = SharedRoutine(hostile, hostile, 60_000, (hostile,), (Chapter(hostile, 0, 60_000),), (audio,), "digest")
    rss = ET.fromstring(render_feed(Catalog(Path("/x"), (routine,)), "http://host/t/", lambda path: "http://host/t/" + path))
    item = rss.find("channel/item")
    assert item.findtext("title") == "ABCDEFGH <&> \u00e9\U0001f9d8"
    assert "\x00" not in item.find("enclosure").get("url")
    assert item.findtext("description") == "Stretches: ABCDEFGH <&> \u00e9\U0001f9d8."


@integration
def test_the_served_feed_parses_with_markup_in_titles(folder):
    """Titles with <, & and quotes, and file names with XML's special characters, still make well-formed XML."""
    title = 'Back & "hips" <calm>'
    m = manifest(folder, "short")
    m["routine"]["title"] = title
    (folder / "a&b<c>.json").write_text(json.dumps(m))
    with RunningShare(folder) as running:
        feed = send(running.url + "feed.xml")
    assert feed.status == 200
    assert title in feed_titles(feed.body)


# Names with #, ?, % and spaces.


ODD = "Morning #1? 100% done"


@pytest.fixture
def odd_folder(folder) -> Path:
    """The short routine again, every file of it named with characters URLs give meaning to."""
    m = manifest(folder, "short")
    for kind, suffix in (("mp3", ".mp3"), ("lrc", ".lrc"), ("vtt", ".vtt")):
        shutil.copyfile(folder / f"short{suffix}", folder / f"{ODD}{suffix}")
    shutil.copytree(folder / "short-tracks", folder / f"{ODD} tracks")
    m["audio"]["file"] = f"{ODD}.mp3"
    m["files"].update(lrc=f"{ODD}.lrc", vtt=f"{ODD}.vtt")
    m["files"]["tracks"]["folder"] = f"{ODD} tracks"
    m["routine"]["title"] = "Odd names"
    (folder / f"{ODD}.json").write_text(json.dumps(m))
    return folder


@integration
def test_covers_and_links_of_files_with_odd_names_load(odd_folder):
    """Every link on the page (cover, player, downloads, tracks) and in the feed reaches the right file."""
    with RunningShare(odd_folder) as running:
        page = send(running.url).body.decode()
        feed = ET.fromstring(send(running.url + "feed.xml").body)
        odd_links = [url for url in links(page) if "Morning" in url]
        assert len(odd_links) >= 5  # cover, player, mp3, lrc, vtt, playlist, tracks
        for url in odd_links:
            reply = send(urllib.parse.urljoin(running.url, url))
            assert reply.status == 200, url
            assert "#" not in url and "?" not in url and " " not in url, url
            path = urllib.parse.unquote(url.split("/", 1)[1])
            if url.startswith("files/"):
                assert reply.body == (odd_folder / path).read_bytes(), url
            else:
                assert reply.body.startswith(b"\x89PNG"), url
        item = next(i for i in feed.iter("item") if i.findtext("title") == "Odd names")
        urls = [item.find("enclosure").get("url"), *(e.get("href") or e.get("url") for e in item if e.get("href") or e.get("url"))]
        for url in urls:
            assert send(url).status == 200, url
        assert send(item.find("enclosure").get("url")).body == (odd_folder / f"{ODD}.mp3").read_bytes()


# Validators and ranges, as RFC 9110 has them.


@integration
@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("tag", ["{etag}", "W/{etag}", '"other", {etag}', "*"], ids=["exact", "weak", "listed", "star"])
def test_if_none_match_with_the_current_etag_is_304(share, method, tag):
    """A player or podcast app revalidating its copy gets 304 and no body, with the ETag again."""
    etag = send(share.url + "files/short.mp3", "HEAD").headers["ETag"]
    reply = send(share.url + "files/short.mp3", method, headers={"If-None-Match": tag.format(etag=etag), "Range": "bytes=0-9"})
    assert reply.status == 304
    assert reply.body == b""
    assert reply.headers["ETag"] == etag


@integration
def test_if_none_match_with_another_etag_sends_the_file(share, shared_folder):
    reply = send(share.url + "files/short.mp3", headers={"If-None-Match": '"from-an-earlier-build"'})
    assert reply.status == 200
    assert reply.body == (shared_folder / "short.mp3").read_bytes()


@integration
@pytest.mark.parametrize(
    "range_header",
    ["items=0-9", "pages=1-2", "bytes=500-100", "bytes=0-5, 9-3", "bytes=abc", "bytes=", "bytes=5", "bytes 0-9"],
)
def test_a_range_in_another_unit_or_reversed_is_ignored(share, shared_folder, range_header):
    """RFC 9110: a Range that cannot be understood is ignored and the whole file sent with 200, not refused."""
    reply = send(share.url + "files/short.mp3", headers={"Range": range_header})
    assert reply.status == 200
    assert reply.body == (shared_folder / "short.mp3").read_bytes()


@integration
def test_several_valid_ranges_still_work(share, shared_folder):
    """Ignoring bad ranges does not ignore good ones: two ranges are a multipart 206."""
    data = (shared_folder / "short.mp3").read_bytes()
    reply = send(share.url + "files/short.mp3", headers={"Range": "bytes=0-9, 20-29"})
    assert reply.status == 206
    assert reply.headers["Content-Type"].startswith("multipart/byteranges")
    assert data[:10] in reply.body and data[20:30] in reply.body


# The page: templates, no inline code, escaped text.


class Markup(HTMLParser):
    """Scripts, styles and inline handlers on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict] = []
        self.inline: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs) -> None:
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
        if tag == "style":
            self.inline.append("<style>")
        self.inline += [f"{tag} {name}" for name in attributes if name == "style" or name.startswith("on")]
        self.in_script = tag == "script"

    def handle_data(self, data) -> None:
        if self.in_script and data.strip():
            self.inline.append(f"script: {data.strip()[:40]}")

    def handle_endtag(self, tag) -> None:
        self.in_script = False


@integration
@pytest.mark.parametrize("studio", [False, True], ids=["page", "studio"])
def test_the_page_has_no_inline_script_or_style(shared_folder, studio):
    """Scripts and styles are files under the token, so the policy needs no 'unsafe-inline'."""
    with RunningShare(shared_folder, studio=studio) as running:
        page = send(running.url).body.decode()
        parser = Markup()
        parser.feed(page)
        assert parser.inline == []
        sources = [s["src"] for s in parser.scripts]
        assert len(sources) == (2 if studio else 1)
        styles = [url for url in links(page) if ".css" in url]
        assert len(styles) == (2 if studio else 1)
        for url in sources + styles:
            assert url.startswith("static/"), url
            reply = send(running.url + url)
            assert reply.status == 200, url
            assert reply.headers["Content-Type"].split(";")[0] in ("text/javascript", "application/javascript", "text/css")


@integration
def test_markup_in_titles_is_shown_as_text(folder):
    """Titles are text: autoescaping keeps a title or chapter from becoming markup on the page."""
    m = manifest(folder, "short")
    m["routine"]["title"] = "</h2><script>alert('title')</script>"
    m["chapters"][0]["title"] = '<img src=x onerror="alert(1)">'
    (folder / "short.json").write_text(json.dumps(m))
    with RunningShare(folder) as running:
        page = send(running.url).body.decode()
    parser = Markup()
    parser.feed(page)
    assert parser.inline == []
    assert all("src" in s for s in parser.scripts)
    assert "&lt;/h2&gt;&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page


@integration
def test_static_files_are_only_the_pages_own(share):
    """The static mount serves its files and nothing else: no listing, nothing above it."""
    assert send(share.url + "static/page.css").status == 200
    for path in ["static/", "static/../app.py", "static/%2e%2e/app.py", "static/..%2fapp.py", "static/nope.js"]:
        assert send(share.url + path).status == 404, path
