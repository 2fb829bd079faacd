"""Shared fixtures: an isolated phrase cache, a fake engine for logic tests, audio helpers."""

from __future__ import annotations

import array
import json
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from voiceroutine import load_routine
from voiceroutine.clips import Clip
from voiceroutine.engines import Voice, get_engine

RATE = 44_100


@pytest.fixture(scope="session", autouse=True)
def phrase_cache(tmp_path_factory) -> Iterator[Path]:
    """One cache for the whole session, never the user's own: set before any fixture of any
    scope builds, so module-wide builds share it too."""
    folder = tmp_path_factory.getbasetemp() / "phrase-cache"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VOICEROUTINE_CACHE", str(folder))
        yield folder


class ToneEngine:
    """A stand-in engine for logic tests: a soft tone whose length follows the text."""

    name = "tone"

    def __init__(self) -> None:
        self.spoken: list[str] = []

    def voices(self) -> list[Voice]:
        return [Voice("tone", "Test tone", ("en",))]

    def resolve_voice(self, voice: str | None, language: str = "en") -> str:
        return voice or "tone"

    def synthesize(self, text: str, voice: str, rate: int) -> Clip:
        self.spoken.append(text)
        # About as long as speech at ``rate``, so it passes the check every clip must pass.
        frames = 22_050 * (100 + len(text) * 12_000 // rate) // 1000
        samples = array.array("h", (round(8000 * math.sin(i * 0.06)) for i in range(frames)))
        return Clip(samples.tobytes(), 22_050)

    def cache_key(self, voice: str, rate: int) -> str:
        return f"tone voice={voice} rate={rate}"


@pytest.fixture
def tone_engine() -> ToneEngine:
    return ToneEngine()


SHORT_ROUTINE = """
[routine]
id = "short"
title = "Short test routine"
intro = "Lie on your back."
outro = "All done."

[defaults]
hold = "3s"
rest = "2s"
switch = "2s"
get_ready = "1s"

[[stretch]]
id = "knee-hug"
name = "Knee hug"
steps = ["Hug one knee to your chest."]
side_names = ["left knee", "right knee"]

[[stretch]]
id = "butterfly"
name = "Butterfly"
steps = ["Soles together, knees open."]
sides = "none"
hold = "2.5s"
"""


@pytest.fixture(scope="session")
def engine():
    """The real default engine: pyttsx3 driving espeak-ng."""
    return get_engine("pyttsx3")


@pytest.fixture(scope="session")
def short_routine(tmp_path_factory):
    path = tmp_path_factory.mktemp("routine") / "short.toml"
    path.write_text(SHORT_ROUTINE)
    return load_routine(path)


def decode(path: Path) -> array.array:
    """Decode any audio file with ffmpeg to mono 16-bit samples at 44.1 kHz."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", str(RATE), "-"],
        capture_output=True,
        check=True,
    ).stdout
    return array.array("h", raw)


def onset_ms(samples: array.array, near_ms: int, window_ms: int = 150, threshold: int = 300) -> float | None:
    """The first sample louder than ``threshold`` within ``window_ms`` either side of ``near_ms``."""
    start = max(0, (near_ms - window_ms) * RATE // 1000)
    stop = min(len(samples), (near_ms + window_ms) * RATE // 1000)
    for i in range(start, stop):
        if abs(samples[i]) > threshold:
            return i * 1000 / RATE
    return None


def peak(samples: array.array, start_ms: int, end_ms: int) -> int:
    piece = samples[start_ms * RATE // 1000 : end_ms * RATE // 1000]
    return max((abs(s) for s in piece), default=0)


def one_line_error(result, status: int) -> str:
    """A CLI result that failed with ``status`` and said so in one "Error: ..." line, which is returned."""
    assert result.exit_code == status, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    return lines[0]


_LIBRARIES_LOADED = """
import sys
heavy = set(sys.argv[1].split(","))
from voiceroutine.cli import cli
try:
    cli(sys.argv[2:], prog_name="voiceroutine")
except SystemExit:
    pass
print(sorted({name.split(".")[0] for name in sys.modules} & heavy), file=sys.stderr)
"""


def libraries_loaded(args: list[str], heavy: set[str]) -> subprocess.CompletedProcess:
    """The command line run with ``args`` in a fresh Python; the last line of its stderr lists
    which of the ``heavy`` modules that loaded."""
    return subprocess.run([sys.executable, "-c", _LIBRARIES_LOADED, ",".join(sorted(heavy)), *args], capture_output=True, text=True)


def read_manifest(audio: Path) -> dict:
    return json.loads(audio.with_suffix(".json").read_text())



@pytest.fixture(scope="session")
def shared_folder(tmp_path_factory, short_routine, engine) -> Path:
    """A folder as `voiceroutine share` finds it: the short routine as MP3 with split tracks, and as M4B
    under another name (so it has its own manifest)."""
    from voiceroutine import build, resolve_settings
    from voiceroutine.cache import PhraseCache

    folder = tmp_path_factory.mktemp("shared")
    cache = PhraseCache(tmp_path_factory.getbasetemp() / "phrase-cache")
    build(short_routine, resolve_settings({"split": True}), folder / "short.mp3", engine=engine, cache=cache)
    build(short_routine, resolve_settings({"format": "m4b"}), folder / "short-book.m4b", engine=engine, cache=cache)
    return folder


class RunningShare:
    """`voiceroutine share` running for real (uvicorn on loopback) in a background thread."""

    def __init__(self, folder: Path, studio: bool = False) -> None:
        import threading

        from voiceroutine.share.server import ShareServer, describe, new_token, open_socket

        self.token = new_token()
        sock = open_socket("127.0.0.1", 0, 0)
        self.url = describe(sock, "127.0.0.1", self.token).url  # http://127.0.0.1:<port>/<token>/
        self.origin = self.url.rsplit("/", 2)[0]  # http://127.0.0.1:<port>
        self.server = ShareServer(folder, sock, self.token, studio=studio)
        self._thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> RunningShare:
        import time
        import urllib.request

        self._thread.start()
        for _ in range(200):
            try:
                urllib.request.urlopen(self.url, timeout=2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the share server did not start")

    def __exit__(self, *exc) -> None:
        self.server.stop()
        self._thread.join(timeout=10)
