"""The default engine: pyttsx3, which drives espeak-ng on Linux, SAPI5 on Windows, NSSpeech on macOS."""

from __future__ import annotations

import contextlib
import difflib
import io
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from ..clips import Clip, clip_from_wav
from ..errors import RoutineError, SynthesisError
from . import Voice

PREFERRED_VOICES = ("gmw/en-us", "en-us", "english-us")

MISSING_ESPEAK = (
    "the speech engine could not start ({error}). On Debian or Ubuntu install espeak-ng "
    "with `sudo apt-get install espeak-ng` (pyttsx3 needs it on Linux); ./scripts/run does this for you"
)


class Pyttsx3Engine:
    name = "pyttsx3"

    def __init__(self) -> None:
        self._engine = None
        self._warmed_up = False

    def _driver(self):
        if self._engine is None:
            try:
                import pyttsx3

                self._engine = pyttsx3.init()
            except Exception as e:  # pyttsx3 raises RuntimeError, OSError or ImportError by platform
                raise SynthesisError(MISSING_ESPEAK.format(error=e)) from e
        return self._engine

    def _speaker(self):
        """The driver, ready to speak into files. Listing voices needs no speech, so a
        rebuild whose phrases are all cached never speaks."""
        engine = self._driver()
        if not self._warmed_up:
            # The espeak driver's first runAndWait can return before its file is written;
            # after one short utterance, later ones wait properly.
            with tempfile.TemporaryDirectory(prefix="voiceroutine-") as folder:
                self._speak_to_file("Ready.", Path(folder) / "ready.wav", patience_s=5)
            self._warmed_up = True
        return engine

    def _speak_to_file(self, text: str, path: Path, patience_s: float = 0) -> None:
        """Speak into ``path``, waiting up to ``patience_s`` for a file the driver writes late."""
        # The espeak driver prints "Audio saved to ..." for every file; keep stdout clean.
        with contextlib.redirect_stdout(io.StringIO()):
            # One file per runAndWait: the driver keeps only the last pending file name.
            self._engine.save_to_file(text, str(path))
            self._engine.runAndWait()
            self._settle()
            deadline = time.monotonic() + patience_s
            while not path.exists() and time.monotonic() < deadline:
                time.sleep(0.01)

    def voices(self) -> list[Voice]:
        return [
            Voice(v.id, v.name, tuple(str(lang) for lang in (v.languages or ())))
            for v in self._driver().getProperty("voices")
        ]

    def resolve_voice(self, voice: str | None) -> str:
        voices = self.voices()
        if voice is None:
            ids = {v.id.lower(): v.id for v in voices}
            for preferred in PREFERRED_VOICES:
                if preferred in ids:
                    return ids[preferred]
            return self._driver().getProperty("voice")
        # espeak takes a variant after "+", e.g. "en-us+f3" for another timbre.
        base, plus, variant = voice.partition("+")
        wanted = base.strip().lower()
        for v in voices:
            names = {v.id.lower(), v.id.lower().rsplit("/", 1)[-1], v.name.lower(), *(lang.lower() for lang in v.languages)}
            if wanted in names:
                return v.id + (plus + variant if variant else "")
        close = difflib.get_close_matches(wanted, [v.id.rsplit("/", 1)[-1] for v in voices], n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise RoutineError(f"unknown voice {voice!r}; {hint}`voiceroutine voices` lists them", source="--voice")

    def synthesize(self, text: str, voice: str, rate: int) -> Clip:
        engine = self._speaker()
        try:
            self._settle()
            engine.setProperty("voice", voice)
            engine.setProperty("rate", rate)
            self._settle()
            with tempfile.TemporaryDirectory(prefix="voiceroutine-") as folder:
                path = Path(folder) / "phrase.wav"
                self._speak_to_file(text, path)
                data = path.read_bytes()
        except (OSError, RuntimeError, ValueError) as e:
            raise SynthesisError(f"the speech engine failed on {text[:60]!r}: {e}") from e
        return clip_from_wav(data)

    @staticmethod
    def _settle() -> None:
        """Wait until espeak has carried out every queued command.

        espeak runs in its own thread here and queues parameter changes; without
        this, a phrase could start before its voice and rate apply and be spoken
        at the previous (or default) rate, and the cache would keep it so.
        """
        if sys.platform.startswith("linux"):
            from pyttsx3.drivers import _espeak

            _espeak.Synchronize()

    def cache_key(self, voice: str, rate: int) -> str:
        # "settled": made after espeak applied the rate (earlier entries may have the wrong rate).
        return f"pyttsx3 {metadata.version('pyttsx3')} {self._backend_version()} voice={voice} rate={rate} settled"

    def _backend_version(self) -> str:
        self._driver()
        if sys.platform.startswith("linux"):
            from pyttsx3.drivers import _espeak

            return "espeak-ng " + _espeak.Info(None).decode()
        return sys.platform
