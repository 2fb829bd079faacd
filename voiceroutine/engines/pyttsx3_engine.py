"""The default engine: pyttsx3, which drives espeak-ng on Linux, SAPI5 on Windows, NSSpeech on macOS."""

from __future__ import annotations

import contextlib
import difflib
import io
import sys
import tempfile
import threading
from importlib import metadata
from pathlib import Path

from ..clips import Clip, clip_from_wav
from ..errors import RoutineError, SynthesisError
from ..language import DEFAULT_LANGUAGE, load_language, primary
from . import Voice

MISSING_ESPEAK = (
    "the speech engine could not start ({error}). On Debian or Ubuntu install espeak-ng "
    "with `sudo apt-get install espeak-ng` (pyttsx3 needs it on Linux); ./scripts/run does this for you"
)


# espeak-ng says 1.19 times the words a minute its rate names (measured on bed-back's phrases of six
# or more words, rates 100 to 220, after trimming): asked for less, a rate means words heard a minute,
# as it does for Piper. espeak takes 80 to 450.
ESPEAK_WORDS_PER_RATE = 1.194
ESPEAK_RATES = (80, 450)
# Longer than any phrase takes to speak; a driver that never reports the end has lost the phrase.
FINISH_WAIT_S = 60.0


def espeak_rate(rate_wpm: int) -> int:
    """The espeak rate that is heard as ``rate_wpm`` words a minute."""
    return min(ESPEAK_RATES[1], max(ESPEAK_RATES[0], round(rate_wpm / ESPEAK_WORDS_PER_RATE)))


class Pyttsx3Engine:
    name = "pyttsx3"

    def __init__(self) -> None:
        self._engine = None
        self._finished = threading.Event()

    def _driver(self):
        if self._engine is None:
            try:
                import pyttsx3

                self._engine = pyttsx3.init()
            except Exception as e:  # pyttsx3 raises RuntimeError, OSError or ImportError by platform
                raise SynthesisError(MISSING_ESPEAK.format(error=e)) from e
            # The driver writes each file from espeak's own thread and reports the end of the
            # utterance only once the file is closed; that, not runAndWait, says it is complete.
            self._engine.connect("finished-utterance", lambda **_: self._finished.set())
            # Until its first run loop the driver only queues property changes, and that loop
            # cancels whatever espeak is still doing as it starts: a first phrase's rate could be
            # lost, and the phrase spoken at the driver's default (seen in fresh workers). An empty
            # first loop makes every later change apply at once, before the phrase it is for.
            # (pyttsx3 shares one driver per process: only its first user may run that loop.)
            if self._engine.proxy.isBusy():
                self._engine.runAndWait()
                self._settle()
        return self._engine

    def _speak_to_file(self, text: str, path: Path) -> None:
        """Speak ``text`` into the WAV file ``path``, returning once the driver has written all of it."""
        self._finished.clear()
        # The espeak driver prints "Audio saved to ..." for every file; keep stdout clean.
        with contextlib.redirect_stdout(io.StringIO()):
            # One file per runAndWait: the driver keeps only the last pending file name.
            self._engine.save_to_file(text, str(path))
            self._engine.runAndWait()
            self._settle()
            # Read any sooner and the file can still be empty: under load, a phrase came back
            # with no samples and nothing raised.
            if not self._finished.wait(FINISH_WAIT_S):
                raise SynthesisError(f"espeak did not finish speaking {text[:60]!r} within {FINISH_WAIT_S:g} s; build again")

    def voices(self) -> list[Voice]:
        return [
            Voice(v.id, v.name, tuple(str(lang) for lang in (v.languages or ())))
            for v in self._driver().getProperty("voices")
        ]

    def resolve_voice(self, voice: str | None, language: str = DEFAULT_LANGUAGE) -> str:
        voices = self.voices()
        if voice is None:
            # The language's own choice (en-us for English), else any voice speaking it.
            preferred, spoken_here = load_language(language).voice.lower(), primary(language)

            def codes(v: Voice) -> set[str]:
                return {v.id.rsplit("/", 1)[-1].lower(), *(code.lower() for code in v.languages)}

            found = next((v for v in voices if preferred in codes(v)), None) or next(
                (v for v in voices if any(primary(code) == spoken_here for code in codes(v))), None
            )
            if found:
                return found.id
            raise RoutineError(f"espeak-ng has no voice for {language}; `voiceroutine voices` lists those it has", source="--voice")
        # espeak takes a variant after "+", e.g. "en-us+f3" for another timbre.
        base, plus, variant = voice.partition("+")
        wanted = base.strip().lower()
        for v in voices:
            names = {v.id.lower(), v.id.lower().rsplit("/", 1)[-1], v.name.lower(), *(lang.lower() for lang in v.languages)}
            if wanted in names:
                spoken = {primary(code) for code in v.languages}
                if spoken and primary(language) not in spoken:
                    # A German voice would read a Spanish routine with German sounds: never what was meant.
                    raise RoutineError(
                        f"{voice!r} is espeak's {v.name} voice, not one for {load_language(language).name} ({language}); "
                        f"leave the voice out for espeak's own, or pick one from `voiceroutine voices --lang {language}`",
                        source="--voice",
                    )
                return v.id + (plus + variant if variant else "")
        # Codes as people type them: "en_gb" for "en-gb".
        names = sorted({name for v in voices for name in (v.id.rsplit("/", 1)[-1], *(lang.lower() for lang in v.languages))})
        close = difflib.get_close_matches(wanted.replace("_", "-"), names, n=1)
        hint = f"did you mean {close[0] + plus + variant!r}? " if close else ""
        raise RoutineError(f"unknown voice {voice!r}; {hint}`voiceroutine voices` lists them", source="--voice")

    def synthesize(self, text: str, voice: str, rate: int) -> Clip:
        engine = self._driver()
        try:
            self._settle()
            engine.setProperty("voice", voice)
            engine.setProperty("rate", espeak_rate(rate))
            self._settle()
            with tempfile.TemporaryDirectory(prefix="voiceroutine-") as folder:
                path = Path(folder) / "phrase.wav"
                self._speak_to_file(text, path)
                if not path.exists():  # the utterance was cut off: no sound, which the caller retries
                    return Clip(b"", 22_050)
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
        return f"pyttsx3 {metadata.version('pyttsx3')} {self._backend_version()} voice={voice} espeak-rate={espeak_rate(rate)} settled"

    def _backend_version(self) -> str:
        self._driver()
        if sys.platform.startswith("linux"):
            from pyttsx3.drivers import _espeak

            return "espeak-ng " + _espeak.Info(None).decode()
        return sys.platform
