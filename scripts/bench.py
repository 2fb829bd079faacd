#!/usr/bin/env python3
"""Measure builds against their targets and print one table.

Each build runs as its own process (as a user would run it), timed by wall
clock, with its peak memory read from the kernel. The floor is ffmpeg alone
encoding audio of the same length and format from a WAV file: no build can be
faster than that.

    .venv/bin/python scripts/bench.py            # best of 3 for repeatable rows
    .venv/bin/python scripts/bench.py --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

LONG_HOLD = "3m40s"  # bed-back with this hold lasts about 40 minutes


@dataclass
class Run:
    wall_s: float
    peak_mb: float
    synthesised: int
    audio_s: float


def build(args: list[str], out: Path, cache: Path) -> Run:
    """Run one `voiceroutine build` and measure it."""
    env = {**os.environ, "VOICEROUTINE_CACHE": str(cache)}
    command = [sys.executable, "-m", "voiceroutine", "build", *args, "-o", str(out)]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    stdout, stderr = process.stdout.read(), process.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"build failed: {' '.join(command)}\n{stderr}")
    synthesised = int(re.search(r"(\d+) phrases? synthesised", stdout).group(1))
    duration_ms = json.loads(out.with_suffix(".json").read_text())["audio"]["duration_ms"]
    return Run(wall, usage.ru_maxrss / 1024, synthesised, duration_ms / 1000)


def encode_floor(wav: Path, out: Path) -> float:
    """Seconds ffmpeg alone takes to encode ``wav`` as the build's MP3 (64 kbps CBR mono)."""
    started = time.perf_counter()
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-c:a", "libmp3lame", "-b:a", "64k", "-id3v2_version", "3", str(out)],
        check=True,
    )
    return time.perf_counter() - started


def best(runs: list[Run]) -> Run:
    return min(runs, key=lambda r: r.wall_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="repeat each warm case and keep the fastest")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="voiceroutine-bench-") as folder:
        tmp = Path(folder)
        cache = tmp / "cache"
        rows = []

        cold = build([], tmp / "cold.mp3", cache)
        rows.append(("bed-back, cold cache", cold, None, "-", "-"))

        warm = best([build(["--hold", "20s"], tmp / "warm.mp3", cache) for _ in range(options.runs)])
        build(["--hold", "20s", "--format", "wav"], tmp / "warm.wav", cache)
        floor = min(encode_floor(tmp / "warm.wav", tmp / "floor.mp3") for _ in range(options.runs))
        met = "yes" if warm.synthesised == 0 else "NO"
        rows.append(("bed-back, warm, new --hold", warm, floor, "0 phrases synthesised", met))

        long = best([build(["--hold", LONG_HOLD], tmp / "long.mp3", cache) for _ in range(options.runs)])
        build(["--hold", LONG_HOLD, "--format", "wav"], tmp / "long.wav", cache)
        floor = min(encode_floor(tmp / "long.wav", tmp / "floor.mp3") for _ in range(options.runs))
        met = "yes" if long.wall_s < 2 * floor and long.peak_mb < 250 else "NO"
        rows.append(("~40-minute routine, warm", long, floor, "< 2x floor, < 250 MB", met))

    header = ("case", "audio", "wall s", "floor s", "x floor", "peak MB", "synth", "target", "met")
    table = [header]
    for name, run, floor, target, met in rows:
        table.append(
            (
                name,
                f"{run.audio_s / 60:.1f} min",
                f"{run.wall_s:.2f}",
                f"{floor:.2f}" if floor else "-",
                f"{run.wall_s / floor:.2f}" if floor else "-",
                f"{run.peak_mb:.0f}",
                str(run.synthesised),
                target,
                met,
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print(f"\n{os.cpu_count()} cores; Python {sys.version.split()[0]}; best of {options.runs} for warm rows")


if __name__ == "__main__":
    main()
