"""The clearest natural voice, offline: hibari (a small neural model on onnxruntime).

hibari-tts bundles one voice inside its package, "heart" (a woman's, American
English, 24 kHz). Its other voices are downloaded the first time they are
asked for, which a build never lets happen: only the voices already on this
computer are listed and taken. Installed with `pip install 'voiceroutine[hibari]'`.
"""

from __future__ import annotations

import importlib.util
from importlib import metadata
from pathlib import Path

from ..clips import Clip
from ..errors import RoutineError, SynthesisError
from ..files import file_sha256
from ..language import DEFAULT_LANGUAGE, load_language, primary
from . import Voice

NOT_INSTALLED = (
    "the hibari engine is not installed: run `pip install 'voiceroutine[hibari]'` in your environment, "
    "or `./scripts/run --engine hibari`, which installs it"
)
BUNDLED = "heart"
# hibari adds shaped noise to the voice; from a fixed seed, a phrase comes out the same in any process.
SEED = 0
# hibari's pace does not follow its speed evenly: it divides each sound's length (most are close to
# a whole number of frames) by the speed and rounds, so the pace leaps where the common lengths cross
# a half (near speeds 0.57, 0.67, 0.8, 0.86, 1.2 and 1.33) and moves slowly in between. Words heard a
# minute at these speeds, measured on the bundled voice (bed-back's 42 phrases of six or more words,
# after trimming); the leaps had the same shape on every part of bed-back measured apart.
PACE = (
    (0.50, 107.6), (0.5675, 115.2), (0.57, 117.0), (0.5725, 124.3), (0.575, 127.0), (0.58, 128.1),
    (0.66, 136.2), (0.6625, 137.7), (0.665, 140.1), (0.67, 144.5), (0.675, 147.9), (0.68, 149.4),
    (0.79, 161.0), (0.795, 162.4), (0.7975, 164.9), (0.80, 173.3), (0.8025, 183.2), (0.805, 186.7),
    (0.81, 188.5), (0.85, 193.8), (0.87, 201.2), (1.18, 229.4), (1.20, 235.1), (1.22, 240.5),
    (1.32, 249.8), (1.325, 251.5), (1.33, 259.2), (1.335, 293.2), (1.34, 311.7), (1.35, 319.3),
    (1.36, 321.4), (1.98, 368.4), (2.00, 378.0),
)


def speed(rate_wpm: int) -> float:
    """hibari's speed that speaks at ``rate_wpm`` words a minute (its slowest and fastest beyond them)."""
    for (slow, slow_wpm), (fast, fast_wpm) in zip(PACE, PACE[1:]):
        if rate_wpm <= fast_wpm:
            share = max(0.0, (rate_wpm - slow_wpm) / (fast_wpm - slow_wpm))
            return round(slow + (fast - slow) * share, 4)
    return PACE[-1][0]


def _registry() -> dict[str, dict]:
    try:
        from hibari.voices import VOICES
    except ImportError:
        raise SynthesisError(NOT_INSTALLED) from None
    return VOICES


def _local_model(name: str) -> Path | None:
    """Where the voice ``name`` is on this computer, or None if hibari would have to download it."""
    from hibari.voices import voice_path

    try:
        return Path(voice_path(name, download_missing=False))
    except FileNotFoundError:
        return None


def _accent(entry: dict) -> str:
    return "British" if entry.get("british") else "US"


class HibariEngine:
    name = "hibari"

    def __init__(self) -> None:
        # Fail early, with advice, if the extra is missing; loading a voice waits for the first phrase.
        if importlib.util.find_spec("hibari") is None:
            raise SynthesisError(NOT_INSTALLED)
        self._models: dict[str, object] = {}
        self._digests: dict[str, str] = {}  # voice -> the sha256 of its model file

    def voices(self) -> list[Voice]:
        """The voices on this computer: the bundled one, and any hibari downloaded before."""
        found = []
        for name, entry in _registry().items():
            model = _local_model(name)
            if model is not None:
                where = "bundled" if entry.get("bundled") else "downloaded earlier"
                person = {"female": "a woman's", "male": "a man's"}.get(entry["gender"], "a")
                label = f"{name.capitalize()}: {_accent(entry)} English, {person} voice ({where})"
                found.append(Voice(name, label, (entry["language"].lower(),)))
        return found

    def resolve_voice(self, voice: str | None, language: str = DEFAULT_LANGUAGE) -> str:
        """A voice's name ("heart" for None), or the full path of a hibari voice file (.onnx).
        Every hibari voice speaks English, and only those on this computer are taken."""
        if primary(language) != "en":
            raise RoutineError(
                f"hibari's voices speak English only; for {load_language(language).name} ({language}) "
                "use --engine pyttsx3, or Piper with a voice file in that language",
                source="--voice",
            )
        registry = _registry()
        if voice is None or voice in registry:
            name = voice or BUNDLED
            if _local_model(name) is None:
                raise RoutineError(
                    f"hibari's voice {name!r} is not on this computer (hibari would download it; a build never does); "
                    "`voiceroutine voices --engine hibari` lists those that are",
                    source="--voice",
                )
            return name
        path = Path(voice).expanduser()
        if path.suffix != ".onnx":
            raise RoutineError(
                f"expected one of hibari's voices ({', '.join(v.id for v in self.voices())}) or a hibari voice file (.onnx), got {voice!r}",
                source="--voice",
            )
        if not path.is_file():
            raise RoutineError(f"{path}: file not found", source="--voice")
        return str(path.resolve())

    def _model_file(self, voice: str) -> Path:
        model = _local_model(voice) if voice in _registry() else Path(voice)
        if model is None or not model.is_file():
            raise SynthesisError(f"hibari's voice {voice} is no longer on this computer; build again")
        return model

    def _british(self, voice: str) -> bool:
        """Whether the voice reads with British spelling rules: a listed voice says; a voice file is
        the listed voice with the same content, else read as American English."""
        registry = _registry()
        if voice not in registry:
            digest = self._digest(voice)
            voice = next((name for name, entry in registry.items() if entry["sha256"] == digest), BUNDLED)
        return bool(registry[voice].get("british"))

    def _digest(self, voice: str) -> str:
        if voice not in self._digests:
            self._digests[voice] = file_sha256(self._model_file(voice))
        return self._digests[voice]

    def _model(self, voice: str):
        if voice not in self._models:
            from hibari import Hibari
            from hibari.g2p import G2P

            model, british = self._model_file(voice), self._british(voice)
            try:
                # The model's path is given, so hibari never looks for (or downloads) a voice itself;
                # one onnxruntime thread: builds run a process per core instead.
                self._models[voice] = Hibari(model=str(model), threads=1, g2p=G2P(british=british))
            except Exception as e:  # onnxruntime raises its own types for a bad model
                raise SynthesisError(f"cannot load the hibari voice {voice}: {e}") from e
        return self._models[voice]

    def synthesize(self, text: str, voice: str, rate: int) -> Clip:
        import numpy as np

        model = self._model(voice)
        try:
            audio = model(text, speed=speed(rate), seed=SEED)
        except Exception as e:  # onnxruntime and the phonemiser raise their own types
            raise SynthesisError(f"the speech engine failed on {text[:60]!r}: {e}") from e
        pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
        return Clip(pcm.tobytes(), model.sample_rate)

    def cache_key(self, voice: str, rate: int) -> str:
        from hibari import dsp

        # The file's content, not its name or path: a replaced voice must not reuse old clips. scipy,
        # when present, does hibari's signal processing instead of numpy: the last bits differ.
        return (
            f"hibari {metadata.version('hibari-tts')} voice={self._digest(voice)[:16]} british={self._british(voice)} "
            f"fft={dsp.FFT_BACKEND} speed={speed(rate):.4f} seed={SEED}"
        )
