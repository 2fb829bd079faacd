#!/usr/bin/env python3
"""Make the chimes in sounds/: two-note bells, rising to start a hold and falling to end it.

Two sets: "soft" (low, slow decay; the default, for bed) and "bright" (higher,
quicker; easier to hear over other sounds).

The sounds are generated here from sine partials, so they are ours to ship (CC0).
Run it again after changing a note; the WAV files are committed.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 44_100
PEAK = 0.25  # -12 dBFS: about 4 LU under the voice, audible but never startling
LENGTH_S = 0.9  # shorter than the shortest hold (1 s), so the two chimes never overlap
# (frequency ratio, relative amplitude, decay time in seconds): a bell's inharmonic partials.
SOFT = ((1.0, 1.0, 0.30), (2.0, 0.18, 0.15), (2.76, 0.10, 0.08))
BRIGHT = ((1.0, 1.0, 0.16), (2.0, 0.35, 0.10), (2.76, 0.25, 0.06), (5.4, 0.10, 0.03))
C5, G5, A5, E6 = 523.25, 783.99, 880.0, 1318.51
# name -> (partials, ((onset s, frequency Hz), ...)): start rises ("begin"), end falls ("done").
CHIMES = {
    "soft-start": (SOFT, ((0.0, C5), (0.22, G5))),
    "soft-end": (SOFT, ((0.0, G5), (0.22, C5))),
    "bright-start": (BRIGHT, ((0.0, A5), (0.15, E6))),
    "bright-end": (BRIGHT, ((0.0, E6), (0.15, A5))),
}


def bell(t: float, frequency: float, partials) -> float:
    if t < 0:
        return 0.0
    attack = min(1.0, t / 0.006)  # 6 ms, soft enough not to click
    return attack * sum(a * math.exp(-t / d) * math.sin(2 * math.pi * frequency * r * t) for r, a, d in partials)


def chime(partials, notes: tuple[tuple[float, float], ...]) -> list[float]:
    frames = int(LENGTH_S * RATE)
    fade = int(0.08 * RATE)
    samples = []
    for i in range(frames):
        t = i / RATE
        value = sum(bell(t - onset, frequency, partials) for onset, frequency in notes)
        samples.append(value * min(1.0, (frames - i) / fade))
    peak = max(abs(s) for s in samples)
    return [s / peak * PEAK for s in samples]


def write_wav(path: Path, samples: list[float]) -> None:
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(RATE)
        f.writeframes(b"".join(struct.pack("<h", round(s * 32767)) for s in samples))


def main() -> None:
    folder = Path(__file__).resolve().parent.parent / "sounds"
    for name, (partials, notes) in CHIMES.items():
        write_wav(folder / f"{name}.wav", chime(partials, notes))
        print(f"wrote {folder / f'{name}.wav'}")


if __name__ == "__main__":
    main()
