#!/usr/bin/env python3
"""Measure builds and start-up against their targets in one table, and the share server in another.

Each build runs as its own process (as a user would run it), timed by wall
clock, with its CPU time (ffmpeg's included) and peak memory read from the
kernel: CPU time shows what a busy machine does to the wall clock. The floor
is ffmpeg alone encoding audio of the same length and format from a WAV file,
with the build's own encoder command: no build can be faster than that.
Builds and floors are measured in turns, so both meet the same load on a
shared machine; "x floor" is the median of each build's time over the floor
taken just after it. A cold build is compared with scripts/naive.py, the
plain script a user would write from the design card, run in the same
rounds. Piper rows need the neural extra, hibari rows the hibari extra
(./scripts/test installs both).

    .venv/bin/python scripts/bench.py            # median of 3 for the warm rows
    .venv/bin/python scripts/bench.py --runs 1 --no-piper --no-hibari
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

CORES = os.cpu_count() or 1
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    wall_s: float
    cpu_s: float  # the build's and its ffmpeg's user + system time: what load from other work barely moves
    peak_mb: float
    synthesised: int
    audio_s: float


@dataclass
class Row:
    case: str
    run: Run | None  # None for a command that makes no audio: only its wall time is shown
    floor_s: float | None = None
    x_floor: float | None = None  # median of each build's time over the floor taken right after it
    target: str = "-"
    met: str = "-"
    wall_s: float | None = None  # with no run: the command's median wall time

    @property
    def wall(self) -> float | None:
        return self.run.wall_s if self.run else self.wall_s


def measure(command: list[str], env: dict | None = None) -> tuple[float, float, float, str]:
    """Run a command; its wall time, CPU time (its own children's included), peak memory in MB and stdout."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0), err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"failed: {' '.join(command)}\n{err.read()}")
        return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.read()


def build(args: list[str], out: Path, cache: Path) -> Run:
    """Run one `voiceroutine build` and measure it."""
    env = {**os.environ, "VOICEROUTINE_CACHE": str(cache)}
    command = [sys.executable, "-m", "voiceroutine", "build", *args, "-o", str(out), "--no-sidecars"]
    wall, cpu, peak, stdout = measure(command, env)
    synthesised = int(re.search(r"(\d+) phrases? synthesised", stdout).group(1))
    duration_ms = json.loads(out.with_suffix(".json").read_text())["audio"]["duration_ms"]
    return Run(wall, cpu, peak, synthesised, duration_ms / 1000)


def encode_floor(wav: Path, out: Path) -> float:
    """Seconds ffmpeg alone takes to encode ``wav`` into ``out``'s format, read from a file.

    It runs the build's own encoder command, with the chapters or tags file the build
    gives ffmpeg for that format (from the manifest beside ``wav``).
    """
    from voiceroutine.export import ffmpeg_command, write_encoder_metadata
    from voiceroutine.script import Chapter

    with wave.open(str(wav)) as audio:
        rate = audio.getframerate()
    manifest = json.loads(wav.with_suffix(".json").read_text())
    fmt = out.suffix.lstrip(".")
    chapters = [Chapter(**c) for c in manifest["chapters"]]
    with tempfile.TemporaryDirectory() as work, wav.open("rb") as source:
        metadata = write_encoder_metadata(Path(work), fmt, chapters, {"title": manifest["routine"]["title"]})
        started = time.perf_counter()
        subprocess.run(ffmpeg_command(fmt, rate, 64, "", metadata, out), stdin=source, check=True)
        return time.perf_counter() - started


@dataclass
class Measured:
    builds: list[Run]
    floors: list[float]

    @property
    def run(self) -> Run:
        return median_run(self.builds)

    @property
    def floor_s(self) -> float:
        return statistics.median(self.floors)

    @property
    def x_floor(self) -> float:
        return statistics.median(b.wall_s / f for b, f in zip(self.builds, self.floors))


def in_turns(cases: list[tuple[Callable[[], Run], Path, Path]], runs: int) -> list[Measured]:
    """Each case's builds and floors, for cases given as (build it, its audio as WAV, the floor's output file).

    On a shared machine the same encode varies by a fifth from minute to minute, so every
    round takes each case's build and then its floor: all cases meet the same conditions,
    each build is compared with the floor taken just after it, and medians keep typical
    rounds where the fastest of each would compare one lucky minute with another.
    """
    measured = [Measured([], []) for _ in cases]
    for _ in range(runs):
        for (build_once, wav, floor_out), found in zip(cases, measured):
            found.builds.append(build_once())
            found.floors.append(encode_floor(wav, floor_out))
    return measured


def median_run(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda r: r.wall_s)[len(runs) // 2]


def naive(out: Path) -> Run:
    """scripts/naive.py, what a user would write from the design card: the comparison, measured."""
    wall, cpu, peak, stdout = measure([sys.executable, str(ROOT / "scripts" / "naive.py"), str(out)])
    seconds = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(out)], capture_output=True, text=True, check=True
    ).stdout  # fmt: skip
    return Run(wall, cpu, peak, stdout.count("Audio saved"), float(seconds))


def cold_rows(tmp: Path, runs: int) -> list[Row]:
    """The first build of bed-back (an empty cache, the default jobs) beside the naive script and a
    warm rebuild of the same routine, in turns, so the three meet the same load; ratios are medians
    of each round's."""
    naives, colds, warms = [], [], []
    for n in range(runs):
        naives.append(naive(tmp / "naive.mp3"))
        colds.append(build([], tmp / "cold.mp3", tmp / f"cold-cache-{n}"))
        warms.append(build([], tmp / "cold.mp3", tmp / f"cold-cache-{n}"))
    to_naive = statistics.median(c.wall_s / n.wall_s for c, n in zip(colds, naives))
    to_warm = statistics.median(c.wall_s / w.wall_s for c, w in zip(colds, warms))
    cold = median_run(colds)
    return [
        Row("naive script (scripts/naive.py): the comparison", median_run(naives)),
        Row(f"bed-back, pyttsx3, cold, {CORES} jobs", cold, target="peak <= 100 MB", met="yes" if cold.peak_mb <= 100 else "NO"),
        Row("bed-back, pyttsx3, warm, the same routine", median_run(warms)),
        Row("cold / naive: wall time", None, target=f"<= 0.6; measured {to_naive:.2f}", met="yes" if to_naive <= 0.6 else "NO"),
        Row("cold / warm: wall time", None, target=f"<= 2; measured {to_warm:.2f}", met="yes" if to_warm <= 2 else "NO"),
    ]


def encoder_rows(tmp: Path, wavs: Path, cache: Path, runs: int) -> list[Row]:
    rows = [Row("bed-back, pyttsx3, cold, 1 job", build(["--jobs", "1"], tmp / "cold1.mp3", tmp / "cold-cache-serial"))]
    rows += cold_rows(tmp, runs)
    build([], tmp / "cold.mp3", cache)  # fills the cache the warm rows share
    build(["--hold", "20s", "--format", "wav"], wavs / "warm.wav", cache)
    [warm] = in_turns([(lambda: build(["--hold", "20s"], tmp / "warm0.mp3", cache), wavs / "warm.wav", tmp / "floor.mp3")], runs)
    met = "yes" if warm.run.synthesised == 0 else "NO"
    rows.append(Row("bed-back, new --hold (phrases cached)", warm.run, warm.floor_s, warm.x_floor, "0 phrases synthesised", met))
    return rows


def circuits(tmp: Path, times: int) -> Path:
    """A routine file doing bed-back's five stretches ``times`` times over."""
    path = tmp / f"circuits-{times}.toml"
    subprocess.run([sys.executable, "-m", "voiceroutine", "init", "bed-back", str(path)], check=True, capture_output=True)
    text = path.read_text()
    first = text.index("[[stretch]]")
    head, stretches = text[:first], text[first:]
    rounds = [stretches] + [re.sub(r'^id = "(.+)"$', rf'id = "\1-{n}"', stretches, flags=re.M) for n in range(2, times + 1)]
    path.write_text(head + "\n".join(rounds))  # its id is its file name, circuits-<times>
    return path


def lengths(tmp: Path) -> list[tuple[str, list[str]]]:
    """Routines of about 7 minutes, 40 minutes and 3 hours, all from bed-back's stretches.

    The 40-minute and 3-hour ones are two and nine rounds of the stretches with the same holds,
    so they have the same mix of speech and silence per minute (LAME encodes silence faster
    than speech): how time grows with them is growth in length alone.
    """
    return [
        ("7-minute", ["--hold", "6s"]),
        ("40-minute", [str(circuits(tmp, 2)), "--hold", "1m35s"]),
        ("3-hour", [str(circuits(tmp, 9)), "--hold", "1m35s"]),
    ]


def length_rows(routines: list[tuple[str, list[str]]], tmp: Path, wavs: Path, cache: Path, runs: int) -> list[Row]:
    """Warm builds (a second build of the same routine) against the encoder alone, and how time grows with length."""
    cases = []
    for name, args in routines:
        build(args, tmp / f"{name}.mp3", cache)  # fills the cache: phrases, gain and leveled clips
        build([*args, "--format", "wav"], wavs / f"{name}.wav", cache)
        cases.append((partial(build, args, tmp / f"{name}.mp3", cache), wavs / f"{name}.wav", tmp / "floor.mp3"))
    measured = in_turns(cases, runs)
    rows = []
    for (name, _), found in zip(routines, measured):
        target, met = "<= 1.2x floor", found.x_floor <= 1.2
        if name == "3-hour":
            target, met = "<= 1.2x floor, < 150 MB", met and found.run.peak_mb < 150
        rows.append(Row(f"{name} routine, warm", found.run, found.floor_s, found.x_floor, target, "yes" if met else "NO"))
    # Linear in length: the 3-hour build's time over the 40-minute one's in the same round, per unit of length.
    middle, longest = measured[1], measured[2]
    length_ratio = longest.run.audio_s / middle.run.audio_s
    growth = statistics.median(b.wall_s / a.wall_s for a, b in zip(middle.builds, longest.builds)) / length_ratio
    cpu_growth = statistics.median(b.cpu_s / a.cpu_s for a, b in zip(middle.builds, longest.builds)) / length_ratio
    floor_growth = statistics.median(b / a for a, b in zip(middle.floors, longest.floors)) / length_ratio
    rows.append(
        Row(
            "3-hour / 40-minute: time ratio / length ratio",
            longest.run,
            target=f"within 10% of 1 (cpu {cpu_growth:.2f}, encoder alone {floor_growth:.2f}); measured {growth:.2f}",
            met="yes" if abs(growth - 1) <= 0.1 else "NO",
        )
    )
    return rows


def format_rows(routines: dict[str, list[str]], tmp: Path, wavs: Path, cache: Path, runs: int) -> list[Row]:
    """The other formats, warm, against their own encoders (after length_rows, whose WAVs they reuse).

    M4B and Opus encode slower than MP3, so the 7-minute routine shows their cost. WAV is
    only copied, so only the 3-hour routine (a gigabyte) shows whether a build keeps up.
    """
    cases = []
    chosen = [("7-minute", "m4b", "M4B"), ("7-minute", "opus", "Opus"), ("3-hour", "wav", "WAV")]
    for name, fmt, _ in chosen:
        out = tmp / f"{name}.{fmt}"
        build(routines[name], out, cache)  # levels the clips for this format
        cases.append((partial(build, routines[name], out, cache), wavs / f"{name}.wav", tmp / f"floor.{fmt}"))
    rows = []
    for (name, fmt, label), found in zip(chosen, in_turns(cases, runs)):
        if fmt == "wav":  # moving a gigabyte through the kernel: the machine's load decides, so it is shown, not judged
            rows.append(Row(f"{name} routine, {label}, warm", found.run, found.floor_s, found.x_floor))
            continue
        met = "yes" if found.x_floor <= 1.2 else "NO"
        rows.append(Row(f"{name} routine, {label}, warm", found.run, found.floor_s, found.x_floor, "<= 1.2x floor", met))
    return rows


def music_rows(routines: dict[str, list[str]], tmp: Path, wavs: Path, cache: Path, runs: int) -> list[Row]:
    """Warm builds with music under them, against their own encoder floor and the same builds
    without music (after length_rows, whose cache and no-music WAVs they share).

    The track is three minutes of soft filtered noise, so it loops under the longer routines.
    Music fills the holds, which LAME encodes far faster as silence: the floor shows that cost.
    """
    track = tmp / "music.mp3"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "anoisesrc=d=180:c=pink:a=0.2,lowpass=f=3000", "-ac", "1", "-b:a", "96k", str(track)],
        check=True,
    )  # fmt: skip
    rows = []
    for name in ("7-minute", "3-hour"):
        args, scored = routines[name], [*routines[name], "--music", str(track)]
        plain_out, music_out = tmp / f"{name}-plain.mp3", tmp / f"{name}-music.mp3"
        build(args, plain_out, cache)
        build(scored, music_out, cache)  # decodes and measures the track, levels with it
        build([*scored, "--format", "wav"], wavs / f"{name}-music.wav", cache)
        [found] = in_turns([(partial(build, scored, music_out, cache), wavs / f"{name}-music.wav", tmp / "floor.mp3")], runs)
        plain = [build(args, plain_out, cache) for _ in range(runs)]
        ratio = found.run.wall_s / median_run(plain).wall_s
        floors = found.floor_s / encode_floor(wavs / f"{name}.wav", tmp / "floor.mp3")
        target = f"<= 1.5x without music; measured {ratio:.2f} (the encoder alone: {floors:.2f}x)"
        met = ratio <= 1.5
        if name == "3-hour":
            target, met = f"{target}; < 150 MB", met and found.run.peak_mb < 150
        rows.append(Row(f"{name} routine with music, warm", found.run, found.floor_s, found.x_floor, target, "yes" if met else "NO"))
    return rows


def startup_rows(tmp: Path, cache: Path, runs: int) -> list[Row]:
    """Commands that make no audio start at once; a batch of routines builds on every core."""
    plan = statistics.median(_seconds(lambda: _voiceroutine(["plan"])) for _ in range(max(runs, 3) * 2))
    help_s = statistics.median(_seconds(lambda: _voiceroutine(["--help"])) for _ in range(max(runs, 3) * 2))
    heavy = subprocess.run(
        [sys.executable, "-c", "import sys; from voiceroutine.cli import cli\ntry: cli(['plan'])\nexcept SystemExit: pass\n"
         "print(sorted({m.split('.')[0] for m in sys.modules} & {'pydub', 'audioop', 'pyttsx3', 'piper', 'hibari', 'onnxruntime', 'mutagen', 'PIL'}), file=sys.stderr)"],
        capture_output=True, text=True,
    ).stderr.strip().splitlines()[-1]  # fmt: skip
    files = []
    for day in ("monday", "tuesday", "wednesday", "thursday"):
        path = tmp / f"{day}.toml"
        subprocess.run([sys.executable, "-m", "voiceroutine", "init", "bed-back", str(path)], check=True, capture_output=True)  # id: the day
        files.append(str(path))
    env = {**os.environ, "VOICEROUTINE_CACHE": str(cache)}
    batch = {}
    for jobs in (1, CORES):
        command = [sys.executable, "-m", "voiceroutine", "build", *files, "--hold", "20s", "-o", str(tmp / f"batch{jobs}"), "--jobs", str(jobs), "-q"]
        subprocess.run(command, env=env, check=True)  # warm: phrases, gains and leveled clips
        batch[jobs] = statistics.median(_seconds(lambda: subprocess.run(command, env=env, check=True)) for _ in range(runs))
    return [
        Row("voiceroutine plan (bed-back)", None, target="< 0.3 s", met="yes" if plan < 0.3 else "NO", wall_s=plan),
        Row("voiceroutine --help", None, wall_s=help_s),
        Row("audio or speech libraries loaded by plan", None, target=f"none; loaded: {heavy}", met="yes" if heavy == "[]" else "NO"),
        Row("batch of 4 routines, warm, --jobs 1", None, wall_s=batch[1]),
        Row(
            f"batch of 4 routines, warm, --jobs {CORES}",
            None,
            target=f"faster than --jobs 1 ({batch[1]:.2f} s)",
            met="yes" if batch[CORES] < batch[1] else "NO",
            wall_s=batch[CORES],
        ),
    ]


def _voiceroutine(args: list[str]) -> str:
    return subprocess.run([sys.executable, "-m", "voiceroutine", *args], capture_output=True, text=True, check=True).stdout


@dataclass
class EngineBuilds:
    serial: Run  # cold, one job
    parallel: Run  # cold, one job per core
    warm_same: Run  # the same routine again, every phrase cached
    warm: Run  # a new --hold
    speech_s: float  # the speech of the routine's distinct phrases


def engine_builds(engine: str, tmp: Path, runs: int) -> EngineBuilds:
    """bed-back with ``engine``: cold with one job and with one per core, then warm."""
    serial_cache, cache = tmp / f"{engine}-cache-1", tmp / f"{engine}-cache"
    serial = build(["--engine", engine, "--jobs", "1"], tmp / f"{engine}1.mp3", serial_cache)
    parallel = build(["--engine", engine], tmp / f"{engine}.mp3", cache)
    warm_same = median_run([build(["--engine", engine], tmp / f"{engine}-again.mp3", cache) for _ in range(runs)])
    events = json.loads((tmp / f"{engine}.json").read_text())["events"]
    speech_s = sum((e["end_ms"] - e["start_ms"]) / 1000 for e in {e["text"]: e for e in events if e["kind"] == "speech"}.values())
    warm = median_run([build(["--engine", engine, "--hold", "20s"], tmp / f"{engine}-warm.mp3", cache) for _ in range(runs)])
    return EngineBuilds(serial, parallel, warm_same, warm, speech_s)


def piper_rows(tmp: Path, runs: int) -> list[Row]:
    """Cold builds with one job and with one per core, and the speed of synthesis alone.

    Synthesis time is a cold build less a warm build of the same routine; the
    single-core real-time factor is the speech made per second by the one-job build.
    """
    made = engine_builds("piper", tmp, runs)
    serial_synthesis = made.serial.wall_s - made.warm_same.wall_s
    parallel_synthesis = made.parallel.wall_s - made.warm_same.wall_s
    rtf = made.speech_s / serial_synthesis
    ideal = made.speech_s / rtf / CORES
    target = f"synthesis < 1.3 x {ideal:.1f} s (speech {made.speech_s:.0f} s / RTF {rtf:.1f} / {CORES} cores)"
    return [
        Row("bed-back, piper, cold, 1 job", made.serial, target=f"synthesis {serial_synthesis:.1f} s"),
        Row(
            f"bed-back, piper, cold, {CORES} jobs",
            made.parallel,
            target=f"{target}; measured {parallel_synthesis:.1f} s",
            met="yes" if parallel_synthesis < 1.3 * ideal else "NO",
        ),
        Row("bed-back, piper, warm, new --hold", made.warm, target="0 phrases synthesised", met="yes" if made.warm.synthesised == 0 else "NO"),
    ]


def hibari_rows(tmp: Path, runs: int) -> list[Row]:
    """Cold builds with one job and with one per core, and a warm rebuild, beside Piper's.

    Synthesis time is a cold build less a warm build of the same routine; the one-job build's
    speech made per second is held to the 16x real time per core hibari was chosen for.
    """
    made = engine_builds("hibari", tmp, runs)
    serial_synthesis = made.serial.wall_s - made.warm_same.wall_s
    rtf = made.speech_s / serial_synthesis
    return [
        Row(
            "bed-back, hibari, cold, 1 job",
            made.serial,
            target=f"synthesis {serial_synthesis:.1f} s, speech {made.speech_s:.0f} s: {rtf:.0f}x real time, over 16x",
            met="yes" if rtf > 16 else "NO",
        ),
        Row(f"bed-back, hibari, cold, {CORES} jobs", made.parallel, target=f"synthesis {made.parallel.wall_s - made.warm_same.wall_s:.1f} s"),
        Row("bed-back, hibari, warm, new --hold", made.warm, target="0 phrases synthesised", met="yes" if made.warm.synthesised == 0 else "NO"),
    ]


def share_figures(folder: Path, runs: int) -> list[tuple[str, str, str, str]]:
    """`voiceroutine share` on loopback: page and feed times, requests on a kept-alive connection, and 50 phones
    downloading at once.

    Wi-Fi carries 5 to 50 MB/s, so the server keeps up when it serves faster than that.
    """
    import http.client
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from voiceroutine.share.server import ShareServer, new_token, open_socket

    token = new_token()
    sock = open_socket("127.0.0.1", 0, 0)
    port = sock.getsockname()[1]
    server = ShareServer(folder, sock, token)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    audio = next(folder.glob("*.mp3"))

    def get(path: str, headers: dict | None = None) -> bytes:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", f"/{token}/{path}", headers=headers or {})
        body = connection.getresponse().read()
        connection.close()
        return body

    def timed(path: str) -> float:
        return statistics.median(_seconds(lambda: get(path)) for _ in range(max(runs, 3) * 3))

    def kept_alive(path: str) -> tuple[float, float]:
        """The first request on a new connection (connecting included) and the later ones on it, medians."""
        firsts, laters = [], []
        for _ in range(max(runs, 3) * 3):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for n in range(6):
                started = time.perf_counter()
                connection.request("GET", f"/{token}/{path}")
                connection.getresponse().read()
                (laters if n else firsts).append(time.perf_counter() - started)
            connection.close()
        return statistics.median(firsts), statistics.median(laters)

    try:
        for _ in range(50):  # wait for the server to answer
            try:
                get("")
                break
            except OSError:
                time.sleep(0.05)
        page_ms, feed_ms = timed("") * 1000, timed("feed.xml") * 1000
        first_ms, later_ms = (s * 1000 for s in kept_alive("feed.xml"))
        size = audio.stat().st_size
        with ThreadPoolExecutor(50) as pool:
            started = time.perf_counter()
            bodies = list(pool.map(lambda i: get(f"files/{audio.name}", {"Range": f"bytes={i * 1000}-"}), range(50)))
            wall = time.perf_counter() - started
    finally:
        server.stop()
        thread.join(timeout=10)
    exact = all(body == audio.read_bytes()[i * 1000 :] for i, body in enumerate(bodies))
    rate = sum(map(len, bodies)) / wall / 1e6
    return [
        ("share page", f"{page_ms:.0f} ms", "< 200 ms", "yes" if page_ms < 200 else "NO"),
        ("podcast feed", f"{feed_ms:.0f} ms", "< 200 ms", "yes" if feed_ms < 200 else "NO"),
        (
            "feed on one kept-alive connection: 1st / later",
            f"{first_ms:.1f} ms / {later_ms:.1f} ms",
            "later as fast as the 1st (< 1.5x)",
            "yes" if later_ms < 1.5 * first_ms else "NO",
        ),
        (
            f"50 ranged downloads at once ({size / 1e6:.1f} MB file)",
            f"{wall:.2f} s, {rate:.0f} MB/s",
            "all byte-exact, > 50 MB/s (faster than Wi-Fi)",
            "yes" if exact and rate > 50 else "NO",
        ),
    ]


def _seconds(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def print_rows(header: tuple[str, ...], table: list[tuple[str, ...]]) -> None:
    table = [header, *table]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for i, cells in enumerate(table):
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(cells, widths)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def print_table(rows: list[Row], runs: int) -> None:
    header = ("case", "audio", "wall s", "cpu s", "floor s", "x floor", "peak MB", "synth", "target", "met")
    table = []
    for row in rows:
        run = row.run
        table.append(
            (
                row.case,
                f"{run.audio_s / 60:.1f} min" if run else "-",
                f"{row.wall:.2f}" if row.wall is not None else "-",
                f"{run.cpu_s:.2f}" if run else "-",
                f"{row.floor_s:.2f}" if row.floor_s else "-",
                f"{row.x_floor:.2f}" if row.x_floor else "-",
                f"{run.peak_mb:.0f}" if run else "-",
                str(run.synthesised) if run else "-",
                row.target,
                row.met,
            )
        )
    print_rows(header, table)
    load = os.getloadavg()[0]
    print(f"\n{CORES} cores; Python {sys.version.split()[0]}; median of {runs} for warm rows; load average {load:.2f} at the end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="repeat each warm case (and its floor) and keep the median")
    parser.add_argument("--no-piper", action="store_true", help="skip the piper engine rows")
    parser.add_argument("--no-hibari", action="store_true", help="skip the hibari engine rows")
    options = parser.parse_args()
    # The WAVs the floors read are kept in memory where there is a RAM folder, so no floor waits for the disk.
    ram = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="voiceroutine-bench-") as folder, tempfile.TemporaryDirectory(dir=ram) as wav_folder:
        tmp, wavs = Path(folder), Path(wav_folder)
        rows = encoder_rows(tmp, wavs, tmp / "cache", options.runs)
        routines = lengths(tmp)
        rows += length_rows(routines, tmp, wavs, tmp / "cache", options.runs)
        rows += format_rows(dict(routines), tmp, wavs, tmp / "cache", options.runs)
        rows += music_rows(dict(routines), tmp, wavs, tmp / "cache", options.runs)
        startup = startup_rows(tmp, tmp / "cache", options.runs)
        shared = tmp / "shared"
        shared.mkdir()
        for name in ("warm0.mp3", "warm0.json"):
            (tmp / name).rename(shared / name)
        share = share_figures(shared, options.runs)
        if not options.no_piper:
            rows += piper_rows(tmp, options.runs)
        if not options.no_hibari:
            rows += hibari_rows(tmp, options.runs)
    print_table(rows + startup, options.runs)
    print()
    print_rows(("share", "measured", "target", "met"), share)


if __name__ == "__main__":
    main()
