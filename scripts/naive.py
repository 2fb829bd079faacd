#!/usr/bin/env python3
"""THE COMPARISON, not part of voiceroutine: the script a user would write from the design card.

scripts/bench.py runs it beside voiceroutine's own builds, so "how much faster
is a cold build than doing it by hand" is measured, not quoted. It reads the
built-in bed-back routine and does what the card says in the plainest way:
pyttsx3 speaks each line into a WAV file, pydub appends speech, chimes and
silences one after another, and pydub exports an MP3. No loudness, no tags,
no chapters, no cache, no checks.

    .venv/bin/python scripts/naive.py out/naive.mp3
"""

import sys
import tempfile
import tomllib
from pathlib import Path

import pyttsx3
from pydub import AudioSegment

ROOT = Path(__file__).resolve().parent.parent


def seconds(value) -> float:
    text = str(value)
    if text.endswith("m"):
        return float(text[:-1]) * 60
    return float(text.rstrip("s"))


def main(out: str) -> None:
    routine = tomllib.loads((ROOT / "voiceroutine/routines/bed-back.toml").read_text())
    defaults = routine["defaults"]
    engine = pyttsx3.init()
    engine.setProperty("rate", 130)
    start = AudioSegment.from_wav(ROOT / "sounds/soft-start.wav")
    end = AudioSegment.from_wav(ROOT / "sounds/soft-end.wav")
    folder = tempfile.mkdtemp()

    def say(text: str) -> AudioSegment:
        path = f"{folder}/line.wav"
        engine.save_to_file(text, path)
        engine.runAndWait()
        return AudioSegment.from_wav(path)

    def silence(s: float) -> AudioSegment:
        return AudioSegment.silent(duration=int(s * 1000))

    audio = silence(0.5) + say(routine["routine"]["title"]) + say(routine["routine"]["intro"])
    for number, stretch in enumerate(routine["stretch"], 1):
        audio += say(f"Stretch {number}. {stretch['name']}.")
        audio += say(stretch["why"])
        for step in stretch["steps"]:
            audio += say(step) + silence(3)
        sides = stretch.get("side_names", ["left side", "right side"]) if stretch.get("sides", "both") == "both" else [None]
        hold = seconds(stretch.get("hold", defaults["hold"]))
        for side in sides:
            if side:
                audio += say(side.capitalize() + ".")
            audio += silence(seconds(defaults["get_ready"]))
            audio += start + silence(hold - len(start) / 1000) + end + say("Release.")
        audio += silence(seconds(defaults["rest"]))
    audio += say(routine["routine"]["outro"]) + silence(2)
    audio.export(out, format="mp3", bitrate="64k").close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out/naive.mp3")
