"""Nothing lost, nothing confusing: faults, bad input and concurrency.

Fuzzing (hypothesis, and atheris when installed) of the routine parser, routine
files and the command line; faults in the middle of a build (the engine failing
or hanging, ffmpeg missing, failing or killed, a full disk, Ctrl-C); damaged,
foreign and bounded cache entries; builds running at the same time;
deterministic output; and text that is made safe before any engine sees it.

Every fault test starts from a real earlier build and checks, byte for byte and
hidden temporary files included, that the folder is exactly as it was.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voiceroutine import Overrides, Settings, apply_overrides, build, plan, resolve_settings
from voiceroutine import engines, export, pipeline, synthesis
from voiceroutine.cache import PhraseCache, phrase_key
from voiceroutine.checks import speakable
from voiceroutine.cli import cli
from voiceroutine.errors import EncoderError, RoutineError, SynthesisError
from voiceroutine.routine import MAX_FILE_BYTES, load_routine, parse_routine, read_routine_text
from voiceroutine.synthesis import PROCESSING, voice_phrases

from conftest import RATE, SHORT_ROUTINE, ToneEngine, decode, read_manifest

ROOT = Path(__file__).resolve().parent.parent
UNSPEAKABLE = {"Cc", "Cf", "Cs"}
LINE_BREAK = re.compile("[\n\r\x0b\x0c\x85\u2028\u2029]")  # what terminals and editors start a new line at
FUZZ = dict(
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


# --- Engines the worker processes can import (spawn starts them with this module on sys.path) ---


class ButterflyFailsEngine(ToneEngine):
    """A tone engine that fails on every phrase about the butterfly stretch."""

    name = "butterfly-fails"

    def synthesize(self, text, voice, rate):
        if "Butterfly" in text:
            raise SynthesisError(f"the test engine refused {text!r}")
        return super().synthesize(text, voice, rate)

    def cache_key(self, voice, rate):
        return f"{self.name} voice={voice} rate={rate}"


class ButterflyHangsEngine(ToneEngine):
    """A tone engine that hangs on every phrase about the butterfly stretch: for a minute, far past the
    time limits the tests set, so a limit that did not work shows as a phrase spoken, not as a slow test."""

    name = "butterfly-hangs"

    def synthesize(self, text, voice, rate):
        if "Butterfly" in text:
            time.sleep(60)
        return super().synthesize(text, voice, rate)

    def cache_key(self, voice, rate):
        return f"{self.name} voice={voice} rate={rate}"


class SteadyToneEngine(ToneEngine):
    """The plain tone engine under its own name, for the parallel path."""

    name = "steady-tone"


# --- Helpers ---


def _tree(folder: Path) -> dict[str, bytes | None]:
    """Every entry under ``folder`` (hidden temporary files and subfolders included) with file contents."""
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


def _part_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".part")]


def _assert_one_line(message: str, prefix: str) -> None:
    """An error a person reads: one line, starting where the problem is, with no control characters."""
    assert message.strip(), "empty error message"
    assert not LINE_BREAK.search(message), f"error message spans several lines: {message[:300]!r}"
    assert message.startswith(prefix), f"error message does not start with {prefix!r}: {message[:300]!r}"
    controls = sorted({c for c in message if unicodedata.category(c) == "Cc"})
    assert not controls, f"error message echoes control characters {controls!r}: {message[:300]!r}"


def _spoken_texts(routine) -> list[str]:
    texts = [routine.title, routine.intro, routine.outro]
    for s in routine.stretches:
        texts += [s.name, s.why, *s.steps, *s.tips, *s.side_names]
    return [t for t in texts if t is not None]


def _assert_speakable(text: str) -> None:
    bad = sorted({f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in UNSPEAKABLE})
    assert not bad, f"{text[:80]!r} has control/format characters {bad}"
    assert "[[" not in text and "]]" not in text, f"{text[:80]!r} has phoneme brackets"


def _tone_build(routine, out: Path, cache_dir: Path, engine=None, jobs: int = 1, **settings):
    return build(routine, Settings(**settings), out, engine=engine or ToneEngine(), cache=PhraseCache(cache_dir), jobs=jobs)


def _engine_key(engine, voice: str, rate: int, sample_rate: int = 44_100) -> str:
    return f"{engine.cache_key(voice, rate)} sample_rate={sample_rate} {PROCESSING}"


def _patch(monkeypatch, module, name: str, value) -> None:
    """Replace ``module.name``, and the pipeline's copy of it if it imported one."""
    monkeypatch.setattr(module, name, value)
    if hasattr(pipeline, name):
        monkeypatch.setattr(pipeline, name, value)


def _spawned_workers() -> set[int]:
    """This process's live multiprocessing workers (spawned interpreters), found in /proc."""
    found = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                with contextlib.suppress(OSError):
                    if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                        found.add(int(child))
    return found


def _wait_for_no_workers(before: set[int], seconds: float = 15.0) -> set[int]:
    """Workers started since ``before`` that are still alive after up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        multiprocessing.active_children()  # reaps finished ones
        left = _spawned_workers() - before
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def _children(pid: int) -> list[tuple[int, bytes]]:
    kids = []
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            with contextlib.suppress(OSError):
                kids.append((int(child), Path(f"/proc/{child}/cmdline").read_bytes()))
    return kids


def _run_cli(*args: str, env: dict, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voiceroutine", *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT, **kwargs)


def _mp3_frames(path: Path) -> bytes:
    """An MP3's bytes after its ID3v2 tag (which holds the date and cover), and without an ID3v1 tag."""
    data = path.read_bytes()
    assert data[:3] == b"ID3"
    size = 0
    for byte in data[6:10]:
        size = size << 7 | byte
    end = 10 + size + (10 if data[5] & 0x10 else 0)
    frames = data[end:]
    return frames[:-128] if frames[-128:-125] == b"TAG" else frames


def _duration_ms(samples) -> float:
    return len(samples) * 1000 / RATE


@pytest.fixture(scope="module")
def short_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("routine-file") / "short.toml"
    path.write_text(SHORT_ROUTINE)
    return path


@pytest.fixture(scope="module")
def earlier_build(tmp_path_factory, short_routine):
    folder = tmp_path_factory.mktemp("earlier")
    _tone_build(short_routine, folder / "out" / "short.mp3", folder / "cache")
    return folder


@pytest.fixture
def earlier(tmp_path, earlier_build):
    """A real earlier build (tone engine, serial) in tmp_path/out, and the warm cache it left, copied afresh."""
    out = tmp_path / "out" / "short.mp3"
    cache = tmp_path / "cache"
    shutil.copytree(earlier_build / "out", out.parent)
    shutil.copytree(earlier_build / "cache", cache)
    assert {p.name for p in out.parent.iterdir()} == {"short.mp3", "short.json", "short.lrc", "short.vtt"}
    return out, cache


# =====================================================================================
# 1. Fuzzing: the parser, routine files and the command line
# =====================================================================================

HUGE = 100_000
ODD_TEXTS = [
    "",
    " ",
    "Hug one knee.",
    "a" * HUGE,
    "\u0301" * HUGE,  # combining marks alone
    "\U0001F9D8" * (HUGE // 2),  # emoji
    "e\u0301\u0301\u0301\u0301",
    "\u202eevil\u202c",  # right-to-left override
    "\U0001F9D8\u200d\u2640\ufe0f",  # emoji with a zero-width joiner
    "\x00",
    "a\x00b",
    "\ud800",  # a lone surrogate
    "x\udfffy",
    "\x07\x1b[31mred\x1b[0m",
    "[[h@l'oU]]",
    "[[[",
    "]]]",
    "[ [",
    "\u2028line\u2029",
    "\r\n",
    "\t",
    "\ufeff",
    "\ue000",
    "\U0010ffff",
    "30s",
    "1m30s",
    "-1",
    "-0",
    "nan",
    "inf",
    "1e400",
    "99999999999999h",
    "both",
    "none",
    "x" * 301,
]
TEXT = st.one_of(
    st.sampled_from(ODD_TEXTS),
    st.text(max_size=30),
    st.text(st.characters(categories=["Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Zl", "Zp", "So"]), max_size=12),
    st.text(st.sampled_from("[]@'ab \n\t\x00\x07\x1b\u202e\u200b\u0301"), max_size=20),
)
NUMBER = st.one_of(
    st.sampled_from([10**30, -(10**30), -1, 0, 1, 2**63, -(2**63) - 1, 5, 30, 600]),
    st.integers(-(10**40), 10**40),
    st.floats(allow_nan=True, allow_infinity=True),
)
KEY = st.one_of(st.sampled_from(["x", "hold", "title", "a b", "", "\u202e", "a\nb"]), st.text(max_size=8))
SCALAR = st.one_of(TEXT, NUMBER, st.booleans())
VALUE = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEY, inner, max_size=3)), max_leaves=8)
DURATION = st.one_of(st.sampled_from(["30s", "1s", "0s", "10m", "1m30s", "500ms", "1h", " 5 s ", "5s5s", "2.5"]), NUMBER, TEXT)
TEXTS = st.one_of(st.lists(TEXT, max_size=22), VALUE)
ID = st.one_of(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,8}", fullmatch=True), TEXT)


def _table(required: dict, optional: dict) -> st.SearchStrategy:
    known = st.fixed_dictionaries(required, optional=optional)
    return st.builds(lambda a, b: {**b, **a}, known, st.one_of(st.just({}), st.just({}), st.dictionaries(KEY, VALUE, max_size=2)))


STRETCH_SETTINGS = {
    "hold": DURATION,
    "rest": DURATION,
    "switch": DURATION,
    "get_ready": DURATION,
    "reps": st.one_of(NUMBER, TEXT),
    "sides": st.one_of(st.sampled_from(["both", "none"]), VALUE),
    "side_names": st.one_of(st.lists(TEXT, min_size=2, max_size=2), TEXTS),
}
ROUTINE_TABLE = st.one_of(
    _table({"title": TEXT}, {"id": ID, "intro": TEXT, "outro": TEXT}),
    _table({}, {"id": ID, "title": TEXT, "intro": TEXT, "outro": TEXT}),
    VALUE,
)
STRETCH_TABLE = st.one_of(
    _table({"id": ID, "name": TEXT, "steps": TEXTS}, {"why": TEXT, "tips": TEXTS, **STRETCH_SETTINGS}),
    _table({}, {"id": ID, "name": TEXT, "steps": TEXTS}),
    VALUE,
)
SETTINGS_TABLE = st.one_of(
    _table(
        {},
        {
            "engine": st.one_of(st.sampled_from(["pyttsx3", "piper"]), TEXT),
            "voice": TEXT,
            "pace": st.one_of(st.sampled_from(["calm", "normal", "brisk"]), TEXT),
            "rate": st.one_of(NUMBER, TEXT),
            "guidance": st.one_of(st.sampled_from(["minimal", "standard", "full"]), TEXT),
            "time_left": st.one_of(st.lists(DURATION, max_size=4), DURATION),
            "breathe_every": DURATION,
            "chimes": st.one_of(st.sampled_from(["soft", "bright", "none"]), TEXT),
            "start_chime": TEXT,
            "end_chime": TEXT,
            "fade": DURATION,
            "length": DURATION,
            "loudness": st.one_of(NUMBER, TEXT),
            "ambient": st.one_of(st.sampled_from(["none", "noise"]), TEXT),
            "cover": TEXT,
        },
    ),
    VALUE,
)
DOCUMENT = st.fixed_dictionaries(
    {"routine": ROUTINE_TABLE},
    optional={
        "defaults": st.one_of(_table({}, STRETCH_SETTINGS), VALUE),
        "settings": SETTINGS_TABLE,
        "stretch": st.one_of(st.lists(STRETCH_TABLE, min_size=1, max_size=3), st.lists(STRETCH_TABLE, max_size=60), VALUE),
        "extra": VALUE,
    },
)


def _toml_string(value: str, raw_surrogates: bool) -> str:
    out = []
    for ch in value:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")  # NUL and friends, escaped as TOML requires
        elif 0xD800 <= code <= 0xDFFF and not raw_surrogates:
            out.append(f"\\u{code:04X}")  # TOML rejects an escaped surrogate
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_key(key: str, raw: bool) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_string(key, raw)


def _toml_value(value, raw: bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value, raw)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v, raw) for v in value) + "]"
    return "{" + ", ".join(f"{_toml_key(k, raw)} = {_toml_value(v, raw)}" for k, v in value.items()) + "}"


def to_toml(document: dict, raw_surrogates: bool, sections: bool) -> str:
    """TOML text for ``document``: [tables] and [[arrays of tables]] when ``sections``, else inline tables."""
    top, tail = [], []
    for key, value in document.items():
        if sections and key == "stretch" and isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                tail.append("[[stretch]]")
                tail += [f"{_toml_key(k, raw_surrogates)} = {_toml_value(v, raw_surrogates)}" for k, v in item.items()]
        elif sections and isinstance(value, dict):
            tail.append(f"[{_toml_key(key, raw_surrogates)}]")
            tail += [f"{_toml_key(k, raw_surrogates)} = {_toml_value(v, raw_surrogates)}" for k, v in value.items()]
        else:
            top.append(f"{_toml_key(key, raw_surrogates)} = {_toml_value(value, raw_surrogates)}")
    return "\n".join(top + tail) + "\n"


TOML_DOCUMENT = st.builds(to_toml, DOCUMENT, st.booleans(), st.booleans())


def _check_parse(text: str, source: str = "f.toml") -> None:
    """The property: a Routine whose spoken texts are safe, or a one-line RoutineError naming the file."""
    try:
        routine = parse_routine(text, source=source)
    except RoutineError as e:
        _assert_one_line(str(e), source)
        return
    for spoken in _spoken_texts(routine):
        _assert_speakable(spoken)


@settings(max_examples=150, **FUZZ)
@given(st.text(max_size=300))
def test_fuzz_parse_random_text(text):
    _check_parse(text)


@settings(max_examples=150, **FUZZ)
@given(st.binary(max_size=300).map(lambda b: b.decode("utf-8", errors="replace")))
def test_fuzz_parse_random_bytes_decoded(text):
    _check_parse(text)


@settings(max_examples=300, **FUZZ)
@given(TOML_DOCUMENT)
def test_fuzz_parse_generated_routine_documents(text):
    _check_parse(text)


NESTED = {
    "arrays 10_000 deep": "x = " + "[" * 10_000 + "]" * 10_000,
    "inline tables 10_000 deep": "x = " + "{a = " * 10_000 + "1" + "}" * 10_000,
    "arrays of tables 5_000 deep": "x = " + "[{a = " * 5_000 + "1" + "}]" * 5_000,
    "a steps list 10_000 deep": '[routine]\ntitle = "t"\n[[stretch]]\nid = "a"\nname = "n"\nsteps = ' + "[" * 10_000 + "]" * 10_000,
    "a header with 10_000 dotted parts": "[" + ".".join(["a"] * 10_000) + "]\n",
    "a 5000-digit integer": '[routine]\ntitle = "t"\n[[stretch]]\nid = "a"\nname = "n"\nsteps = ["s"]\nreps = 1' + "0" * 5000,
    "a 5000-digit hold in seconds": '[routine]\ntitle = "t"\n[[stretch]]\nid = "a"\nname = "n"\nsteps = ["s"]\nhold = "' + "9" * 5000 + '"',
    "an escaped lone surrogate": '[routine]\ntitle = "\\ud800"\n',
}


@pytest.mark.parametrize("text", NESTED.values(), ids=NESTED.keys())
def test_deep_or_huge_documents_are_one_line_input_errors(text):
    with pytest.raises(RoutineError) as caught:
        parse_routine(text, source="f.toml")
    _assert_one_line(str(caught.value), "f.toml")


@pytest.mark.parametrize(
    "field, value",
    [
        ("settings.cover", "c" * HUGE),  # a name no file system allows
        ("settings.start_chime", "c" * HUGE),
        ("settings.cover", "no\nsuch.png"),
        ("settings.end_chime", "no\nsuch.wav"),
        ("settings.start_chime", "\x1b[2Jgone.wav"),
    ],
)
def test_bad_paths_in_a_routine_file_are_one_line_input_errors(field, value):
    table, key = field.split(".")
    text = to_toml({"routine": {"title": "T"}, table: {key: value}, "stretch": [{"id": "a", "name": "n", "steps": ["s"]}]}, True, True)
    with pytest.raises(RoutineError) as caught:
        parse_routine(text, source="f.toml")
    _assert_one_line(str(caught.value), f"f.toml: {field}: ")


def test_error_messages_stay_short_when_the_input_is_huge():
    """A 100,000-character key or value is not repeated back in full."""
    for text in (
        '[routine]\ntitle = "t"\n' + "k" * HUGE + " = 1\n",
        '[routine]\ntitle = "t"\n[[stretch]]\nid = "a"\nname = "n"\nsteps = ["s"]\nhold = "' + "x" * HUGE + '"\n',
    ):
        with pytest.raises(RoutineError) as caught:
            parse_routine(text, source="f.toml")
        assert len(str(caught.value)) <= 400, f"{len(str(caught.value))} characters: {str(caught.value)[:120]}..."


# --- routine files on disk ---

PREFIXES = [b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00", b"\xef\xbb\xbf\xef\xbb\xbf", b"\xc3\x28", b"\xed\xa0\x80"]


@pytest.fixture(scope="module")
def fuzz_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz-files")


@settings(max_examples=120, **FUZZ)
@given(
    st.sampled_from(PREFIXES),
    st.one_of(st.binary(max_size=400), TOML_DOCUMENT.map(lambda t: t.encode("utf-8", "surrogatepass")), st.just(SHORT_ROUTINE.encode())),
    st.sampled_from([b"", b"\x00", b"\xff", b"\r\n"]),
)
def test_fuzz_routine_files_of_random_bytes(fuzz_folder, prefix, body, suffix):
    path = fuzz_folder / "routine.toml"
    path.write_bytes(prefix + body + suffix)
    try:
        found = read_routine_text(path)
    except RoutineError as e:
        _assert_one_line(str(e), str(path))
        return
    assert found.source == str(path)
    try:
        routine = load_routine(path)
    except RoutineError as e:
        _assert_one_line(str(e), str(path))
        return
    for spoken in _spoken_texts(routine):
        _assert_speakable(spoken)


def test_a_file_over_1_mib_is_refused_before_parsing(tmp_path):
    path = tmp_path / "big.toml"
    padding = b"# " + b"x" * 1000 + b"\n"
    path.write_bytes(SHORT_ROUTINE.encode() + padding * (MAX_FILE_BYTES // len(padding) + 1))
    assert path.stat().st_size > MAX_FILE_BYTES
    with pytest.raises(RoutineError, match="too large") as caught:
        load_routine(path)
    _assert_one_line(str(caught.value), str(path))
    # Just under the limit, the same routine loads.
    path.write_bytes(SHORT_ROUTINE.encode() + padding * ((MAX_FILE_BYTES - len(SHORT_ROUTINE)) // len(padding)))
    assert load_routine(path).title == "Short test routine"


@pytest.mark.integration
def test_an_endless_file_is_refused_not_read_into_memory(tmp_path):
    """/dev/zero reports a size of 0: reading it whole would never end. Run with 1 GB of address space."""

    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    run = subprocess.run(
        [sys.executable, "-m", "voiceroutine", "validate", "/dev/zero"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, preexec_fn=limit_memory,
    )  # fmt: skip
    assert "Traceback" not in run.stderr, run.stderr[-600:]
    assert run.returncode == 2, run.stderr[-600:]
    _assert_one_line(run.stderr.strip(), "Error: /dev/zero: ")


# --- the command line ---

PLAN_OPTIONS = [
    "--hold", "--hold-for", "--length", "--sides", "--rest", "--reps", "--only", "--skip", "--guidance",
    "--time-left", "--pace", "--rate", "--voice", "--engine", "--chimes", "--start-chime", "--end-chime", "--fade",
]  # fmt: skip
OPTION_VALUE = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "-0", "1e400", "99999999999999h", "", " ", "0", "-1", "3s", "10m", "1h", "knee-hug",
                     "butterfly", "knee-hug=5s", ",", "both", "none", "full", "brisk", "soft", "piper", "\x00", "a\nb", "-h", "--json"]),
    st.text(max_size=30),
    st.integers(-(10**30), 10**30).map(str),
    st.floats().map(repr),
    st.floats().map(lambda f: f"{f}s"),
)  # fmt: skip


def _assert_cli_result(result, allowed=(0, 2)) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}\n{result.output[-500:]}"
    )
    assert result.exit_code in allowed, result.output[-500:]
    if result.exit_code == 2:
        _assert_one_line(result.output.rstrip("\n"), "Error: ")


@settings(max_examples=150, **FUZZ)
@given(st.lists(st.tuples(st.sampled_from(PLAN_OPTIONS), OPTION_VALUE), min_size=1, max_size=3))
def test_fuzz_plan_options(short_file, options):
    args = ["plan", str(short_file)] + [part for pair in options for part in pair]
    _assert_cli_result(CliRunner().invoke(cli, args))


@settings(max_examples=60, **FUZZ)
@given(st.one_of(st.text(max_size=40), st.sampled_from(["", ".", "/", "bed-back\n", "a\nb.toml", "\x1b[2J.toml", "x" * 5000, "-"])))
def test_fuzz_the_routine_argument(ref):
    _assert_cli_result(CliRunner().invoke(cli, ["plan", "--", ref]))


@settings(max_examples=60, **FUZZ)
@given(TOML_DOCUMENT)
def test_fuzz_validate_routine_files(fuzz_folder, text):
    path = fuzz_folder / "validate-me.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    _assert_cli_result(result)
    if result.exit_code == 2:
        assert result.output.startswith(f"Error: {path}: ")


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_routine_file_whose_length_cannot_be_reached_names_the_file_and_field(tmp_path, command):
    """[settings] length = "6h" for a half-minute routine parses, but no holds can reach it."""
    path = tmp_path / "long.toml"
    path.write_text('[routine]\ntitle = "t"\n[settings]\nlength = "6h"\n[[stretch]]\nid = "a"\nname = "n"\nsteps = ["s"]\n')
    result = CliRunner().invoke(cli, [command, str(path)])
    _assert_cli_result(result)
    assert result.exit_code == 2
    # The file and its field, not an option that was never given.
    assert result.output.startswith(f"Error: {path}: settings.length: "), result.output


ATHERIS_HARNESS = """
import sys
import atheris

with atheris.instrument_imports():
    from voiceroutine.routine import parse_routine
    from voiceroutine.errors import RoutineError


def fuzz_one(data: bytes) -> None:
    text = data.decode("utf-8", errors="surrogateescape")  # invalid bytes become lone surrogates
    try:
        parse_routine(text, source="f.toml")
    except RoutineError as e:
        message = str(e)
        if len(message.splitlines()) != 1 or not message.startswith("f.toml"):
            raise AssertionError(f"bad message: {message[:200]!r}")


atheris.Setup([sys.argv[0], "-runs=3000", "-max_len=4096", "-timeout=30", "-seed=1", sys.argv[1]], fuzz_one)
atheris.Fuzz()
"""


@pytest.mark.integration
def test_atheris_fuzzes_the_parser(tmp_path):
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "short.toml").write_text(SHORT_ROUTINE)
    (corpus / "bed-back.toml").write_bytes((ROOT / "voiceroutine" / "routines" / "bed-back.toml").read_bytes())
    (corpus / "empty.toml").write_text("")
    harness = tmp_path / "harness.py"
    harness.write_text(ATHERIS_HARNESS)
    run = subprocess.run([sys.executable, str(harness), str(corpus)], capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Done 3000 runs" in run.stderr, run.stderr[-1000:]


# =====================================================================================
# 2. Faults in the middle of a build
# =====================================================================================


@pytest.mark.integration
def test_engine_failing_in_a_worker_process_leaves_the_previous_files(tmp_path, earlier, short_routine):
    out, _ = earlier
    before = _tree(out.parent)
    workers = _spawned_workers()
    assert len(plan(short_routine, Settings()).possible_phrases) >= 8  # enough for the parallel path
    with pytest.raises(SynthesisError, match="Butterfly") as caught:
        _tone_build(short_routine, out, tmp_path / "cold-cache", engine=ButterflyFailsEngine(), jobs=2)
    assert "the test engine refused" in str(caught.value)
    assert _tree(out.parent) == before
    assert not _wait_for_no_workers(workers)


@pytest.mark.integration
def test_engine_hanging_in_the_main_process_is_stopped_and_named(tmp_path):
    engine = ButterflyHangsEngine()
    with pytest.raises(SynthesisError) as caught:
        voice_phrases(
            engine, ["Release.", "Stretch two of two. Butterfly."], voice="tone", rate=130, sample_rate=44_100,
            cache=PhraseCache(tmp_path / "cache"), jobs=1, phrase_timeout_s=1,
        )  # fmt: skip
    message = str(caught.value)
    assert "'Stretch two of two. Butterfly.'" in message and "1 s" in message, message
    assert engine.spoken == ["Release."]  # the hung phrase never finished


@pytest.mark.integration
def test_a_build_whose_engine_hangs_stops_and_keeps_the_previous_files(tmp_path, monkeypatch, earlier, short_routine):
    """build() has no time-limit knob, so its voice_phrases is given one (the CLI cannot pass one either)."""
    out, _ = earlier
    before = _tree(out.parent)
    _patch(monkeypatch, synthesis, "voice_phrases", functools.partial(voice_phrases, phrase_timeout_s=1))
    with pytest.raises(SynthesisError, match=r"took more than 1 s on '(Next: |Stretch two of two\. )Butterfly\.'"):
        _tone_build(short_routine, out, tmp_path / "cold-cache", engine=ButterflyHangsEngine(), jobs=1)
    assert _tree(out.parent) == before


@pytest.mark.integration
def test_engine_hanging_in_a_worker_process_is_stopped_and_named(tmp_path, monkeypatch, earlier, short_routine):
    out, _ = earlier
    before = _tree(out.parent)
    workers = _spawned_workers()
    _patch(monkeypatch, synthesis, "voice_phrases", functools.partial(voice_phrases, phrase_timeout_s=2))
    with pytest.raises(SynthesisError) as caught:
        _tone_build(short_routine, out, tmp_path / "cold-cache", engine=ButterflyHangsEngine(), jobs=2)
    message = str(caught.value)
    assert re.search(r"took more than 2 s on '(Next: |Stretch two of two\. )Butterfly\.'", message), message
    assert _tree(out.parent) == before
    assert not _wait_for_no_workers(workers), "a speech worker is still running"


@pytest.mark.integration
def test_missing_ffmpeg_leaves_the_previous_files(tmp_path, monkeypatch, earlier, short_routine):
    out, cache = earlier
    before = _tree(out.parent)
    empty = tmp_path / "no-programs"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(EncoderError, match="ffmpeg was not found.*apt-get install ffmpeg"):
        _tone_build(short_routine, out, cache)
    assert _tree(out.parent) == before


@pytest.mark.integration
def test_ffmpeg_failing_after_writing_leaves_the_previous_files(monkeypatch, earlier, short_routine):
    """ffmpeg reads everything, writes it out, then fails: the half-made file goes, the message says why."""
    out, cache = earlier
    before = _tree(out.parent)
    script = 'cat > "$1"; echo "[mp3 @ 0x1] something went wrong: Invalid data found" >&2; exit 1'
    monkeypatch.setattr(export, "ffmpeg_command", lambda *a, **k: ["sh", "-c", script, "sh", str(a[-1])])
    with pytest.raises(EncoderError, match=r"ffmpeg could not write .*short\.mp3: \[mp3 @ 0x1\] something went wrong"):
        _tone_build(short_routine, out, cache)
    assert _tree(out.parent) == before


KILLED_FFMPEG = ["sh", "-c", "head -c 200000 >/dev/null; kill -9 $$"]


@pytest.mark.integration
def test_ffmpeg_killed_mid_stream_leaves_the_previous_files(monkeypatch, earlier, short_routine):
    out, cache = earlier
    before = _tree(out.parent)
    monkeypatch.setattr(export, "ffmpeg_command", lambda *a, **k: KILLED_FFMPEG)
    with pytest.raises(EncoderError) as caught:
        _tone_build(short_routine, out, cache)
    message = str(caught.value)
    assert "stopped" in message and "SIGKILL" in message and "build again" in message, message
    assert _tree(out.parent) == before


@pytest.mark.integration
def test_ffmpeg_killed_mid_stream_is_one_line_from_the_cli(tmp_path, monkeypatch, earlier, short_file):
    out, cache = earlier
    monkeypatch.setenv("VOICEROUTINE_CACHE", str(cache))
    _patch(monkeypatch, engines, "get_engine", lambda name: ToneEngine())
    monkeypatch.setattr(export, "ffmpeg_command", lambda *a, **k: KILLED_FFMPEG)
    before = _tree(out.parent)
    result = CliRunner().invoke(cli, ["build", str(short_file), "-o", str(out), "-q", "-j", "1"])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    _assert_one_line(result.output.rstrip("\n"), "Error: ffmpeg was stopped (SIGKILL)")
    assert "build again" in result.output
    assert _tree(out.parent) == before


@pytest.fixture
def small_disk(tmp_path):
    """Mounts a tmpfs of a given size (root only); unmounted afterwards."""
    mounts = []

    def mount(size_bytes: int) -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a small tmpfs needs root")
        point = tmp_path / f"disk{len(mounts)}"
        point.mkdir()
        run = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_bytes // 1024 + 1}k", "tmpfs", str(point)], capture_output=True, text=True)
        if run.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {run.stderr.strip()}")
        mounts.append(point)
        return point

    try:
        yield mount
    finally:
        for point in mounts:
            subprocess.run(["umount", "-l", str(point)], check=False)


def _copy_build(source: Path, folder: Path) -> None:
    for path in source.parent.iterdir():
        if path.stem == source.stem:
            shutil.copy2(path, folder / path.name)


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@pytest.mark.integration
def test_a_full_disk_leaves_the_previous_files_and_says_so(tmp_path, small_disk, earlier, short_routine):
    out, cache = earlier
    disk = small_disk(_size(out.parent) + 256 * 1024)
    _copy_build(out, disk)
    target = disk / out.name
    before = _tree(disk)
    longer = apply_overrides(short_routine, Overrides(hold_ms=600_000))  # about 30 minutes: far more than fits
    with pytest.raises(EncoderError) as caught:
        _tone_build(longer, target, cache)
    message = str(caught.value)
    assert "No space left" in message and "free some space" in message, message
    _assert_one_line(message, "")
    assert _tree(disk) == before
    assert not _part_files(disk)


@pytest.mark.integration
def test_a_full_disk_is_one_clear_message_from_the_cli(tmp_path, small_disk, short_file):
    env = {**os.environ, "VOICEROUTINE_CACHE": str(tmp_path / "cache")}
    first = tmp_path / "first" / "x.mp3"
    run = _run_cli("build", str(short_file), "-o", str(first), "-q", env=env)
    assert run.returncode == 0, run.stderr
    disk = small_disk(_size(first.parent) + 256 * 1024)
    _copy_build(first, disk)
    before = _tree(disk)
    run = _run_cli("build", str(short_file), "-o", str(disk / "x.mp3"), "--hold", "10m", "-q", env=env)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    assert run.stdout == ""
    _assert_one_line(run.stderr.rstrip("\n"), "Error: ")
    assert "No space left on device" in run.stderr and "free some space and build again" in run.stderr, run.stderr
    assert _tree(disk) == before


def test_speech_workers_leave_ctrl_c_to_the_build():
    """A worker cut off inside espeak printed a traceback; the build stops the pool itself."""
    check = (
        "import signal\nfrom voiceroutine.synthesis import _start_worker\n"
        "_start_worker('voiceroutine.engines.pyttsx3_engine:Pyttsx3Engine')\n"
        "print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)"
    )
    assert subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True).stdout.strip() == "True"


def test_a_batch_worker_stops_once_when_ctrl_c_is_followed_by_sigterm():
    """Ctrl-C stops a batch worker; the pool's SIGTERM after it cut into the worker's exit (a traceback from atexit)."""
    check = (
        "import os, signal\nfrom voiceroutine import batch\nbatch._start_worker()\n"
        "try:\n    os.kill(os.getpid(), signal.SIGINT)\nexcept SystemExit as e:\n    code = e.code\n"
        "os.kill(os.getpid(), signal.SIGTERM)\nprint(code)"
    )
    run = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert (run.returncode, run.stdout.strip(), run.stderr) == (0, "130", "")


@pytest.mark.integration
@pytest.mark.parametrize("stage", ["synthesis", "encoding"])
def test_ctrl_c_mid_build_leaves_the_previous_files(tmp_path, short_routine, short_file, stage):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) while speaking or encoding."""
    out = tmp_path / "out" / "routine.mp3"
    env = {**os.environ, "VOICEROUTINE_CACHE": str(tmp_path / "cache")}
    if stage == "synthesis":
        # The earlier build used another cache, so this one starts cold: bed-back's 40-odd phrases.
        _tone_build(short_routine, out, tmp_path / "tone-cache")
        command = ["build", "-o", str(out), "-j", "2"]
    else:
        run = _run_cli("build", str(short_file), "-o", str(out), "-q", "--hold", "3s", env=env)  # warms the cache
        assert run.returncode == 0, run.stderr
        command = ["build", str(short_file), "-o", str(out), "--hold", "10m"]  # half an hour to encode
    before = _tree(out.parent)
    process = subprocess.Popen(
        [sys.executable, "-m", "voiceroutine", *command], env=env, cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        if stage == "synthesis":
            while not any(b"spawn_main" in cmd for _, cmd in _children(process.pid)):
                assert process.poll() is None and time.monotonic() < deadline, "no speech workers started"
                time.sleep(0.02)
            time.sleep(1.0)  # the workers are speaking
        else:
            while not _part_files(out.parent):
                assert process.poll() is None and time.monotonic() < deadline, "encoding never started"
                time.sleep(0.02)
            time.sleep(0.3)
        assert process.poll() is None
        os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    stderr = stderr.decode(errors="replace")
    assert process.returncode == 130, stderr  # 128 + SIGINT, as a shell reports a program Ctrl-C stopped
    assert "Traceback" not in stderr, stderr[-2000:]
    assert stderr.strip().splitlines()[-1].startswith("Stopped: no file is left half-written"), stderr[-500:]
    assert _tree(out.parent) == before
    assert not (tmp_path / "cache").exists() or not _part_files(tmp_path / "cache")


def test_ffmpeg_s_input_closed_under_its_writer_ends_the_writer_quietly():
    """Ctrl-C to the build's own process while levels are set: the main thread closes ffmpeg's input
    as it unwinds, under the thread still writing it. That thread printed a traceback over the
    one-line message."""
    from voiceroutine.ffmpeg import feed

    process = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    process.stdin.close()
    feed(process, [bytes(1000)] * 3)
    assert process.wait(timeout=10) == 0


# =====================================================================================
# 3. The phrase cache
# =====================================================================================


@pytest.mark.integration
def test_truncated_flipped_and_foreign_entries_are_made_again_never_played(tmp_path, short_routine):
    cache_dir = tmp_path / "cache"
    first = _tone_build(short_routine, tmp_path / "first" / "short.mp3", cache_dir)
    tone = ToneEngine()
    key_of = {text: phrase_key(_engine_key(tone, "tone", first.settings.rate), text) for text in first.script.possible_phrases}
    cache = PhraseCache(cache_dir)
    path_of = {text: cache._path(key) for text, key in key_of.items()}
    assert all(path.is_file() for path in path_of.values())

    truncated, flipped, foreign, donor = "Lie on your back.", "Hug one knee to your chest.", "All done.", "Soles together, knees open."
    data = path_of[truncated].read_bytes()
    path_of[truncated].write_bytes(data[: len(data) // 2])
    data = bytearray(path_of[flipped].read_bytes())
    data[len(data) // 2] ^= 0x10
    path_of[flipped].write_bytes(bytes(data))
    shutil.copyfile(path_of[donor], path_of[foreign])  # a valid entry, under another phrase's name

    engine = ToneEngine()
    again = _tone_build(short_routine, tmp_path / "again" / "short.mp3", cache_dir, engine=engine)
    assert sorted(engine.spoken) == sorted([truncated, flipped, foreign])
    assert again.synthesised == 3
    assert all(cache.get(key) is not None for key in key_of.values())  # all made again, and valid
    fresh = _tone_build(short_routine, tmp_path / "fresh" / "short.mp3", tmp_path / "fresh-cache")
    assert decode(again.audio_path) == decode(fresh.audio_path)
    assert read_manifest(again.audio_path)["events"] == read_manifest(fresh.audio_path)["events"]


@pytest.mark.integration
def test_cache_info_and_clear_touch_only_cache_files(tmp_path, monkeypatch, short_routine):
    root = tmp_path / "cache"
    _tone_build(short_routine, tmp_path / "out" / "short.mp3", root)
    (root / "notes.txt").write_text("mine")
    (root / "ab").mkdir(exist_ok=True)
    (root / "ab" / "keep.txt").write_text("mine too")
    (root / "mine").mkdir()
    (root / "mine" / "song.clip").write_text("not the cache's")
    stray = next(root.glob("??")) / ".left-over.part"
    stray.write_bytes(b"half an entry")
    entries = list(root.glob("??/*.clip"))
    assert len(entries) >= len(plan(short_routine, Settings()).possible_phrases)
    monkeypatch.setenv("VOICEROUTINE_CACHE", str(root))
    monkeypatch.setenv("VOICEROUTINE_CACHE_MB", "3")
    runner = CliRunner()

    info = runner.invoke(cli, ["cache", "info"])
    assert info.exit_code == 0, info.output
    size = sum(p.stat().st_size for p in entries)
    assert re.fullmatch(rf"{re.escape(str(root))}: {len(entries)} (phrases|clips), {size / 1e6:.1f} MB of 3 MB\n", info.output), info.output

    cleared = runner.invoke(cli, ["cache", "clear"])
    assert cleared.exit_code == 0, cleared.output
    assert re.fullmatch(rf"removed {len(entries)} (phrases|clips) from {re.escape(str(root))}\n", cleared.output), cleared.output
    left = {str(p.relative_to(root)) for p in root.rglob("*")}
    assert left == {"notes.txt", "ab", "ab/keep.txt", "mine", "mine/song.clip"}
    assert (root / "notes.txt").read_text() == "mine"

    info = runner.invoke(cli, ["cache", "info"])
    assert re.fullmatch(rf"{re.escape(str(root))}: 0 (phrases|clips), 0.0 MB of 3 MB\n", info.output), info.output


OTHER_ROUTINE = """
[routine]
id = "other"
title = "Another routine altogether"
intro = "Sit at the edge of the bed with your feet flat on the floor."

[defaults]
hold = "3s"
rest = "1s"
sides = "none"

[[stretch]]
id = "neck"
name = "Neck roll"
steps = ["Let your chin drop toward your chest, and roll slowly from side to side."]

[[stretch]]
id = "shoulders"
name = "Shoulder shrug"
steps = ["Lift both shoulders toward your ears, hold, and let them fall."]
"""


@pytest.mark.integration
def test_a_bounded_cache_keeps_the_entries_used_last(tmp_path, short_routine):
    root = tmp_path / "cache"
    other = parse_routine(OTHER_ROUTINE, source="other.toml")
    _tone_build(short_routine, tmp_path / "a" / "short.mp3", root)
    # Everything the first build left was used long ago, one second apart (in name order).
    aged = sorted(p.stem for p in root.glob("??/*.clip"))
    cache = PhraseCache(root)
    for age, k in enumerate(aged):
        then = time.time() - 100_000 + age
        os.utime(cache._path(k), (then, then))
    key = functools.partial(phrase_key, _engine_key(ToneEngine(), "tone", Settings().rate))
    other_keys = {key(t) for t in plan(other, Settings()).possible_phrases}
    old_only = [k for k in aged if k not in other_keys]  # oldest first
    assert len(old_only) > 4

    # How much the other routine's build keeps, from a build into a cache of its own.
    sizing = tmp_path / "sizing"
    _tone_build(other, tmp_path / "sizing-out" / "other.mp3", sizing)
    other_size = sum(p.stat().st_size for p in sizing.glob("??/*.clip"))
    newest_two = sum(cache._path(k).stat().st_size for k in old_only[-2:])
    limit = other_size + newest_two + 1000

    build(other, Settings(), tmp_path / "b" / "other.mp3", engine=ToneEngine(), cache=PhraseCache(root, limit_bytes=limit), jobs=1)
    left = {p.stem: p for p in root.glob("??/*.clip")}
    assert sum(p.stat().st_size for p in left.values()) <= limit, "the cache is over its limit after the build"
    assert other_keys <= set(left), "an entry the last build used was evicted"
    kept = [k for k in old_only if k in left]
    evicted = [k for k in old_only if k not in left]
    assert kept and evicted
    assert kept == old_only[-len(kept) :], "an older entry outlived a newer one"


@pytest.mark.integration
def test_the_cache_size_limit_comes_from_the_environment(tmp_path, monkeypatch):
    text = OTHER_ROUTINE.replace("from side to side.", "from side to side, " + "slowly and gently, " * 10 + "then rest.")
    text = text.replace("and let them fall.", "and let them fall, " + "slowly and gently, " * 10 + "then rest.")
    text = text.replace("flat on the floor.", "flat on the floor, " + "slowly and gently, " * 10 + "then rest.")
    routine = parse_routine(text, source="other.toml")
    unbounded = tmp_path / "unbounded"
    _tone_build(routine, tmp_path / "u" / "other.mp3", unbounded)
    assert sum(p.stat().st_size for p in unbounded.glob("??/*.clip")) > 1_000_000  # more than the limit below

    root = tmp_path / "bounded"
    monkeypatch.setenv("VOICEROUTINE_CACHE", str(root))
    monkeypatch.setenv("VOICEROUTINE_CACHE_MB", "1")
    result = build(routine, Settings(), tmp_path / "b" / "other.mp3", engine=ToneEngine(), jobs=1)
    sizes = [p.stat().st_size for p in root.glob("??/*.clip")]
    assert sizes and sum(sizes) <= 1_000_000
    manifest = read_manifest(result.audio_path)
    assert abs(_duration_ms(decode(result.audio_path)) - manifest["audio"]["duration_ms"]) <= 50
    info = CliRunner().invoke(cli, ["cache", "info"])
    assert info.output.endswith(" of 1 MB\n"), info.output


# =====================================================================================
# 4. Builds at the same time
# =====================================================================================


@pytest.mark.integration
def test_two_builds_of_different_routines_at_once_share_a_cold_cache(tmp_path, short_file):
    env = {**os.environ, "VOICEROUTINE_CACHE": str(tmp_path / "cache")}
    outs = [tmp_path / "a" / "short.mp3", tmp_path / "b" / "bed-back.mp3"]
    commands = [
        [sys.executable, "-m", "voiceroutine", "build", str(short_file), "-o", str(outs[0]), "-q"],
        [sys.executable, "-m", "voiceroutine", "build", "bed-back", "--only", "butterfly,prone-quad", "--hold", "3s", "-o", str(outs[1]), "-q"],
    ]  # fmt: skip
    processes = [subprocess.Popen(c, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in commands]
    results = [p.communicate(timeout=180) for p in processes]
    for process, (_, stderr) in zip(processes, results):
        assert process.returncode == 0, stderr
    for out in outs:
        manifest = read_manifest(out)
        assert abs(_duration_ms(decode(out)) - manifest["audio"]["duration_ms"]) <= 50
    cache = PhraseCache(tmp_path / "cache")
    entries = list((tmp_path / "cache").glob("??/*.clip"))
    assert entries and all(cache.get(p.stem) is not None for p in entries)
    assert not _part_files(tmp_path / "cache")


def _vtt_cues(text: str) -> list[tuple[int, int, str]]:
    def ms(stamp: str) -> int:
        h, m, s = stamp.split(":")
        return round((int(h) * 3600 + int(m) * 60 + float(s)) * 1000)

    cues = []
    for block in text.split("\n\n")[1:]:
        lines = block.strip().splitlines()
        start, end = lines[1].split(" --> ")
        cues.append((ms(start), ms(end), "\n".join(lines[2:])))
    return cues


def _lrc_lines(text: str) -> list[tuple[int, str]]:
    found = []
    for line in text.splitlines():
        match = re.fullmatch(r"\[(\d\d):(\d\d)\.(\d\d)\](.*)", line)
        if match:
            found.append(((int(match[1]) * 60 + int(match[2])) * 1000 + int(match[3]) * 10, match[4]))
    return found


@pytest.mark.integration
def test_two_builds_of_the_same_output_at_once_leave_files_from_one_build(tmp_path, short_file):
    """Different holds, and one build also splits (so it writes its manifest well after its audio):
    whichever finishes last, the audio, transcripts, tracks and manifest all come from it."""
    env = {**os.environ, "VOICEROUTINE_CACHE": str(tmp_path / "cache")}
    run = _run_cli("build", str(short_file), "-o", str(tmp_path / "warm" / "short.mp3"), "-q", env=env)
    assert run.returncode == 0, run.stderr
    out = tmp_path / "out" / "short.mp3"
    for rivals in ((["--hold", "3s", "--split"], ["--hold", "4s"]), (["--hold", "4s", "--split"], ["--hold", "3s"])):
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "voiceroutine", "build", str(short_file), "-o", str(out), "-q", *options],
                env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            for options in rivals
        ]
        for process in processes:
            _, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, stderr
        assert not _part_files(out.parent)
        names = {p.name for p in out.parent.iterdir()}
        assert names - {"short-tracks"} == {"short.json", "short.lrc", "short.mp3", "short.vtt"}
        manifest = read_manifest(out)
        hold_ms = {s["hold_ms"] for s in manifest["routine"]["stretches"]}
        assert hold_ms in ({3000}, {4000})
        holds_heard = {e["end_ms"] - e["start_ms"] for e in manifest["events"] if e["kind"] == "hold"}
        assert holds_heard == hold_ms
        duration = manifest["audio"]["duration_ms"]
        assert abs(_duration_ms(decode(out)) - duration) <= 50, "the audio is not the manifest's"
        speech = [(e["start_ms"], e["end_ms"], e["text"]) for e in manifest["events"] if e["kind"] == "speech"]
        assert _vtt_cues(out.with_suffix(".vtt").read_text()) == speech, "the .vtt is not the manifest's"
        assert _lrc_lines(out.with_suffix(".lrc").read_text()) == [(start // 10 * 10, text) for start, _, text in speech]
        tracks = manifest["files"].get("tracks")
        if tracks:
            folder = out.parent / tracks["folder"]
            assert sorted(p.name for p in folder.iterdir()) == sorted([*tracks["files"], tracks["playlist"]])
            total = sum(_duration_ms(decode(folder / name)) for name in tracks["files"])
            assert abs(total - duration) <= 50 * len(tracks["files"]), "the tracks are not the manifest's"


# =====================================================================================
# 5. The same input makes the same output
# =====================================================================================


@pytest.mark.integration
def test_rebuilding_with_the_real_engine_gives_identical_audio(tmp_path, short_routine, engine):
    cache = PhraseCache(tmp_path / "cache")
    first = build(short_routine, Settings(), tmp_path / "1" / "short.mp3", engine=engine, cache=cache)
    second = build(short_routine, Settings(), tmp_path / "2" / "short.mp3", engine=engine, cache=cache)
    assert first.synthesised > 0 and second.synthesised == 0
    assert _mp3_frames(first.audio_path) == _mp3_frames(second.audio_path)
    assert decode(first.audio_path) == decode(second.audio_path)
    for suffix in (".lrc", ".vtt"):
        assert first.audio_path.with_suffix(suffix).read_bytes() == second.audio_path.with_suffix(suffix).read_bytes()


@pytest.mark.integration
def test_cold_builds_in_fresh_caches_give_identical_audio_serial_or_parallel(tmp_path, short_routine):
    serial = [_tone_build(short_routine, tmp_path / f"s{i}" / "short.mp3", tmp_path / f"cache{i}", engine=SteadyToneEngine()) for i in (1, 2)]
    parallel = _tone_build(short_routine, tmp_path / "p" / "short.mp3", tmp_path / "cache3", engine=SteadyToneEngine(), jobs=2)
    assert all(r.synthesised == len(r.script.possible_phrases) for r in [*serial, parallel])
    pcm = decode(serial[0].audio_path)
    assert decode(serial[1].audio_path) == pcm
    assert decode(parallel.audio_path) == pcm
    assert _mp3_frames(serial[1].audio_path) == _mp3_frames(serial[0].audio_path)


# =====================================================================================
# 6. Text is made safe before any engine sees it
# =====================================================================================

NASTY_ROUTINE = r"""
[routine]
id = "nasty"
title = "Bell\u0007 routine \u001b[31m\u202e [[h@l'oU]]"
intro = "Lie\u0000 down \u202eplease\u202c. [[b@d]]"
outro = "Done\u001b[0m."

[defaults]
hold = "2s"
rest = "1s"
switch = "1s"
get_ready = "1s"

[[stretch]]
id = "ring"
name = "Ring \u001b[31mthe\u001b[0m bell"
why = "Because\u0007 [[w@I]] it helps."
steps = ["Ring\u0007 the \u001b[31mred\u001b[0m bell \u202ebackwards [[h@l'oU]] now.", "Then [[[rest]]]\u200b."]
tips = ["Breathe\u2066 out\u2069 [[br@D]]."]
side_names = ["left\u0007 hand", "right \u202ehand"]
"""


@pytest.mark.integration
def test_control_characters_and_phoneme_markup_never_reach_the_engine(tmp_path):
    routine = parse_routine(NASTY_ROUTINE, source="nasty.toml")
    engine = ToneEngine()
    result = build(routine, Settings(guidance="full"), tmp_path / "nasty.mp3", engine=engine, cache=PhraseCache(tmp_path / "cache"), jobs=1)
    spoken = engine.spoken
    assert any("Ring" in text and "bell" in text and "backwards" in text for text in spoken)  # the step itself was said
    assert any("Breathe" in text for text in spoken)  # and the tip
    for text in [*spoken, *plan(routine, Settings(guidance="full")).possible_phrases]:
        for bad in ("\u0007", "\x1b", "\x1b[31m", "\u202e", "\u0000", "[[h@l'oU]]"):
            assert bad not in text, (bad, text)
        _assert_speakable(text)
    # What players show is clean too.
    for suffix in (".lrc", ".vtt"):
        shown = result.audio_path.with_suffix(suffix).read_text()
        assert not any(unicodedata.category(c) in UNSPEAKABLE for c in shown.replace("\n", "")), suffix
        assert "[[h@l'oU]]" not in shown, suffix
    for event in read_manifest(result.audio_path)["events"]:
        if event["kind"] == "speech":
            _assert_speakable(event["text"])


NAME = st.text(st.sampled_from("[]ab \x07\x1b\u202e\u200b\u0301\ud800"), min_size=1, max_size=12).filter(lambda s: speakable(s))


@settings(max_examples=80, **FUZZ)
@given(title=NAME, name=NAME, step=NAME, tip=NAME, why=NAME, sides=st.lists(NAME, min_size=2, max_size=2), guidance=st.sampled_from(["minimal", "standard", "full"]))
def test_fuzz_every_phrase_of_a_plan_is_speakable(title, name, step, tip, why, sides, guidance):
    document = {
        "routine": {"title": title, "intro": step, "outro": tip},
        "stretch": [
            {"id": "a", "name": name, "steps": [step, tip], "tips": [tip], "why": why, "side_names": sides},
            {"id": "b", "name": why, "steps": [name], "sides": "none"},
        ],
    }
    routine = parse_routine(to_toml(document, True, True), source="f.toml")
    for text in plan(routine, resolve_settings({"guidance": guidance})).possible_phrases:
        _assert_speakable(text)
