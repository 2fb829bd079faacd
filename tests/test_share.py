"""`voiceroutine share`: what a phone on the LAN can (and cannot) get from the shared folder, over real HTTP."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import queue
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from voiceroutine.cli import cli
from voiceroutine.share.catalog import read_catalog
from voiceroutine.share.feed import render_feed
from voiceroutine.share.server import new_token

from conftest import RunningShare, one_line_error

integration = pytest.mark.integration

ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
PODCAST = "{https://podcastindex.org/namespace/1.0}"
VOICEROUTINE = Path(sys.executable).with_name("voiceroutine")
QR_BLOCKS = set("█▀▄ ")


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def send(url: str, method: str = "GET", headers: dict | None = None, body: bytes | None = None) -> Reply:
    """One request on its own connection, with the path sent exactly as written (no `..` normalising)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    try:
        connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=body, headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def raw_exchange(url: str, method: str) -> tuple[str, dict[str, str], bytes]:
    """Status line, headers and every byte after them, read off the socket until the server closes it."""
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        sock.sendall(f"{method} {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    return status, {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}, rest


def manifest(folder: Path, routine_id: str) -> dict:
    return json.loads((folder / f"{routine_id}.json").read_text())


def manifests(folder: Path) -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def listed(m: dict) -> list[str]:
    """Every file a manifest names, relative to its folder."""
    names = [m["audio"]["file"], *(m["files"][kind] for kind in ("lrc", "vtt") if kind in m["files"])]
    tracks = m["files"].get("tracks")
    if tracks:
        names += [f"{tracks['folder']}/{name}" for name in [*tracks["files"], tracks["playlist"]]]
    return names


def digest(folder: Path) -> dict[str, str]:
    """Every file in a folder tree and its content hash."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


class Links(HTMLParser):
    """Every src= and href= on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value is not None]


def links(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return parser.urls


def set_mtime(path: Path, seconds: int) -> None:
    os.utime(path, (seconds, seconds))


class ShareProcess:
    """`voiceroutine share` as a real subprocess, its output (stdout and stderr) read line by line as it comes."""

    def __init__(self, *args: str, cwd: Path) -> None:
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [str(VOICEROUTINE), "share", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8"
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for_url(self, timeout: float = 20) -> str:
        """The page URL, once the command has printed it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if line.startswith("Open on your phone:"):
                return line.split()[-1]
        raise AssertionError("no URL printed:\n" + "\n".join(self.lines))

    def finish(self, timeout: float) -> tuple[int, str]:
        """Exit status and the whole output, once the process ends by itself within ``timeout``."""
        status = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        while not self._queue.empty():
            line = self._queue.get_nowait()
            if line is not None:
                self.lines.append(line)
        return status, "\n".join(self.lines)

    def __enter__(self) -> ShareProcess:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def share(shared_folder):
    """The real server on the shared folder, for the tests that only read."""
    with RunningShare(shared_folder) as running:
        yield running


@pytest.fixture
def folder(shared_folder, tmp_path) -> Path:
    """A copy of the shared folder to alter; files "outside" it go in its parent, tmp_path."""
    return Path(shutil.copytree(shared_folder, tmp_path / "shared"))


# Range requests: what iOS Safari and podcast apps need before they play or resume.

@integration
@pytest.mark.parametrize(
    "range_header, first, last",
    [("bytes=0-99", 0, 99), ("bytes=-500", -500, -1), ("bytes=1000-", 1000, -1)],
    ids=["first-100", "suffix", "open-ended"],
)
def test_range_gives_exact_bytes(share, shared_folder, range_header, first, last):
    """A ranged GET answers 206 with exactly those bytes of the file and a correct Content-Range."""
    data = (shared_folder / "short.mp3").read_bytes()
    size = len(data)
    first, last = first % size, last % size
    reply = send(share.url + "files/short.mp3", headers={"Range": range_header})
    assert reply.status == 206
    assert reply.headers["Content-Range"] == f"bytes {first}-{last}/{size}"
    assert int(reply.headers["Content-Length"]) == last - first + 1
    assert reply.body == data[first : last + 1]
    assert reply.headers["Content-Type"] == "audio/mpeg"


@integration
@pytest.mark.parametrize("range_header", ["bytes={size}-", "bytes={size}-{end}", "bytes=99999999-"])
def test_range_past_the_end_is_416(share, shared_folder, range_header):
    """A range starting past the end is refused with 416 and the real size, not served as the whole file."""
    size = (shared_folder / "short.mp3").stat().st_size
    reply = send(share.url + "files/short.mp3", headers={"Range": range_header.format(size=size, end=size + 100)})
    assert reply.status == 416
    assert reply.headers["Content-Range"] == f"bytes */{size}"
    assert len(reply.body) < 100


@integration
def test_head_gives_size_and_no_body(share, shared_folder):
    """HEAD tells the size (players size the seek bar from it) and sends no body at all."""
    status, headers, rest = raw_exchange(share.url + "files/short.mp3", "HEAD")
    assert status.split()[1] == "200"
    assert int(headers["content-length"]) == (shared_folder / "short.mp3").stat().st_size
    assert headers["accept-ranges"] == "bytes"
    assert rest == b""


@integration
@pytest.mark.parametrize(
    "path, media_type",
    [("short.mp3", "audio/mpeg"), ("short-book.m4b", "audio/mp4"), ("short-tracks/02-knee-hug.mp3", "audio/mpeg")],
)
def test_audio_headers_for_players(share, shared_folder, path, media_type):
    """Each audio file says its type, that it takes ranges, and how to validate a cached copy."""
    reply = send(share.url + "files/" + path, headers={"Range": "bytes=0-1"})
    assert reply.status == 206
    assert reply.headers["Content-Type"] == media_type
    assert reply.headers["Accept-Ranges"] == "bytes"
    assert reply.headers["ETag"]
    assert reply.headers["Last-Modified"]
    assert reply.body == (shared_folder / path).read_bytes()[:2]


@integration
def test_if_range(share, shared_folder):
    """If-Range: the current ETag resumes with 206; a stale one gets the whole new file with 200."""
    data = (shared_folder / "short.mp3").read_bytes()
    etag = send(share.url + "files/short.mp3", "HEAD").headers["ETag"]
    fresh = send(share.url + "files/short.mp3", headers={"Range": "bytes=10-19", "If-Range": etag})
    assert fresh.status == 206
    assert fresh.body == data[10:20]
    stale = send(share.url + "files/short.mp3", headers={"Range": "bytes=10-19", "If-Range": '"not-the-current-etag"'})
    assert stale.status == 200
    assert stale.body == data


# The token: without it nothing is reachable.

def test_new_tokens_are_long_unique_and_url_safe():
    """Every run gets its own unguessable token that needs no escaping in a URL."""
    tokens = [new_token() for _ in range(200)]
    assert len(set(tokens)) == len(tokens)
    for token in tokens:
        assert len(token) >= 16
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token)


@integration
@pytest.mark.parametrize("resource", ["", "feed.xml", "files/short.mp3", "cover/short.png", "chapters/short.json"])
@pytest.mark.parametrize("variant", ["none", "wrong", "case", "prefix", "longer"])
def test_every_url_needs_the_exact_token(share, resource, variant):
    """Without the token, with another one, or one differing only in case or length, every URL is a 404."""
    assert send(share.url + resource).status == 200  # the real token works, so the 404 below is the token's doing
    token = share.token
    prefix = {
        "none": "/",
        "wrong": f"/{new_token()}/",
        "case": f"/{token.swapcase()}/",
        "prefix": f"/{token[:-1]}/",
        "longer": f"/{token}x/",
    }[variant]
    assert prefix != f"/{token}/"
    reply = send(share.origin + prefix + resource)
    assert reply.status == 404
    assert token.encode() not in reply.body


# Traversal and the allowlist: only the files the manifests name.

@integration
@pytest.mark.parametrize(
    "path",
    [
        "files/../short.json",
        "files/%2e%2e/short.json",
        "files/%2E%2E%2Fshort.json",
        "files/short-tracks/../short.json",
        "files/short-tracks/..%2fshort.json",
        "files/./short.json",
        "files//etc/passwd",
        "files/%2fetc%2fpasswd",
        "files/%252e%252e/short.json",
        "files/%252e%252e%252fshort.json",
        "files/short.json",
        "files/short-book.json",
        "files/short-tracks/",
        "files/short-tracks",
        "files/",
        "files/SHORT.MP3",
        "files/short.mp3%00.json",
        "files/short.mp3/",
        "../short.json",
        "%2e%2e/short.json",
    ],
)
def test_only_listed_files_are_served(share, path):
    """Traversal in any spelling, manifests, directories and unlisted names are all plain 404s."""
    reply = send(share.url + path)
    assert reply.status == 404
    assert b"voiceroutine-manifest" not in reply.body
    assert b"root:" not in reply.body


@integration
def test_slash_redirect_serves_nothing(share):
    """`files` without a slash may redirect, but only to `files/` under the token, which is a 404."""
    reply = send(share.url + "files")
    if reply.status != 404:
        assert reply.status in (301, 302, 307, 308)
        assert reply.headers["Location"] == share.url + "files/"
        assert send(reply.headers["Location"]).status == 404


@integration
@pytest.mark.parametrize("when", ["before-start", "while-sharing"])
@pytest.mark.parametrize("target", ["short.lrc", "short-tracks"])
def test_symlink_out_of_the_folder_is_not_served(folder, tmp_path, target, when):
    """A listed name that is a symlink to something outside the folder is a 404, even if it appears while sharing."""
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "short.lrc").write_text("TOP SECRET lyrics")
    for track in (folder / "short-tracks").iterdir():
        (secret / track.name).write_bytes(b"TOP SECRET " + track.name.encode())

    def swap() -> None:
        victim = folder / target
        shutil.rmtree(victim) if victim.is_dir() else victim.unlink()
        victim.symlink_to(secret / target if target.endswith(".lrc") else secret)

    served = "short.lrc" if target == "short.lrc" else "short-tracks/01-introduction.mp3"
    if when == "before-start":
        swap()
    with RunningShare(folder) as running:
        if when == "while-sharing":
            assert send(running.url + "files/" + served).status == 200  # the catalog is read and cached
            swap()
        reply = send(running.url + "files/" + served)
        assert reply.status == 404
        assert b"TOP SECRET" not in reply.body
        assert send(running.url + "files/short.vtt").status == 200
        assert send(running.url + "files/short.mp3").status == 200
        if when == "before-start":
            assert f'"files/{served}"' not in send(running.url).body.decode()


@integration
def test_manifest_naming_files_outside_is_not_obeyed(folder, tmp_path):
    """A manifest naming ../x or an absolute path gets nothing served from there; the other routines still are."""
    (tmp_path / "outside.mp3").write_bytes(b"ID3 OUTSIDE audio")
    (tmp_path / "outside.lrc").write_text("OUTSIDE lyrics")
    base = manifest(folder, "short")
    hostile = {
        "escape": {**base, "audio": {**base["audio"], "file": "../outside.mp3"}},
        "absolute": {**base, "audio": {**base["audio"], "file": str(tmp_path / "outside.mp3")}},
        "sidecars": {**base, "files": {"lrc": "../outside.lrc", "vtt": str(tmp_path / "outside.lrc")}},
    }
    for name, m in hostile.items():
        (folder / f"{name}.json").write_text(json.dumps(m))

    catalog = read_catalog(folder)
    assert {r.id for r in catalog.routines} == {"short", "short-book", "sidecars"}
    assert [f.path for f in catalog.routine("sidecars").files] == ["short.mp3"]
    with RunningShare(folder) as running:
        for path in [
            "files/../outside.mp3",
            "files/..%2Foutside.mp3",
            "files/%2e%2e%2foutside.lrc",
            "files/" + str(tmp_path / "outside.mp3"),
            "files/" + urllib.parse.quote(str(tmp_path / "outside.lrc"), safe=""),
            "cover/escape.png",
            "chapters/absolute.json",
        ]:
            reply = send(running.url + path)
            assert reply.status == 404, path
            assert b"OUTSIDE" not in reply.body, path
        page = send(running.url)
        assert page.status == 200
        assert "outside.mp3" not in page.body.decode() and "outside.lrc" not in page.body.decode()
        assert send(running.url + "files/short.mp3").status == 200
        assert len(ET.fromstring(send(running.url + "feed.xml").body).findall("channel/item")) == 3


def _with(path: list[str], value):
    """A change to the short routine's manifest: ``value`` at ``path``."""

    def change(m: dict) -> bytes:
        target = m
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return json.dumps(m).encode()

    return change


NOT_MANIFESTS = {
    "other-json": lambda m: b'{"hello": "world"}',
    "broken-syntax": lambda m: b'{"format": "voiceroutine-manifest/1", "audio": ',
    "not-utf8": lambda m: b'\xff\xfe{"format"\x00',
    "empty": lambda m: b"",
    "null": lambda m: b"null",
    "list": lambda m: b"[1, 2, 3]",
    "other-format": _with(["format"], "voiceroutine-manifest/999"),
    "no-chapters": lambda m: json.dumps({k: v for k, v in m.items() if k != "chapters"}).encode(),
    "files-not-a-dict": _with(["files"], ["short.mp3"]),
    "audio-file-a-number": _with(["audio", "file"], 123),
    "audio-file-null": _with(["audio", "file"], None),
    "duration-too-large": lambda m: _with(["audio", "duration_ms"], "BIG")(m).replace(b'"BIG"', b"1e400"),
    "deeply-nested": lambda m: b"[" * 100_000 + b"]" * 100_000,
}


@integration
@pytest.mark.parametrize("content", list(NOT_MANIFESTS.values()), ids=list(NOT_MANIFESTS))
def test_json_that_is_not_a_usable_manifest_is_ignored(folder, content):
    """Any other or broken JSON appearing in the folder is skipped: the page, feed and files keep working."""
    with RunningShare(folder) as running:
        (folder / "stray.json").write_bytes(content(manifest(folder, "short")))
        page = send(running.url)
        assert page.status == 200, page.body[:200]
        assert send(running.url + "files/short.mp3").status == 200
        feed = send(running.url + "feed.xml")
        assert feed.status == 200
        assert len(ET.fromstring(feed.body).findall("channel/item")) == 2
    assert {r.id for r in read_catalog(folder).routines} == {"short", "short-book"}


# Read-only.

@integration
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["", "files/short.mp3", "files/short-tracks/short.m3u8", "files/new.mp3"])
def test_nothing_can_be_written(folder, method, path):
    """Methods other than GET/HEAD are refused and change nothing in the folder."""
    before = digest(folder)
    with RunningShare(folder) as running:
        reply = send(running.url + path, method, headers={"Content-Type": "audio/mpeg"}, body=b"OVERWRITTEN" * 100)
        assert reply.status in (404, 405)
        assert send(running.url + "files/short.mp3").body == (folder / "short.mp3").read_bytes()
    assert digest(folder) == before


# The page.

@integration
def test_page_lists_every_routine_with_chapters_and_downloads(share, shared_folder):
    """The page shows each routine's title and chapters, and links its audio, playlist, tracks and the feed."""
    reply = send(share.url)
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    page = reply.body.decode()
    hrefs = set(links(page))
    for m in manifests(shared_folder).values():
        assert m["routine"]["title"] in page
        for chapter in m["chapters"]:
            assert f"<span>{chapter['title']}</span>" in page
        for name in listed(m):
            assert "files/" + name in hrefs
    assert {"files/short.mp3", "files/short-book.m4b", "files/short-tracks/short.m3u8"} <= hrefs
    assert share.url + "feed.xml" in page


@integration
def test_page_loads_nothing_from_elsewhere(share):
    """No external assets: the only absolute URL on the page is the feed's, and every link works under the token.

    Inline ``data:`` URLs (the empty favicon) load nothing from anywhere, so they are the one exception.
    """
    page = send(share.url).body.decode()
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {share.url + "feed.xml"}
    urls = [url for url in links(page) if not url.startswith("data:")]
    assert len(urls) >= 10
    for url in urls:
        absolute = urllib.parse.urljoin(share.url, url)
        assert absolute.startswith(share.url), url
        assert send(absolute, "HEAD" if "files/" in url else "GET").status == 200, url


@integration
@pytest.mark.parametrize("path", ["", "feed.xml", "files/short.mp3", "cover/short.png", "static/page.js", "no-such-page"])
def test_security_headers(share, path):
    """Every response forbids sniffing, framing, outside resources, inline scripts and styles, and leaking the token."""
    headers = send(share.url + path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    policy = dict(directive.strip().split(" ", 1) for directive in headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["script-src"] == policy["style-src"] == "'self'"


# The podcast feed.

@integration
def test_feed_is_rss_with_one_working_episode_per_routine(share, shared_folder):
    """Each routine is an episode whose enclosure, cover and chapters download and match the manifest."""
    reply = send(share.url + "feed.xml")
    assert reply.status == 200
    rss = ET.fromstring(reply.body)
    assert rss.tag == "rss" and rss.get("version") == "2.0"
    items = rss.findall("channel/item")
    built = manifests(shared_folder)
    assert len(items) == len(built)
    guids = [item.findtext("guid") for item in items]
    assert all(guids) and len(set(guids)) == len(guids)

    seen = set()
    for item in items:
        chapters_url = item.find(f"{PODCAST}chapters").get("url")
        routine_id = re.fullmatch(re.escape(share.url) + r"chapters/(.+)\.json", chapters_url).group(1)
        m = built[routine_id]
        seen.add(routine_id)
        assert item.findtext("title") == m["routine"]["title"]
        assert item.findtext(f"{ITUNES}duration") == str(round(m["audio"]["duration_ms"] / 1000))

        enclosure = item.find("enclosure")
        assert enclosure.get("url") == share.url + "files/" + m["audio"]["file"]
        audio = send(enclosure.get("url"))
        assert audio.status == 200
        assert len(audio.body) == int(enclosure.get("length")) == (shared_folder / m["audio"]["file"]).stat().st_size
        assert audio.headers["Content-Type"] == enclosure.get("type")

        cover = send(item.find(f"{ITUNES}image").get("href"))
        assert cover.status == 200
        assert cover.body.startswith(b"\x89PNG")

        chapters = send(chapters_url)
        assert chapters.status == 200
        found = json.loads(chapters.body)["chapters"]
        assert [c["title"] for c in found] == [c["title"] for c in m["chapters"]]
        assert [c["startTime"] for c in found] == [c["start_ms"] / 1000 for c in m["chapters"]]
    assert seen == set(built)


def feed_items(folder: Path) -> dict[str, ET.Element]:
    """The feed's episodes by enclosure file name, parsed back from the RSS."""
    rss = ET.fromstring(render_feed(read_catalog(folder), "http://host/t/", lambda path: "http://host/t/" + path))
    return {item.find("enclosure").get("url").rsplit("/", 1)[-1]: item for item in rss.iter("item")}


@integration
@pytest.mark.parametrize("fmt", ["mp3", "opus"])
def test_a_rebuild_that_sounds_the_same_stays_one_episode(tmp_path, short_routine, engine, fmt):
    """The guid follows what the audio holds: a byte-identical rebuild (cached phrases), touched later,
    keeps it, so a podcast app lists no duplicate; a build with other holds is a new episode."""
    from dataclasses import replace

    from voiceroutine import Settings, build

    out = tmp_path / f"short.{fmt}"
    build(short_routine, Settings(format=fmt), out, engine=engine)
    first, first_bytes = feed_items(tmp_path)[out.name].findtext("guid"), out.read_bytes()
    build(short_routine, Settings(format=fmt, split=True), out, engine=engine)
    assert out.read_bytes() == first_bytes
    set_mtime(out, 1_900_000_000)
    set_mtime(out.with_suffix(".json"), 1_900_000_000)
    again = feed_items(tmp_path)[out.name]
    assert again.findtext("guid") == first
    assert parsedate_to_datetime(again.findtext("pubDate")).timestamp() == 1_900_000_000  # the date follows the file
    longer = replace(short_routine, stretches=tuple(replace(s, hold_ms=4000) for s in short_routine.stretches))
    build(longer, Settings(format=fmt), out, engine=engine)
    assert feed_items(tmp_path)[out.name].findtext("guid") != first


# Many phones (or one impatient player) at once.

@integration
def test_concurrent_ranged_downloads_are_byte_exact(share, shared_folder):
    """50 ranged downloads at once, each on its own connection, all get exactly their bytes."""
    names = ["short.mp3", *(f"short-tracks/{t}" for t in manifest(shared_folder, "short")["files"]["tracks"]["files"])]
    data = {name: (shared_folder / name).read_bytes() for name in names}
    rng = random.Random(20240611)
    jobs = []
    for _ in range(50):
        name = rng.choice(names)
        first = rng.randrange(len(data[name]))
        last = rng.randrange(first, len(data[name]))
        jobs.append((name, first, last))
    start = threading.Barrier(len(jobs), timeout=30)

    def download(job):
        name, first, last = job
        start.wait()
        return send(share.url + "files/" + name, headers={"Range": f"bytes={first}-{last}"})

    with ThreadPoolExecutor(max_workers=50) as pool:
        replies = list(pool.map(download, jobs))
    for (name, first, last), reply in zip(jobs, replies):
        assert reply.status == 206, (name, first, last)
        assert reply.headers["Content-Range"] == f"bytes {first}-{last}/{len(data[name])}"
        assert reply.body == data[name][first : last + 1], (name, first, last)


# The catalog.

@integration
def test_catalog_is_newest_first(folder):
    """The most recently built routine comes first, whichever it is."""
    for older, newer in [("short", "short-book"), ("short-book", "short")]:
        set_mtime(folder / manifest(folder, older)["audio"]["file"], 1_600_000_000)
        set_mtime(folder / manifest(folder, newer)["audio"]["file"], 1_700_000_000)
        assert [r.id for r in read_catalog(folder).routines] == [newer, older]


@integration
def test_audio_of_another_format_beside_a_build_is_not_offered(folder):
    """Every format of a name shares one manifest, so an MP3 beside the M4B its manifest describes is
    another build: neither listed, served, played nor the episode."""
    shutil.copyfile(folder / "short.mp3", folder / "short-book.mp3")
    catalog = read_catalog(folder)
    routine = catalog.routine("short-book")
    assert [f.path for f in routine.files] == listed(manifest(folder, "short-book"))
    assert routine.player.path == "short-book.m4b"
    assert catalog.file("short-book.mp3") is None
    feed = ET.fromstring(render_feed(catalog, "http://host/t/", lambda p: "http://host/t/" + p))
    assert "http://host/t/files/short-book.m4b" in {e.get("url") for e in feed.iter("enclosure")}
    assert "http://host/t/files/short-book.mp3" not in {e.get("url") for e in feed.iter("enclosure")}


@integration
def test_routine_whose_audio_is_gone_is_skipped(folder):
    """A manifest left behind after its audio was deleted shows nothing, and its sidecars are not served."""
    (folder / "short-book.m4b").unlink()
    catalog = read_catalog(folder)
    assert [r.id for r in catalog.routines] == ["short"]
    assert catalog.file("short-book.lrc") is None
    assert catalog.file("short.lrc") is not None


# The command.

@pytest.fixture
def invoke(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return lambda *args: CliRunner().invoke(cli, ["share", *args])


def test_cli_missing_folder(invoke):
    """A folder that does not exist: one line naming it, exit 2."""
    assert "/no/such/folder" in one_line_error(invoke("/no/such/folder", "--timeout", "1s"), 2)


def test_cli_bad_timeout(invoke, tmp_path):
    """A timeout that is not a duration: one line naming --timeout, exit 2."""
    assert "--timeout" in one_line_error(invoke(str(tmp_path), "--timeout", "banana"), 2)


def test_cli_bad_port(invoke, tmp_path):
    """A port out of range: one line naming --port, exit 2."""
    assert "--port" in one_line_error(invoke(str(tmp_path), "--port", "70000", "--timeout", "1s"), 2)


def test_cli_port_in_use(invoke, tmp_path):
    """A port another program listens on: exit 1, pointing at --port."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line_error(invoke(str(tmp_path), "--host", "127.0.0.1", "--port", str(port), "--timeout", "1s"), 1)
    assert "--port" in line
    assert str(port) in line


@integration
def test_cli_shares_until_the_timeout(folder, tmp_path):
    """The real command prints a QR code and both URLs, serves the page, and stops by itself when time is up."""
    with ShareProcess(str(folder), "--host", "127.0.0.1", "--port", "0", "--timeout", "3s", cwd=tmp_path) as run:
        url = run.wait_for_url()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/[A-Za-z0-9_-]{16,}/", url)
        page = send(url)
        assert page.status == 200
        assert b"Short test routine" in page.body
        assert send(url + "feed.xml").status == 200
        status, output = run.finish(timeout=10)
    elapsed = time.monotonic() - run.started
    assert status == 0, output
    assert elapsed >= 2.5  # not before the time given (a busy machine may make it later, never earlier)
    qr = [line for line in output.splitlines() if line.strip() and set(line) <= QR_BLOCKS and set(line) & set("█▀▄")]
    assert len(qr) >= 10, output
    assert f"Podcast feed:        {url}feed.xml" in output
    assert output.splitlines()[-1] == "Stopped: the time given by --timeout is up."
    assert "Traceback" not in output


@integration
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_cli_stops_cleanly_on_signal(folder, tmp_path, signum):
    """Ctrl-C or a kill while sharing stops the server cleanly: exit 0, "Stopped sharing.", no traceback."""
    with ShareProcess(str(folder), "--host", "127.0.0.1", "--port", "0", "--timeout", "0", cwd=tmp_path) as run:
        url = run.wait_for_url()
        assert send(url).status == 200
        run.proc.send_signal(signum)
        status, output = run.finish(timeout=10)
    assert status == 0, output
    assert output.splitlines()[-1] == "Stopped sharing."
    assert "Traceback" not in output
    with pytest.raises(OSError):
        send(url)
